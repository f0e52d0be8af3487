"""Time per site of the xTB reference calculator on the a-SiO2 example: cold cache, then warm.

Run ``python tests/benchmarks/bench_calculator.py [--sites 10] [--core-hole] [--radius 5.0]``.
Cold: every site runs its SCF (this is the denominator of "the surrogate is >= 10^4 times faster
per site than the calculator"); warm: the same sites again, read from the on-disk cache (cluster
cut + key + read + broadening). The cache goes to a throw-away folder, so the first pass is cold
whatever ran before. Sites are the first Si atoms of the model; one OpenMP thread per SCF.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from amorpha.engine.examples import load_example  # noqa: E402
from amorpha.engine.surrogate.cache import SiteCache  # noqa: E402
from amorpha.engine.surrogate.xtb import XtbCalculator, XtbParams  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10, help="number of Si sites (default 10)")
    parser.add_argument("--radius", type=float, default=XtbParams().cluster_radius)
    parser.add_argument("--core-hole", action="store_true", help="Z+1 core hole (two SCFs per site)")
    parser.add_argument("--example", default="a-SiO2")
    args = parser.parse_args(argv)

    atoms = load_example(args.example)
    sites = np.flatnonzero(atoms.numbers == 14)[: args.sites]
    params = XtbParams(cluster_radius=args.radius, core_hole=args.core_hole)
    folder = tempfile.mkdtemp(prefix="amorpha-bench-cache-")
    try:
        calc = XtbCalculator(params, cache=SiteCache(folder))
        context = calc.prepare(atoms)
        calc.site_spectrum(atoms, int(sites[0]), context=context)  # load tblite, warm numpy
        calc.cache.clear()
        print(f"model: {args.example}, {len(atoms)} atoms; {len(sites)} Si sites; "
              f"{params.edge} edge, cluster radius {params.cluster_radius:g} Å, "
              f"core hole {'Z+1' if params.core_hole else 'off'}")
        cold, sizes, scf = [], [], []
        for i in sites:
            t = time.perf_counter()
            spec = calc.site_spectrum(atoms, int(i), context=context)
            cold.append(time.perf_counter() - t)
            sizes.append(spec.meta["cluster_atoms"])
            scf.append(spec.meta["scf_seconds"])
            assert not spec.meta["cached"]
        warm = []
        for i in sites:
            t = time.perf_counter()
            spec = calc.site_spectrum(atoms, int(i), context=context)
            warm.append(time.perf_counter() - t)
            assert spec.meta["cached"]
        t = time.perf_counter()
        calc.site_spectra(atoms, sites)
        warm_batch = (time.perf_counter() - t) / len(sites)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cold, warm = np.array(cold), np.array(warm)
    print(f"cluster atoms: mean {np.mean(sizes):.0f} (min {min(sizes)}, max {max(sizes)})")
    print(f"cold cache: {cold.mean():7.3f} s per site (median {np.median(cold):.3f}, "
          f"min {cold.min():.3f}, max {cold.max():.3f}); last SCF {scf[-1]:.3f} s")
    print(f"warm cache: {warm.mean() * 1e3:7.2f} ms per site (site_spectra batch: "
          f"{warm_batch * 1e3:.2f} ms per site)")
    print(f"cold / warm: {cold.mean() / warm.mean():.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

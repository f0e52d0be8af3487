"""Side-by-side benchmark: amorpha's weighted ACSF (XANESNET's descriptor) against DScribe's ACSF
on the same grids, contracted with the same Z/10 weights, single thread.

Run ``python tests/benchmarks/bench_wacsf.py`` (``--repeats N``, ``--cells K``). Two inputs: every
atom of the a-SiO2 model of bench_descriptors.py (periodic), and the absorber of each molecule of
XANESNET's S K-edge set in ../shared/data (skipped without it), the use wACSF was made for. End to
end, neighbour search included; times are the best of ``--repeats``; the ratio above 1 means ours
is faster. wACSF settings: XANESNET's defaults (r 1-6 Å, 16 radial and 16 × 2 angular terms).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_descriptors import SHARED, structure  # noqa: E402
from bench_neighbors import best_time  # noqa: E402

from amorpha.engine.descriptors import WacsfParams, compute_wacsf  # noqa: E402
from amorpha.engine.descriptors import acsf as acsf_module  # noqa: E402
from amorpha.engine.descriptors.wacsf import contract, resolved_params  # noqa: E402

numba.set_num_threads(1)


def peer(structures, centres, params):
    """DScribe's element-resolved ACSF of each structure's centres, contracted like ours."""
    from dscribe.descriptors import ACSF

    rows = []
    for atoms, centre in zip(structures, centres):
        species_z = np.unique(atoms.numbers)
        p = resolved_params(params, species_z)
        acsf = ACSF(species=[int(z) for z in species_z], r_cut=p.r_cut,
                    g2_params=[list(r) for r in p.g2_params], g4_params=[list(r) for r in p.g4_params],
                    periodic=p.periodic)
        rows.append(contract(np.atleast_2d(acsf.create(atoms, centers=centre, n_jobs=1)), species_z, params))
    return np.vstack(rows)


def ours(structures, centres, params):
    return np.vstack([compute_wacsf(atoms, params, centre) for atoms, centre in zip(structures, centres)])


def main(argv=None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--repeats", type=int, default=3, help="runs per code; the best counts")
    options.add_argument("--cells", type=int, default=1, help="K: the a-SiO2 model repeated K×K×K")
    args = options.parse_args(argv)
    acsf_module.warm_up()
    atoms, name = structure(args.cells)
    cases = [(f"{name}, all {len(atoms)} atoms", [atoms], [list(range(len(atoms)))],
              WacsfParams(periodic=True))]
    folder_path = SHARED / "spectra/xanesnet_s_k"
    if folder_path.is_dir():
        from amorpha.engine.spectra import read_spectrum_folder

        records = read_spectrum_folder(folder_path, edge="K").records
        cases.append((f"XANESNET S K, {len(records)} absorbers", [r.atoms for r in records],
                      [[r.absorber] for r in records], WacsfParams(periodic=False)))
    header = f"{'input':>42} {'t_ours/s':>9} {'t_dscribe/s':>11} {'dscribe/ours':>12} {'max rel diff':>12}"
    print(header)
    print("-" * len(header))
    for label, structures, centres, params in cases:
        t_ours, mine = best_time(lambda: ours(structures, centres, params), args.repeats)
        t_peer, ref = best_time(lambda: peer(structures, centres, params), args.repeats)
        diff = float(np.abs(mine - ref).max() / np.abs(ref).max())
        print(f"{label:>42} {t_ours:9.3f} {t_peer:11.3f} {t_peer / t_ours:12.2f} {diff:12.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

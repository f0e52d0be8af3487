"""Side-by-side benchmark: amorpha's g(r) against freud's ``density.RDF``, single thread.

Run ``python tests/benchmarks/bench_pairs.py`` (10^5 atoms, r_max 5 and 10 Å, 0.02 Å bins) or
``--sizes 10000 100000 1000000``. Systems are the a-SiO2-like jittered network of
``bench_neighbors.amorphous_sio2_like`` (2.2 g/cm3). Times are the best of three; ours streams the
pairs from a cell list into the histogram (no neighbour list stored). For reference, the time to
histogram an existing neighbour list (and to build that list) is shown too.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from bench_neighbors import best_time, amorphous_sio2_like  # noqa: E402
from amorpha.engine.neighbors import neighbor_list  # noqa: E402
from amorpha.engine.order.pairs import RdfParams, compute_rdf, warm_up  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**5])
    parser.add_argument("--r-max", type=float, nargs="+", default=[5.0, 10.0])
    parser.add_argument("--dr", type=float, default=0.02)
    parser.add_argument("--with-list", action="store_true",
                        help="also time building a neighbour list and histogramming it")
    args = parser.parse_args(argv)

    import freud
    import numba

    numba.set_num_threads(1)
    freud.parallel.set_num_threads(1)
    warm_up()

    header = (f"{'N':>8} {'r_max':>5} {'bins':>5} {'t_ours/s':>9} {'t_freud/s':>9} {'ratio':>6} "
              f"{'max|dg|':>8}" + (f" {'t_list/s':>8} {'t_hist/s':>8}" if args.with_list else ""))
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        atoms = amorphous_sio2_like(n)
        cell = atoms.cell.array
        lengths = atoms.cell.lengths()
        box = freud.box.Box(*lengths)
        points = box.wrap((atoms.positions - 0.5 * cell.sum(axis=0)).astype(np.float32))
        for r_max in args.r_max:
            n_bins = int(round(r_max / args.dr))
            params = RdfParams(r_max=r_max, n_bins=n_bins, weighting="number")
            peer = freud.density.RDF(bins=n_bins, r_max=r_max)
            t_freud, _ = best_time(lambda: peer.compute((box, points), reset=True), 3)
            t_ours, ours = best_time(lambda: compute_rdf(atoms, params), 3)
            dg = float(np.abs(np.asarray(peer.rdf, np.float64) - ours.g).max())
            line = (f"{len(atoms):>8} {r_max:>5.1f} {n_bins:>5} {t_ours:>9.3f} {t_freud:>9.3f} "
                    f"{t_freud / t_ours:>6.1f} {dg:>8.1e}")
            if args.with_list:
                t_list, nl = best_time(lambda: neighbor_list(atoms, r_max), 1)
                t_hist, _ = best_time(lambda: compute_rdf(atoms, params, neighbors=nl), 3)
                del nl
                line += f" {t_list:>8.3f} {t_hist:>8.3f}"
            print(line, flush=True)
    print("ratio = t_freud / t_ours (> 1: ours faster). max|dg| is freud's float32 rounding: "
          "a pair within ~1e-6 Å of a bin edge may fall in the next bin there.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

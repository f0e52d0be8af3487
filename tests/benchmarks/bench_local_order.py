"""Side-by-side benchmark: amorpha's Steinhardt q6 against freud's, single thread.

Run ``python tests/benchmarks/bench_local_order.py`` (10^5 atoms) or ``--atoms N``. The model is
the a-SiO2-like network of ``bench_neighbors.py``. Two neighbour definitions, the same on both
sides: all atoms within 3.5 Å (Si–O, O–O and Si–Si shells, ~13 neighbours per atom) and the 12
nearest. Each row times

* ``q6``: the order parameter alone, both codes given a ready neighbour list (freud's own
  ``NeighborList`` from its query; ours from :func:`neighbor_list` / :func:`nearest_neighbors`);
* ``end-to-end``: structure in, q6 out, neighbour search included.

Also the averaged q̄6 with ŵ6 (freud: ``average=True, wl=True, wl_normalize=True``).
The last column is t_freud / t_ours: above 1 means ours is faster.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_neighbors import best_time, amorphous_sio2_like  # noqa: E402

from amorpha.engine.neighbors import neighbor_list  # noqa: E402
from amorpha.engine.order.local_order import (  # noqa: E402
    SteinhardtParams,
    compute_steinhardt,
    nearest_neighbors,
    warm_up,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import freud

    freud.parallel.set_num_threads(1)
    warm_up()
    atoms = amorphous_sio2_like(args.atoms, seed=2)
    atoms.wrap()
    box = freud.box.Box.from_matrix(atoms.cell.array.T)
    points = box.wrap(atoms.positions.astype(np.float32))
    atoms.positions = points.astype(np.float64)  # both codes see the same points
    system = (box, points)
    print(f"{len(atoms)} atoms, a-SiO2-like, one thread each (freud {freud.__version__})")

    header = f"{'neighbours':>11} {'variant':>14} {'what':>10} {'t_ours/s':>9} {'t_freud/s':>9} " \
             f"{'freud/ours':>10} {'max|diff|':>9}"
    print(header)
    print("-" * len(header))
    rows = [
        ("r < 3.5 Å", {"r_max": 3.5}, {"cutoff": 3.5}),
        ("12 nearest", {"num_neighbors": 12}, {"num_neighbors": 12}),
    ]
    variants = [
        ("q6", {}, {}),
        ("q6avg + w6hat", {"average": True, "wl": True, "wl_normalize": True},
         {"average": True, "wl": True}),
    ]
    for label, query, mode in rows:
        # Ready neighbour lists, same definition on both sides.
        aabb = freud.locality.AABBQuery(*system)
        freud_nl = aabb.query(points, dict(query, exclude_ii=True)).toNeighborList()
        if "cutoff" in mode:
            ours_nl = neighbor_list(atoms, 3.5)
        else:
            ours_nl = nearest_neighbors(atoms, 12)
        assert len(freud_nl) == ours_nl.n_pairs, (len(freud_nl), ours_nl.n_pairs)
        for name, freud_kw, ours_kw in variants:
            params = SteinhardtParams(l_values=(6,), **mode, **ours_kw)
            peer = freud.order.Steinhardt(6, **freud_kw)

            def ours_ready():
                return compute_steinhardt(atoms, params, neighbors=ours_nl)

            def freud_ready():
                peer.compute(system, neighbors=freud_nl)
                return np.asarray(peer.particle_order)

            def ours_full():
                return compute_steinhardt(atoms, params)

            def freud_full():
                peer.compute(system, neighbors=query)
                return np.asarray(peer.particle_order)

            for what, fo, ff in (("q6", ours_ready, freud_ready), ("end-to-end", ours_full, freud_full)):
                t_ours, res = best_time(fo, args.repeats)
                t_freud, ref = best_time(ff, args.repeats)
                if ours_kw.get("wl"):
                    mine = res.wl_hat_avg[:, 0]
                elif ours_kw.get("average"):
                    mine = res.ql_avg[:, 0]
                else:
                    mine = res.ql[:, 0]
                diff = float(np.nanmax(np.abs(mine - np.ravel(ref))))
                print(f"{label:>11} {name:>14} {what:>10} {t_ours:9.3f} {t_freud:9.3f} "
                      f"{t_freud / t_ours:10.2f} {diff:9.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

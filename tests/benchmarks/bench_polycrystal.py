"""Side-by-side benchmark: amorpha's Voronoi polycrystal against a straightforward numpy/scipy/ASE one.

Run ``python tests/benchmarks/bench_polycrystal.py`` (Cu, 8 grains, 10^4, 10^5 and 10^6 atoms) or
with ``--quick`` (10^4 and 10^5 only). The peer builds the same polycrystal (same seeds and
orientations, from ``draw_grains``) the way a script would: per grain, an ASE supercell rotated
with ``Atoms.rotate`` fills the box-sized cube around the seed (which holds the grain's Voronoi
cell), a periodic ``cKDTree`` keeps the atoms whose nearest seed is the grain's, and a second one
finds the close pairs to thin (in a random order, as ours). The grains must hold the same atoms
(checked by count before thinning); which atom of a close pair goes differs, so the final counts
agree only to a fraction of a per cent.
Times are the best of ``--repeat`` runs for ours (the peer runs once at 10^6); the longest stretch
ours holds the GIL is measured by a thread that wakes every millisecond.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from scipy.sparse import coo_matrix  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from bench_neighbors import best_time  # noqa: E402
from amorpha.engine.build.crystals import unit_cell  # noqa: E402
from amorpha.engine.build.polycrystal import (  # noqa: E402
    PolycrystalParams,
    build_polycrystal,
    draw_grains,
    warm_up,
)


def params_for(n_atoms: int, n_grains: int, crystal: str = "Cu") -> PolycrystalParams:
    """A cubic box holding about ``n_atoms`` of ``crystal``."""
    cell = unit_cell(crystal)
    side = (n_atoms * cell.cell.volume / len(cell)) ** (1.0 / 3.0)
    return PolycrystalParams(crystal, box=(side, side, side), n_grains=n_grains)


def peer_polycrystal(params: PolycrystalParams, min_distance: float) -> tuple[int, int]:
    """The same polycrystal with ASE + numpy + scipy; its atom counts before and after thinning."""
    cell = unit_cell(params.crystal, params.a)
    seeds, rotations = draw_grains(params)
    box = np.asarray(params.box, dtype=float)
    nearest_seed = cKDTree(seeds, boxsize=box)
    reach = 0.5 * np.linalg.norm(box)  # the cube around a seed fits in this sphere
    reps = int(np.ceil(2 * reach / cell.cell.lengths().min())) + 1
    template = cell.repeat(reps)
    template.translate(-(reps // 2) * cell.cell.array.sum(axis=0))  # a lattice point at 0
    positions = []
    for g in range(len(seeds)):
        grain = template.copy()
        rotvec = Rotation.from_matrix(rotations[g]).as_rotvec()
        angle = np.linalg.norm(rotvec)
        if angle > 0:
            grain.rotate(np.degrees(angle), rotvec / angle, center=(0.0, 0.0, 0.0))
        x = grain.positions[np.all(np.abs(grain.positions) < box / 2, axis=1)]
        p = np.mod(seeds[g] + x, box)
        p[p >= box] = 0.0
        d, owner = nearest_seed.query(p)
        positions.append(p[(owner == g) & (d >= np.linalg.norm(x, axis=1) - 1e-9)])
    positions = np.concatenate(positions)
    pairs = cKDTree(positions, boxsize=box).query_pairs(min_distance, output_type="ndarray")
    n = len(positions)
    close = coo_matrix((np.ones(2 * len(pairs)), (np.r_[pairs[:, 0], pairs[:, 1]],
                                                  np.r_[pairs[:, 1], pairs[:, 0]])),
                       shape=(n, n)).tocsr()
    crowded = np.flatnonzero(np.diff(close.indptr))
    keep = np.ones(n, dtype=bool)
    for i in crowded[np.random.default_rng([params.seed, 1]).permutation(len(crowded))]:
        if keep[i]:
            keep[close.indices[close.indptr[i]:close.indptr[i + 1]]] = False
    return n, int(keep.sum())


def longest_gil_hold(fn) -> float:
    """Run ``fn`` while a thread asks for the GIL every millisecond; the longest wait (s)."""
    gaps, done = [0.0], threading.Event()

    def watch():
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last - 0.001)
            last = now

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        fn()
    finally:
        done.set()
        watcher.join()
    return max(gaps)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 10^4 and 10^5 atoms")
    parser.add_argument("--sizes", type=int, nargs="+", help="atom counts (overrides --quick)")
    parser.add_argument("--grains", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="time ours only")
    args = parser.parse_args(argv)

    import numba

    numba.set_num_threads(1)
    sizes = args.sizes or ([10**4, 10**5] if args.quick else [10**4, 10**5, 10**6])
    warm_up()
    peer_polycrystal(params_for(2000, 2), 1.9)

    header = (f"{'N':>9} {'grains':>6} {'atoms':>9} {'t_ours/s':>9} {'atoms/s':>10} {'GIL/ms':>7} "
              f"{'t_peer/s':>9} {'ours/peer':>9}")
    print(header)
    print("-" * len(header))
    for n in sizes:
        params = params_for(n, args.grains)
        t_ours, atoms = best_time(lambda: build_polycrystal(params), args.repeat)
        gil = longest_gil_hold(lambda: build_polycrystal(params))
        line = (f"{n:>9} {args.grains:>6} {len(atoms):>9} {t_ours:>9.3f} {len(atoms) / t_ours:>10.3g} "
                f"{gil * 1000:>7.0f}")
        if not args.no_peer:
            repeats = 1 if n >= 10**6 else args.repeat
            t_peer, (filled, kept) = best_time(
                lambda: peer_polycrystal(params, atoms.info["min_distance"]), repeats)
            ours = len(atoms) + atoms.info["removed_atoms"]
            assert filled == ours, f"grains differ: ours {ours} atoms, peer {filled}"
            assert abs(kept - len(atoms)) <= 2e-3 * len(atoms), \
                f"thinned counts differ: ours {len(atoms)}, peer {kept}"
            line += f" {t_peer:>9.3f} {t_ours / t_peer:>9.3f}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Side-by-side benchmark: amorpha's neighbour list against matscipy's, single thread.

Run ``python tests/benchmarks/bench_neighbors.py`` (10^4, 10^5, 10^6 atoms) or with ``--quick``
(10^4 and 10^5 only). Systems are a-SiO2-like (2.2 g/cm3, Si:O = 1:2, fourfold network), so the
pair counts are those of silica glass. Peak memory of ours is measured with
tracemalloc (it sees numpy allocations, which hold all of our large arrays) and reported as a
multiple of the output's size.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402

from amorpha.engine.build.crystals import beta_cristobalite  # noqa: E402
from amorpha.engine.neighbors import neighbor_list, warm_up  # noqa: E402

AVOGADRO = 6.02214076e23
SIO2_MASS = 60.084  # g/mol, three atoms


def amorphous_sio2_like(n_atoms: int, density: float = 2.2, seed: int = 0,
                        shuffle: bool = False) -> Atoms:
    """A jittered beta-cristobalite network scaled to ``density``: a-SiO2's density and bonding.

    Each Si has four O at ~1.55 A and each O two Si, so the 2 A list holds the 2.67 pairs per atom
    of real silica glass; 0.1 A Gaussian jitter breaks the crystal's symmetry. The atom count is
    the nearest 24 m^3. Atoms come in builder order unless ``shuffle``: random order is much
    harder on a neighbour search that does not sort atoms itself.
    """
    rng = np.random.default_rng(seed)
    m = max(1, round((n_atoms / 24) ** (1 / 3)))
    ideal = 24 / 3 * SIO2_MASS / AVOGADRO / (7.16e-8) ** 3  # g/cm3 of the ideal cell
    atoms = beta_cristobalite((m, m, m), a=7.16 * (ideal / density) ** (1 / 3))
    atoms.positions += rng.normal(0.0, 0.1, atoms.positions.shape)
    if shuffle:
        atoms = atoms[rng.permutation(len(atoms))]
    return atoms


def best_time(fn, repeats: int):
    best, result = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 10^4 and 10^5 atoms")
    parser.add_argument("--shuffle", action="store_true", help="atoms in random order")
    args = parser.parse_args(argv)

    import numba
    from matscipy.neighbours import neighbour_list as matscipy_nl

    numba.set_num_threads(1)
    sizes = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
    cutoffs = [2.0, 5.0]

    # Warm up both: JIT (or cache load) for ours, first-call costs for matscipy.
    warm_up()
    small = amorphous_sio2_like(1000, seed=1)
    neighbor_list(small, 5.0)
    matscipy_nl("ijdS", small, 5.0)

    header = f"{'N':>9} {'cutoff':>6} {'pairs':>11} {'t_ours/s':>9} {'t_matscipy/s':>12} " \
             f"{'ratio':>6} {'peak/out':>8}"
    print(header)
    print("-" * len(header))
    for n in sizes:
        atoms = amorphous_sio2_like(n, shuffle=args.shuffle)
        repeats = 3  # best of 3: first touches of fresh memory are slow and uneven on VMs
        for cutoff in cutoffs:
            t_ms, (i, j, d, s) = best_time(lambda: matscipy_nl("ijdS", atoms, cutoff), repeats)
            n_ms = len(i)
            del i, j, d, s
            t_ours, nl = best_time(lambda: neighbor_list(atoms, cutoff), repeats)
            assert nl.n_pairs == n_ms, f"pair counts differ: ours {nl.n_pairs}, matscipy {n_ms}"
            out_bytes = nl.indptr.nbytes + nl.indices.nbytes + nl.distances.nbytes + nl.shifts.nbytes
            del nl
            tracemalloc.start()
            nl = neighbor_list(atoms, cutoff)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            del nl
            print(f"{len(atoms):>9} {cutoff:>6.1f} {n_ms:>11} {t_ours:>9.3f} {t_ms:>12.3f} "
                  f"{t_ms / t_ours:>6.2f} {peak / out_bytes:>8.2f}", flush=True)
    print(f"cancel latency at {n} atoms, 5 Å: {cancel_latency(atoms, 5.0) * 1000:.0f} ms")
    return 0


def cancel_latency(atoms: Atoms, cutoff: float, after: float = 0.1) -> float:
    """Seconds from the moment cancelling is wanted (``after`` s in) to the Cancelled exception."""
    from amorpha.engine.tasks import Cancelled

    t0 = time.perf_counter()

    def cancel() -> bool:
        return time.perf_counter() - t0 > after

    try:
        neighbor_list(atoms, cutoff, cancel=cancel)
    except Cancelled:
        return time.perf_counter() - (t0 + after)
    return float("nan")  # finished before ``after``


if __name__ == "__main__":
    sys.exit(main())

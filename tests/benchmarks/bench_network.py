"""Benchmark of the WWW network builder: bond switches per second and time per full relaxation.

Run ``python tests/benchmarks/bench_network.py`` (216, 512 and 1000 atoms) or ``--quick`` (216
only); ``--full`` also times complete ``build_network`` calls with the default schedule. There is
no peer to compare with (no package on PyPI does WWW bond switching), so the rates are printed
alone. For each size a diamond is melted (as the builder does), then switches are attempted at
the anneal's temperatures (kT = 0.42 and 0.28 eV): attempts and acceptances per second, and the
time of one full Keating relaxation of the network.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from amorpha.engine.build import keating as K  # noqa: E402
from amorpha.engine.build import network as N  # noqa: E402

NetworkDefaults = N.NetworkParams()


def melted(n_atoms: int, seed: int = 0) -> N._Annealer:
    """A diamond of about ``n_atoms`` melted as the builder does (a third of its bonds left)."""
    pos, cell, bonds, shifts = N.diamond(N.supercell_for(n_atoms))
    n = len(pos)
    topo = K.Topology.from_bonds(pos, cell, bonds, shifts, np.zeros(n, np.int64))
    ann = N._Annealer(topo)
    crystal = N._bond_keys(topo)
    keep = NetworkDefaults.melt_memory
    N._run(ann, np.random.default_rng(seed), lambda f: NetworkDefaults.kT_melt,
           N.MAX_MELT_ATTEMPTS * n, NetworkDefaults.smallest_ring, max(1, n // 5), None, None, "",
           goal=lambda: (1.0 - np.isin(N._bond_keys(topo), crystal).mean()) / (1.0 - keep),
           pivots=lambda: N._crystal_atoms(topo, crystal), guard=False)
    return ann


def switch_rates(ann: N._Annealer, kT: float, attempts: int, seed: int = 1):
    """(attempts/s, acceptances/s) of ``attempts`` switch attempts at ``kT`` (eV)."""
    topo = ann.topo.copy()
    trial = N._Annealer(topo)
    rand = np.random.default_rng(seed).random((attempts, 5))
    start = time.perf_counter()
    done = accepted = 0
    for lo in range(0, attempts, N.CHUNK_ATTEMPTS):
        att, acc = trial.switches(rand[lo:lo + N.CHUNK_ATTEMPTS], kT, 10**9,
                                  NetworkDefaults.smallest_ring)
        done += att
        accepted += acc
    seconds = time.perf_counter() - start
    return done / seconds, accepted / seconds


def relax_time(ann: N._Annealer, repeats: int = 3) -> float:
    """Seconds for one full relaxation as the builder makes them: after n/5 accepted switches
    relaxed only locally (best of ``repeats`` from the same state)."""
    n = ann.topo.n_atoms
    trial = N._Annealer(ann.topo.copy())
    rng = np.random.default_rng(2)
    while trial.accepted < n // 5:
        trial.switches(rng.random((N.CHUNK_ATTEMPTS, 5)), NetworkDefaults.kT_start,
                       n // 5 - trial.accepted, NetworkDefaults.smallest_ring)
    best = np.inf
    for _ in range(repeats):
        topo = trial.topo.copy()
        start = time.perf_counter()
        K.relax(topo, K.silicon(), fmax=N.FULL_FTOL)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="216 atoms only")
    parser.add_argument("--full", action="store_true",
                        help="also time whole default builds (about 20 s per 512 atoms)")
    parser.add_argument("--attempts", type=int, default=100,
                        help="switch attempts per atom timed at each temperature")
    args = parser.parse_args(argv)
    sizes = [216] if args.quick else [216, 512, 1000]

    N.warm_up()
    print(f"{'atoms':>6} {'kT eV':>6} {'attempts/s':>11} {'accepted/s':>11} {'relax s':>8}")
    for n in sizes:
        ann = melted(n)
        relax = relax_time(ann)
        for kT in (NetworkDefaults.kT_start, NetworkDefaults.kT_end):
            tried, taken = switch_rates(ann, kT, args.attempts * ann.topo.n_atoms)
            print(f"{ann.topo.n_atoms:>6} {kT:>6.2f} {tried:>11,.0f} {taken:>11,.1f} {relax:>8.3f}")
    if args.full:
        print("\nwhole builds (default schedule):")
        for n in sizes:
            N._CACHE.clear()
            start = time.perf_counter()
            net = N.build_network(N.NetworkParams(n_atoms=n, seed=0))
            seconds = time.perf_counter() - start
            print(f"  {net.n_atoms:>5} atoms: {seconds:6.1f} s, {net.switches_attempted:,} attempts, "
                  f"{net.switches_accepted:,} accepted, {net.energy_eV / net.n_atoms:.3f} eV/atom")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

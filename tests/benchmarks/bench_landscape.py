"""Benchmark of the mobile-atom landscape: energy evaluations per second, site search, all paths.

Run ``python tests/benchmarks/bench_landscape.py`` (Cu in the 3000-atom a-SiO2 example, 8 Å
cutoff, 0.3 Å grid, hops up to 6 Å) or ``--quick`` (0.4 Å grid). Single thread, after a warm-up.
Evaluations are timed on 200,000 random points and on a 60³ grid (cache-friendly order), best of
``--repeat``; the site search and the paths once each. The target is 10⁵ energy evaluations per
second.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from amorpha.engine.diffusion import percolation_barrier  # noqa: E402
from amorpha.engine.diffusion.paths import (LandscapeParams, PathParams, find_paths,  # noqa: E402
                                            hop_network, warm_up)
from amorpha.engine.diffusion.potential import HostPotential  # noqa: E402
from amorpha.engine.diffusion.sites import SiteSearchParams, search_sites  # noqa: E402
from amorpha.engine.examples import load_example  # noqa: E402

TARGET = 1e5  # energy evaluations per second


def best_rate(call, n: int, repeat: int) -> float:
    """Points per second of the fastest of ``repeat`` calls."""
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = max(best, n / (time.perf_counter() - start))
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.4 Å grid instead of 0.3 Å")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--element", default="Cu")
    args = parser.parse_args(argv)

    warm_up()
    host = load_example("a-SiO2")
    params = LandscapeParams(SiteSearchParams(element=args.element,
                                              spacing=0.4 if args.quick else 0.3),
                             PathParams())
    start = time.perf_counter()
    potential = HostPotential(host, params.sites.element, params.sites.cutoff)
    setup = time.perf_counter() - start

    rng = np.random.default_rng(0)
    cell = host.cell.array
    random_points = rng.random((200_000, 3)) @ cell
    axis = np.arange(60) / 60
    grid_points = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3) @ cell
    rates = {
        "energy, random points": best_rate(lambda: potential.energy(random_points),
                                           len(random_points), args.repeat),
        "energy, grid order": best_rate(lambda: potential.energy(grid_points),
                                        len(grid_points), args.repeat),
        "energy + gradient, random": best_rate(
            lambda: potential.energy_and_gradient(random_points), len(random_points),
            args.repeat),
    }
    print(f"{len(host)}-atom a-SiO2, {params.sites.element}, cutoff {potential.cutoff:g} Å "
          f"(set-up {setup * 1e3:.1f} ms)")
    for name, rate in rates.items():
        print(f"  {name:<28} {rate:>12,.0f} /s")

    start = time.perf_counter()
    sites, grid = search_sites(potential, params.sites)
    site_time = time.perf_counter() - start
    print(f"site search: {site_time:6.2f} s  ({np.prod(grid.shape):,} grid points at "
          f"{params.sites.spacing:g} Å, {len(sites)} sites below {params.sites.energy_max:g} eV)")

    start = time.perf_counter()
    paths = find_paths(potential, sites, params.paths, grid=grid)
    path_time = time.perf_counter() - start
    print(f"all paths:   {path_time:6.2f} s  ({paths.n_candidates} pairs within "
          f"{params.paths.hop_distance:g} Å: {paths.n_indirect} through another site, "
          f"{paths.n_blocked} above {params.paths.barrier_max:g} eV, {len(paths)} NEB hops, "
          f"{int((~paths.converged).sum())} not converged)")
    network = hop_network(sites, paths)[2]
    print(f"percolation barrier {percolation_barrier(network):.3f} eV (3D), "
          f"{percolation_barrier(network, 'any'):.3f} eV (any direction)")
    slowest = min(rates.values())
    print(f"\nslowest {slowest:,.0f} evaluations/s; target {TARGET:,.0f}")
    return 0 if slowest >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())

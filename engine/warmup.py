"""Compile every numba kernel once, on tiny inputs, so the first real call does not wait.

The window runs :func:`warm_up` in a worker thread at start-up; with ``cache=True`` later starts
load the compiled code from disk. Each module with kernels offers a ``warm_up()`` and is listed here.
"""
from __future__ import annotations

import importlib

from amorpha.engine.tasks import check_cancel, report

#: Modules whose ``warm_up()`` compiles their kernels.
KERNEL_MODULES = [
    "amorpha.engine.neighbors",
    "amorpha.engine.bonds",
    "amorpha.engine.order.rings",
    "amorpha.engine.order.ring_density",
    "amorpha.engine.order.local_order",
    "amorpha.engine.order.pairs",
    "amorpha.engine.order.angles",
    "amorpha.engine.order.structure_factor",
    "amorpha.engine.order.diffraction",
    "amorpha.engine.build.polycrystal",
    "amorpha.engine.build.voids",
    "amorpha.engine.build.keating",
    "amorpha.engine.build.network",
    "amorpha.engine.descriptors.soap",
    "amorpha.engine.descriptors.acsf",
    "amorpha.engine.descriptors.local",
    "amorpha.engine.diffusion.kmc",
    "amorpha.engine.diffusion.analysis",
    "amorpha.engine.diffusion.potential",
    "amorpha.engine.diffusion.sites",
    "amorpha.engine.diffusion.paths",
    "amorpha.engine.gb.atomic_energy",
]


def warm_up(modules=None, progress=None, cancel=None) -> None:
    names = KERNEL_MODULES if modules is None else modules
    for k, name in enumerate(names):
        check_cancel(cancel)
        importlib.import_module(name).warm_up()
        report(progress, (k + 1) / len(names), f"compiled {name.rsplit('.', 1)[-1]}")


def _warm_one(name: str) -> tuple[str, float]:
    """:func:`warm_up` of one module, timed (run in a worker process by :func:`main`)."""
    import time

    start = time.perf_counter()
    warm_up([name])
    return name, time.perf_counter() - start


def main(argv=None) -> int:
    """Fill numba's on-disk cache in ``--processes`` processes side by side. ``make test`` runs
    it first: a clean clone then compiles its kernels (~140 s on one core) before the suite, and
    not inside it, beside the window's start-up warm-up and the tests that time the GUI thread."""
    import argparse
    import time
    from concurrent.futures import ProcessPoolExecutor

    parser = argparse.ArgumentParser(description=main.__doc__.split(".")[0])
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with ProcessPoolExecutor(max(1, args.processes)) as pool:  # each takes the next module when free
        slowest = max(pool.map(_warm_one, KERNEL_MODULES), key=lambda t: t[1])
    print(f"numba kernels compiled or loaded from the cache in {time.perf_counter() - start:.1f} s "
          f"(slowest: {slowest[0]}, {slowest[1]:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

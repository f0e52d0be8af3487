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

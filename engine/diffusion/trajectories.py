"""Walker trajectories as extended XYZ: the diffusion paths themselves, for OVITO, ASE or a
script of one's own (``ase.io.read(path, index=":")``).

One frame per recorded time; its atoms are the first walkers of the run, each the mobile element
at its UNWRAPPED position (start site + displacement), so an MSD recomputed from the file is the
run's. Frame info: ``time_s`` (s); the first frame also says how the walk was made
(``temperature_K``, ``seed``, ``hops_per_walker``, ``attempt_frequency_Hz``, …). The cell and pbc
are the host's, so the walkers can be laid over it (wrap them to see them inside the cell).
Files grow as walkers × times (~70 bytes each), so their product is bounded.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from ase import Atoms

from ..errors import require
from ..tasks import CancelFn, ProgressFn
from .kmc import KmcResult

#: Walkers written by default (the panel's and the CLI's).
TRAJECTORY_WALKERS = 100
#: Most walker positions (walkers × recorded times) one file may hold: ~70 MB of text.
MAX_TRAJECTORY_POINTS = 1_000_000


def trajectory_walkers(result: KmcResult, n_walkers: int) -> int:
    """How many of the run's walkers a file of ``n_walkers`` holds (the run may have fewer);
    raises when walkers × recorded times exceeds :data:`MAX_TRAJECTORY_POINTS`."""
    require(isinstance(n_walkers, (int, np.integer)) and n_walkers >= 1, "n_walkers",
            f"needs a whole number of walkers ≥ 1 to write, got {n_walkers!r}")
    n = min(int(n_walkers), result.n_walkers)
    frames = len(result.times)
    require(n * frames <= MAX_TRAJECTORY_POINTS, "n_walkers",
            f"{n} walkers × {frames} recorded times are {n * frames:,} positions (more than "
            f"{MAX_TRAJECTORY_POINTS:,}, ~{n * frames * 70 / 1e6:.0f} MB): write at most "
            f"{max(1, MAX_TRAJECTORY_POINTS // frames):,} walkers")
    return n


def trajectory_frames(result: KmcResult, site_positions, element: str, cell, *,
                      n_walkers: int = TRAJECTORY_WALKERS, seed: Optional[int] = None,
                      pbc=True, info: Optional[dict] = None) -> list[Atoms]:
    """The first ``n_walkers`` walkers of ``result`` as one Atoms per recorded time (see the
    module's note). ``site_positions`` (n_sites, 3) Å: the network's sites the walkers started
    on; ``seed``: the run's (for the first frame's info); ``info``: more first-frame info."""
    n = trajectory_walkers(result, n_walkers)
    start = np.asarray(site_positions, float)[result.start_sites[:n]]
    head = {"temperature_K": float(result.temperature), **({} if seed is None else {"seed": int(seed)}),
            "hops_per_walker": result.total_hops / result.n_walkers,
            "attempt_frequency_Hz": float(result.attempt_frequency),
            "walkers_in_run": int(result.n_walkers), "walkers_written": n,
            "complete": not result.cancelled, **(info or {})}
    frames = []
    for k, t in enumerate(result.times):
        atoms = Atoms(f"{element}{n}", positions=start + result.displacements[k, :n], cell=cell,
                      pbc=pbc)
        atoms.arrays["walker"] = np.arange(n)
        atoms.info["time_s"] = float(t)
        if k == 0:
            atoms.info.update(head)
        frames.append(atoms)
    return frames


def write_trajectories(path, frames: list[Atoms], progress: Optional[ProgressFn] = None,
                       cancel: Optional[CancelFn] = None) -> None:
    """``frames`` (:func:`trajectory_frames`) as one extended XYZ file, through the project's
    :func:`~amorpha.engine.io.write_extxyz` (atomic: a cancelled write leaves no file)."""
    from ..io import write_extxyz

    write_extxyz(frames, path, cancel=cancel, progress=progress)

"""A KMC run and a hop network as CSV tables, for plotting and for other KMC codes: the
Diffusion panel's Save run… and Save sites and paths… (a scan's table is
:func:`amorpha.engine.cli.write_diffusion_csv`). Å, eV, s; one header row after ``#`` lines.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..atomic import write_table
from .analysis import (RunAnalysis, Spanning, analyse_run, measured_where,
                       mean_squared_displacement)
from .kmc import KmcResult
from .paths import Paths
from .sites import Sites


def write_run_csv(path, element: str, result: KmcResult, cell, spanning: Optional[Spanning],
                  header_lines: Sequence[str] = (), analysis: Optional[RunAnalysis] = None) -> None:
    """MSD(t) ± standard error of one run, measured where its D is (along channels or sheets,
    with the 3D MSD beside it), and D ± error and the tensor's principal values in the header.
    ``analysis``: the run's :func:`~.analysis.analyse_run` when already done (seconds for 10⁵
    walkers)."""
    where = measured_where(spanning)
    if analysis is None:
        analysis = analyse_run(result, cell, spanning)
    msd, fit, tensor = analysis.msd, analysis.fit, analysis.tensor
    lines = [f"KMC of {element} at {result.temperature!r} K: {result.n_walkers} walkers, "
             f"{int(result.hops.sum())} hops ({result.total_hops / result.n_walkers:.6g} per "
             f"walker), attempt frequency {float(result.attempt_frequency):.4g} Hz"
             + (" (INCOMPLETE: stopped early)" if result.cancelled else "")]
    if fit is None:
        lines.append(f"no D: the run recorded {len(result.times)} time(s), too few for a slope")
    else:
        d = 2 * fit.dimensions
        lines += [f"D{' ' + where if where else ''} = {fit.D!r} ± {fit.D_err!r} A2/s, from MSD = "
                  f"{d} D t + c over t = {fit.t_from!r}..{fit.t_to!r} s; {analysis.status}",
                  "diffusion tensor principal values (A2/s): " + ", ".join(
                      f"{float(v)!r} ± {float(e)!r} along ({x:.4f} {y:.4f} {z:.4f})" for v, e, (x, y, z)
                      in zip(tensor.principal, tensor.principal_err, tensor.axes.T))]
    header = ["t_s", "MSD_A2", "MSD_err_A2"]
    columns = [msd.times, msd.msd, msd.stderr]
    if where:
        lines.append(f"MSD: of the displacements {where}; MSD_3D_A2: of the whole displacements")
        header.append("MSD_3D_A2")
        columns.append(mean_squared_displacement(result).msd)
    write_table(path, [*lines, *header_lines], header, np.column_stack(columns).tolist())


#: The columns of a paths table (:func:`paths_rows`).
PATHS_COLUMNS = ["path", "site_i", "site_j", "shift_a", "shift_b", "shift_c",
                 "x_i", "y_i", "z_i", "x_j", "y_j", "z_j", "E_i_eV", "E_j_eV", "saddle_eV",
                 "barrier_ij_eV", "barrier_ji_eV", "length_A", "converged"]


def paths_rows(paths: Paths, site_energies) -> list[list]:
    """One row per path i → j (:data:`PATHS_COLUMNS`), plain numbers: both sites (the image of j
    that the path reaches, unwrapped) and their energies, the saddle, both barriers, the length
    along the path and whether its band converged. Enough to rebuild the hop network (rates
    ν·exp(−barrier/kT)) in another KMC code."""
    energies = np.asarray(site_energies, float)
    i, j = paths.edges[:, 0], paths.edges[:, 1]
    columns = [np.arange(len(paths)), i, j, *np.asarray(paths.shifts).T,
               *paths.images[:, 0].T, *paths.images[:, -1].T, energies[i], energies[j],
               paths.saddles, *paths.barriers.T, paths.distances[:, -1], paths.converged]
    kinds = [int] * 6 + [float] * 12 + [int]
    return [[kind(v) for kind, v in zip(kinds, row)] for row in zip(*columns)]


#: How to read the shift columns of a paths table.
SHIFT_NOTE = ("shift: the cell translation (in cell vectors) from site j to the image the path "
              "reaches; x_j..z_j are that image's coordinates")


def paths_comments(element: str, n_sites: int, n_paths: int, cell) -> list[str]:
    """The lines above one landscape's paths table: what it holds and the cell its shifts count in."""
    return [f"sites and minimum-energy paths of {element}: {n_sites} sites, {n_paths} paths",
            "cell (A): " + "; ".join(" ".join(repr(float(x)) for x in v) for v in np.asarray(cell))]


def write_paths_csv(path, sites: Sites, paths: Paths, header_lines: Sequence[str] = ()) -> None:
    """The landscape's paths table (:func:`paths_rows`): the Diffusion panel's Save sites and
    paths…; ``amorpha-cli diffusion --paths`` writes the same columns per frame."""
    write_table(path, [*paths_comments(sites.element, len(sites), len(paths), sites.cell),
                       SHIFT_NOTE, *header_lines], PATHS_COLUMNS, paths_rows(paths, sites.energies))

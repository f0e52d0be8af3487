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


#: The columns of a paths table (:func:`paths_rows`), each said in :data:`PATHS_NOTES`.
PATHS_COLUMNS = ["path", "site_i", "site_j", "shift_a", "shift_b", "shift_c",
                 "x_i", "y_i", "z_i", "x_j", "y_j", "z_j", "E_i_eV", "E_j_eV", "saddle_eV",
                 "barrier_ij_eV", "barrier_ji_eV", "length_A", "converged",
                 "band_E_i_eV", "band_E_j_eV", "minima_i_eV", "minima_j_eV"]

#: What the columns of a paths table mean: its header lines, enough to rebuild the network.
PATHS_NOTES = [
    "x_i..z_i: site i (its lowest minimum); x_j..z_j: the image of site j the path reaches",
    "E_i_eV, E_j_eV: the sites' energies (a merged site's: its lowest minimum); barrier_ij_eV = "
    "saddle_eV - E_i_eV, barrier_ji_eV = saddle_eV - E_j_eV",
    "band_E_i_eV, band_E_j_eV: the minima the NEB band ran between (a higher member of a merged "
    "site, or the site itself); length_A: along the band",
    "minima_i_eV, minima_j_eV: the energies of every minimum merged into the site, ';'-separated, "
    "lowest first (one number: a plain site); rate i -> j = nu exp(-barrier_ij_eV/kT) / Z_i with "
    "Z_i = sum over them of exp(-(E_m - E_i_eV)/kT), occupation of i ~ Z_i exp(-E_i_eV/kT)",
]


def _minima_text(site_energies, substates) -> list[str]:
    """Per site, the energies of its minima, lowest first, ';'-separated (its own energy when it
    is no merged site): the partition function's terms."""
    if substates is None:
        return [repr(float(e)) for e in site_energies]
    owner, minima = substates
    order = np.lexsort((minima, owner))
    cuts = np.searchsorted(owner[order], np.arange(len(site_energies) + 1))
    return [";".join(repr(float(e)) for e in minima[order][a:b]) for a, b in zip(cuts, cuts[1:])]


def paths_rows(paths: Paths, sites: Sites, substates=None) -> list[list]:
    """One row per path i → j (:data:`PATHS_COLUMNS`, :data:`PATHS_NOTES`), plain numbers: both
    sites (the image of j that the path reaches) and their energies, the saddle, both barriers
    as the hop network counts them, the length along the path, whether its band converged, the
    band's end minima, and the minima merged into each site (``substates`` of the
    :class:`~.network.HopNetwork`, None when none were). Enough to rebuild the hop network
    in another KMC code."""
    energies = np.asarray(sites.energies, float)
    i, j = paths.edges[:, 0], paths.edges[:, 1]
    x_i = sites.positions[i]
    x_j = sites.positions[j] + np.asarray(paths.shifts, float) @ np.asarray(sites.cell, float)
    minima = _minima_text(energies, substates)
    columns = [np.arange(len(paths)), i, j, *np.asarray(paths.shifts).T, *x_i.T, *x_j.T,
               energies[i], energies[j], paths.saddles, *paths.barriers.T, paths.distances[:, -1],
               paths.converged, paths.energies[:, 0], paths.energies[:, -1]]
    kinds = [int] * 6 + [float] * 12 + [int] + [float] * 2
    return [[*(kind(v) for kind, v in zip(kinds, row)), minima[a], minima[b]]
            for row, a, b in zip(zip(*columns), i, j)]


#: How to read the shift columns of a paths table.
SHIFT_NOTE = ("shift: the cell translation (in cell vectors) from site j to the image the path "
              "reaches; x_j..z_j are that image's coordinates")


def paths_comments(element: str, n_sites: int, n_paths: int, cell) -> list[str]:
    """The lines above one landscape's paths table: what it holds and the cell its shifts count in."""
    return [f"sites and minimum-energy paths of {element}: {n_sites} sites, {n_paths} paths",
            "cell (A): " + "; ".join(" ".join(repr(float(x)) for x in v) for v in np.asarray(cell))]


def write_paths_csv(path, sites: Sites, paths: Paths, header_lines: Sequence[str] = (),
                    substates=None) -> None:
    """The landscape's paths table (:func:`paths_rows`; ``substates``: the hop network's merged
    minima): the Diffusion panel's Save sites and paths…; ``amorpha-cli diffusion --paths``
    writes the same columns per frame."""
    write_table(path, [*paths_comments(sites.element, len(sites), len(paths), sites.cell),
                       SHIFT_NOTE, *PATHS_NOTES, *header_lines], PATHS_COLUMNS,
                paths_rows(paths, sites, substates))

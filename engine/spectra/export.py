"""Writing what the Measured work produces: processed spectra as EMSA/MSA, fit reports as CSV.

Text columns are :func:`amorpha.engine.spectra.columns.write_columns`; here are the two other
formats a microscopist hands on. MSA goes through RosettaSciIO's writer (the reader we use), as XY
data so the energies are kept exactly, with the processing steps in the title line's comment. The
fit report is one CSV a spreadsheet opens: ``#`` lines with the fit quality, a table of
components (fraction, ± bootstrap std, weight), and the curves (energy, measured, fit, residual).
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from amorpha.engine.atomic import atomic_write
from amorpha.engine.errors import require
from amorpha.engine.spectra.spectrum import Spectrum, check_grid


def write_msa(spectrum: Spectrum, path, signal_type: str = "EELS", beam_energy_kev: float | None = None) -> None:
    """Write ``spectrum`` as an EMSA/MSA 1.0 file (XY data) with RosettaSciIO.

    MSA describes the energy axis by an offset and a step per channel, so the grid must be uniform
    (a measured spectrum, also after calibration, is): ParameterError otherwise.
    """
    from rsciio.msa import file_writer

    e, y = check_grid(spectrum.energy, spectrum.intensity, spectrum.label or "spectrum")
    require(y.ndim == 1, "spectrum", "write one spectrum at a time")
    step = (e[-1] - e[0]) / (len(e) - 1)
    require(bool(np.allclose(np.diff(e), step, rtol=1e-6, atol=0.0)), "spectrum",
            "MSA needs a uniform energy grid (equal steps); write text columns instead")
    metadata = {"General": {"title": " ".join((spectrum.label or "spectrum").split())[:64]},
                "Signal": {"signal_type": signal_type}}
    if beam_energy_kev is not None:
        metadata["Acquisition_instrument"] = {"TEM": {"beam_energy": float(beam_energy_kev)}}
    signal = {"data": y, "axes": [{"size": len(e), "index_in_array": 0, "name": "Energy loss", "scale": step,
                                   "offset": float(e[0]), "units": "eV", "navigate": False}],
              "metadata": metadata, "original_metadata": {}}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        file_writer(str(tmp), signal, format="XY")
        os.replace(tmp, path)  # an interrupted write never leaves half a spectrum
    finally:
        if tmp.exists():
            tmp.unlink()


def fit_report_rows(fit, title: str = "") -> tuple[list[str], list[list], list[list]]:
    """(comment lines, component rows, curve rows) of an :class:`~amorpha.engine.spectra.unmix.UnmixFit`."""
    require(hasattr(fit, "fractions") and hasattr(fit, "model"), "fit", "expected the result of fit_components")
    comments = [f"Amorpha fit report{': ' + title if title else ''}",
                f"window_eV: {fit.window[0]:.6g} to {fit.window[1]:.6g}",
                f"background: {fit.background_kind or 'none'} {np.round(fit.background, 8).tolist()}",
                f"r2: {fit.r2:.6g}", f"r_factor: {fit.r_factor:.6g}",
                f"reduced_chi2: {fit.reduced_chi2:.6g}", f"dof: {fit.dof}"]
    std = fit.fraction_std if fit.fraction_std is not None else [float("nan")] * len(fit.labels)
    if fit.bootstrap_samples is not None:
        comments.append(f"uncertainties: std of {len(fit.bootstrap_samples)} bootstrap refits")
    components = [[label, float(f), float(s), float(w)]
                  for label, f, s, w in zip(fit.labels, fit.fractions, std, fit.weights)]
    curves = [[float(e), float(m), float(f), float(r)]
              for e, m, f, r in zip(fit.energy, fit.measured, fit.model, fit.residual)]
    return comments, components, curves


def write_fit_report(fit, path, title: str = "") -> None:
    """Write the fit report CSV (see the module notes); written atomically."""
    comments, components, curves = fit_report_rows(fit, title)
    out = io.StringIO()
    for line in comments:
        out.write(f"# {' '.join(line.split())}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["component", "fraction", "fraction_std", "weight"])
    writer.writerows([[c[0], repr(c[1]), repr(c[2]), repr(c[3])] for c in components])
    out.write("\n")
    writer.writerow(["energy_eV", "measured", "fit", "residual"])
    writer.writerows([[repr(v) for v in row] for row in curves])
    with atomic_write(Path(path)) as fh:
        fh.write(out.getvalue())

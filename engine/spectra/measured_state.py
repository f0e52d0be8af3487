"""The measured spectrum of a session, kept in a project so that reopening it gives back the file as
read, the processed spectrum and its steps (undo still works), and the low loss.

Stored as one :class:`~amorpha.engine.project.AnalysisResult` of kind :data:`KIND`: the arrays as
read (the whole line scan or spectrum image when it is at most :data:`MAX_IMAGE_BYTES`, otherwise
only its mean spectrum and the file's path, from which the image can be read again), the processed
spectrum's arrays, the steps as plain JSON (:meth:`~amorpha.engine.spectra.prepare.Step.to_dict`)
and the low loss. The processed spectrum is stored rather than replayed so that reopening is
instant and gives the very numbers that were saved.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from amorpha.engine.errors import ParameterError
from amorpha.engine.project import AnalysisResult
from amorpha.engine.spectra.microscope import SpectrumData
from amorpha.engine.spectra.prepare import Step, steps_of
from amorpha.engine.spectra.spectrum import Spectrum, check_grid

KIND = "measured-spectrum"
#: a line scan or spectrum image larger than this is not copied into the project, only its path
MAX_IMAGE_BYTES = 64 * 2**20


@dataclass
class MeasuredState:
    """``data`` as read (one spectrum, the image's mean when ``image_path`` is set), the spectrum
    the steps start from, the processed one (with its steps) and the low loss."""

    data: SpectrumData
    original: Spectrum
    current: Spectrum
    low_loss: Optional[Spectrum] = None
    image_path: str = ""       # read the image again from here ("" when stored or a single spectrum)
    image_shape: tuple = ()    # its (..., n_energies) shape, to check the file is still the same
    edge: tuple = ()           # (element, edge, onset) the windows were set around, () for none


def to_result(data: SpectrumData, original: Spectrum, current: Spectrum, low_loss: Optional[Spectrum] = None,
              max_image_bytes: Optional[int] = None, edge: tuple = ()) -> AnalysisResult:
    """The project entry for what the Measured panel holds (images above ``max_image_bytes``,
    default :data:`MAX_IMAGE_BYTES`, by their path) and the ``edge`` its windows are set around."""
    limit = MAX_IMAGE_BYTES if max_image_bytes is None else max_image_bytes
    large = bool(data.shape) and data.data.nbytes > limit
    arrays = {"energy": np.asarray(data.energy), "data": np.asarray(original.intensity if large else data.data),
              "original_energy": np.asarray(original.energy), "original_intensity": np.asarray(original.intensity),
              "current_energy": np.asarray(current.energy), "current_intensity": np.asarray(current.intensity)}
    params = {"source": str(data.source), "title": str(data.title), "meta": dict(data.meta),
              "navigation": list(data.navigation), "original_label": original.label,
              "current_label": current.label, "steps": [s.to_dict() for s in steps_of(current)],
              "image_path": str(data.source) if large else "", "image_shape": list(data.data.shape) if large else [],
              "edge": [str(edge[0]), str(edge[1]), float(edge[2])] if edge else []}
    if low_loss is not None:
        arrays.update(low_loss_energy=np.asarray(low_loss.energy), low_loss_intensity=np.asarray(low_loss.intensity))
        params["low_loss_label"] = low_loss.label
    return AnalysisResult(KIND, arrays, params)


def from_result(result: AnalysisResult) -> MeasuredState:
    """The state :func:`to_result` stored; ParameterError names what is missing."""
    if not isinstance(result, AnalysisResult) or result.kind != KIND:
        raise ParameterError("measured", f"expected a {KIND!r} project entry, got {getattr(result, 'kind', result)!r}")
    a, p = result.arrays, result.params
    missing = sorted({"energy", "data", "original_energy", "original_intensity", "current_energy",
                      "current_intensity"} - set(a))
    if missing:
        raise ParameterError("measured", f"the project entry lacks {', '.join(missing)}")
    meta = dict(p.get("meta") or {})
    # the checks a file read gets (finite counts, an increasing axis): a project is a file too
    energy, counts = check_grid(a["energy"], a["data"], "the measured counts as read")
    data = SpectrumData(energy, counts, list(p.get("navigation") or []), meta,
                        str(p.get("source", "")), str(p.get("title", "")))
    energy, counts = check_grid(a["original_energy"], a["original_intensity"], "the measured spectrum")
    original = Spectrum(energy, counts, label=str(p.get("original_label", "")), source=data.source,
                        meta=dict(meta))
    steps = [Step.from_dict(d) for d in p.get("steps") or []]
    energy, counts = check_grid(a["current_energy"], a["current_intensity"], "the prepared spectrum")
    current = replace(original, energy=energy, intensity=counts,
                      label=str(p.get("current_label", original.label)), meta={**meta, "steps": steps})
    low_loss = None
    if "low_loss_energy" in a and "low_loss_intensity" in a:
        energy, counts = check_grid(a["low_loss_energy"], a["low_loss_intensity"], "the low loss")
        low_loss = Spectrum(energy, counts, label=str(p.get("low_loss_label", "low loss")))
    edge = p.get("edge") or ()
    edge = (str(edge[0]), str(edge[1]), float(edge[2])) if len(edge) == 3 else ()
    return MeasuredState(data, original, current, low_loss, str(p.get("image_path") or ""),
                         tuple(int(n) for n in p.get("image_shape") or ()), edge)

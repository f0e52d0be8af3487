"""Measured spectra from microscope files through RosettaSciIO: Gatan DM3/DM4, EMSA/MSA, HyperSpy
.hspy, plus plain text columns (whatever the extension says).

A file may hold one spectrum, a line scan or a spectrum image. The energy axis is found from the
axes' units and names (``eV``/``keV``, "Energy loss"), never assumed to be the last: in a DM4
spectrum image it can be the first. It is moved to the last array axis so that ``data[..., :]`` is
always a spectrum. Dispersion, offset and the beam settings found in the metadata are kept in
``meta`` for the panel to show.
"""
from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field

import numpy as np

from amorpha.engine.errors import ReadError
from amorpha.engine.spectra.columns import read_columns
from amorpha.engine.spectra.spectrum import Spectrum

_READERS = {  # extension -> RosettaSciIO plugin module
    ".dm3": "rsciio.digitalmicrograph", ".dm4": "rsciio.digitalmicrograph",
    ".msa": "rsciio.msa", ".ems": "rsciio.msa", ".emsa": "rsciio.msa",
    ".hspy": "rsciio.hspy",
}
_ENERGY_UNITS = {"ev": 1.0, "kev": 1000.0}
_MSA = (".msa", ".ems", ".emsa")


@dataclass
class SpectrumData:
    """Spectra on one energy axis: ``data`` is (..., n_energies); navigation axes first."""

    energy: np.ndarray
    data: np.ndarray
    navigation: list[dict] = field(default_factory=list)  # name, size, scale, units per pixel axis
    meta: dict = field(default_factory=dict)
    source: str = ""
    title: str = ""

    @property
    def kind(self) -> str:
        return {0: "spectrum", 1: "line scan", 2: "spectrum image"}.get(self.data.ndim - 1, "spectrum stack")

    @property
    def shape(self) -> tuple[int, ...]:
        """Pixels along each navigation axis (empty for one spectrum)."""
        return self.data.shape[:-1]

    def spectrum(self, index: tuple = ()) -> Spectrum:
        """One pixel's spectrum, or the mean over all pixels when ``index`` is empty."""
        if index or self.data.ndim == 1:
            values, where = self.data[tuple(index)], f" pixel {tuple(int(i) for i in index)}" if index else ""
        else:
            values, where = self.data.reshape(-1, self.data.shape[-1]).mean(axis=0), \
                f" (mean of {'×'.join(map(str, self.shape))} pixels)"
        return Spectrum(self.energy, np.asarray(values, dtype=np.float64), label=f"{self.title}{where}",
                        source=self.source, meta=dict(self.meta))


def _energy_axis(axes: list[dict]) -> int:
    """Index of the energy axis: its units are eV/keV, or its name says energy."""
    for k, axis in enumerate(axes):
        if str(axis.get("units", "")).strip().lower() in _ENERGY_UNITS:
            return k
    for k, axis in enumerate(axes):
        if "energy" in str(axis.get("name", "")).lower():
            return k
    signal = [k for k, axis in enumerate(axes) if not axis.get("navigate", False)]
    if len(signal) == 1:
        return signal[0]
    raise ValueError("no energy axis: none has units eV or a name with 'energy'")


def _nested(meta: dict, *keys):
    for key in keys:
        if not isinstance(meta, dict) or key not in meta:
            return None
        meta = meta[key]
    return meta


#: a value's unit as files write it -> factor to the unit the panel shows (keV, mrad, s)
_UNIT_FACTORS = {
    "beam_energy": {"kv": 1.0, "kev": 1.0, "v": 1e-3, "ev": 1e-3, "mv": 1e3},
    "angle": {"mrad": 1.0, "mr": 1.0, "rad": 1e3, "urad": 1e-3, "µrad": 1e-3},
    "time": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "min": 60.0},
}


def _in_unit(holder: dict, key: str, kind: str):
    """``holder[key]`` in the panel's unit for ``kind``, read through its ``key_units`` entry
    (an EMSA file's dwell time is in ms, its angles in "mR"); None when absent, not a positive
    number, or in a unit we do not know (better unsaid than shown a thousand times off)."""
    value = holder.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    if not value > 0:  # DigitalMicrograph writes 0 for a setting it was not told
        return None
    unit = str(holder.get(f"{key}_units", "")).strip().lower()
    factor = _UNIT_FACTORS[kind].get(unit, 1.0 if not unit else None)
    return None if factor is None else value * factor


def _slugged(value):
    """A tag group with keys as HyperSpy's metadata browser names them ("Exposure (s)" ->
    "Exposure_s"), which RosettaSciIO's converters of whole groups expect."""
    if not isinstance(value, dict):
        return value
    return {re.sub(r"\W+", "_", str(k)).strip("_"): _slugged(v) for k, v in value.items()}


def _mapped(signal: dict) -> dict:
    """The signal's metadata with RosettaSciIO's ``mapping`` applied, as HyperSpy applies it when
    it loads a file: a DM file's beam voltage, angles and exposure sit only in its original tags
    until then. A tag that is absent or does not convert is skipped."""
    import copy

    metadata = copy.deepcopy(signal.get("metadata") or {})
    original = signal.get("original_metadata") or {}
    for source, target in (signal.get("mapping") or {}).items():
        value = _nested(original, *source.split("."))
        try:
            path, convert = target
            if value is None:
                continue
            value = convert(_slugged(value)) if convert is not None else value
        except Exception:  # noqa: BLE001 - one odd tag must not stop the file from opening
            continue
        if value is None:
            continue
        *parents, leaf = path.split(".")
        node = metadata
        for key in parents:
            node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else None
            if node is None:
                break
        if node is not None:
            node.setdefault(leaf, value)  # what the reader set itself wins
    return metadata


def _beam_settings(metadata: dict) -> dict:
    """The acquisition settings a microscopist checks first, where the file records them, in
    keV, mrad and s whatever unit the file used."""
    tem = _nested(metadata, "Acquisition_instrument", "TEM") or {}
    eels = _nested(tem, "Detector", "EELS") or {}
    exposure = _in_unit(eels, "exposure", "time")
    found = {
        "beam energy (keV)": _in_unit(tem, "beam_energy", "beam_energy"),
        "convergence angle (mrad)": _in_unit(tem, "convergence_angle", "angle"),
        "collection angle (mrad)": _in_unit(eels, "collection_angle", "angle"),
        "exposure (s)": exposure if exposure is not None else _in_unit(eels, "dwell_time", "time"),
        "signal type": _nested(metadata, "Signal", "signal_type"),
    }
    return {k: v for k, v in found.items() if v not in (None, "")}


def read_microscope(path) -> SpectrumData:
    """Read a measured spectrum, line scan or spectrum image; ReadError says what is wrong."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise ReadError(path, None, "no such file")
    if ext not in _READERS or (ext in _MSA and not _looks_like_msa(path)):
        return _from_columns(path)  # text columns, also when named .msa
    try:
        import importlib

        reader = importlib.import_module(_READERS[ext]).file_reader
        signals = reader(path, lazy=False)
    except ImportError as exc:
        raise ReadError(path, None, f"reading {ext} files needs RosettaSciIO ({exc})") from None
    except (struct.error, EOFError) as exc:  # a binary field read past the end of the file
        raise ReadError(path, None, f"not a readable {ext[1:].upper()} file: it ends before the data its own "
                                    f"headers announce, so it was cut short (copied or downloaded only in "
                                    f"part?), is damaged, or is another kind of file ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - any failure inside a third-party reader is a bad file
        if ext in _MSA:  # say the line, not RosettaSciIO's IndexError / ValueError
            _msa_columns(path, strict=True)
        raise ReadError(path, None, f"not a readable {ext[1:].upper()} file ({type(exc).__name__}: {exc})") from None
    spectra = [s for s in signals if len(s.get("axes", [])) >= 1 and np.asarray(s["data"]).ndim >= 1]
    if not spectra:
        raise ReadError(path, None, "the file holds no spectrum")
    signal = spectra[0]
    axes = signal["axes"]
    try:
        k = _energy_axis(axes)
    except ValueError as exc:
        raise ReadError(path, None, str(exc)) from None
    axis = axes[k]
    unit = _ENERGY_UNITS.get(str(axis.get("units", "eV")).strip().lower(), 1.0)
    data = np.moveaxis(np.asarray(signal["data"], dtype=np.float64), k, -1)
    notes, columns = {}, None
    if ext in _MSA:
        columns = _msa_columns(path)
        data = _msa_counts(data, columns)
        notes = _check_msa_complete(path, data.shape[-1])
    energy = unit * (float(axis.get("offset", 0.0)) + float(axis.get("scale", 1.0)) * np.arange(data.shape[-1]))
    if columns is not None and _xy(columns) and data.ndim == 1 and len(columns.energy) == len(data):
        energy = _xy_energy(unit * columns.energy, energy)  # (columns: an MSA file's only)
        notes.update(_uneven_note(energy))
    if not np.all(np.isfinite(data)):
        raise ReadError(path, None, "the spectrum holds NaN or infinite counts")
    navigation = [{"name": a.get("name", ""), "size": int(a.get("size", 0)), "scale": a.get("scale"),
                   "units": a.get("units", "")} for j, a in enumerate(axes) if j != k]
    metadata = _mapped(signal)
    dispersion = unit * float(axis.get("scale", 1.0))
    if "energy axis" in notes:  # unequal steps: the typical one
        dispersion = float(np.median(np.diff(energy)))
    meta = {"dispersion (eV/channel)": dispersion, "offset (eV)": float(energy[0]), **notes,
            **_beam_settings(metadata)}
    # the file's name, which the user chose and knows, names the spectrum; a title inside the
    # file ("hl", a sample code) is kept beside the other settings
    title = str(_nested(metadata, "General", "title") or "").strip()
    if title and title != os.path.splitext(os.path.basename(path))[0]:
        meta["title in the file"] = title
    return SpectrumData(energy, data, navigation, meta, path, os.path.basename(path))


def _msa_columns(path: str, strict: bool = False):
    """The file's data columns (:func:`read_columns`: X and counts of DATATYPE XY, counts on
    OFFSET + XPERCHAN·i of DATATYPE Y), None when they cannot be read. ``strict``: raise what is
    wrong with them instead, at its line (a value that is not a number), or say the file was cut
    short when its last line is incomplete and #ENDOFDATA is missing."""
    try:
        return read_columns(path)
    except ReadError as exc:
        if not strict:
            return None
        if exc.line is not None and _cut_at(path) == exc.line:
            raise ReadError(path, exc.line, "the last line is incomplete: the file was cut short") from None
        if exc.line is not None:
            raise exc from None
        return None


def _cut_at(path: str) -> int | None:
    """The line number of the last line holding text when the file has no #ENDOFDATA (it was cut
    there), else None."""
    from amorpha.engine.spectra.columns import read_text, split_lines

    lines = split_lines(read_text(path))
    if any(line.strip().upper().startswith("#ENDOFDATA") for line in lines):
        return None
    filled = [n for n, line in enumerate(lines, start=1) if line.strip()]
    return filled[-1] if filled else None


def _xy(columns: Spectrum) -> bool:
    """Whether an EMSA file's data are X,Y pairs (DATATYPE XY)."""
    return str(columns.meta.get("DATATYPE", "")).strip().upper() == "XY"


def _xy_energy(x: np.ndarray, header: np.ndarray) -> np.ndarray:
    """A DATATYPE XY file's energies: its X column, unless the header's OFFSET + XPERCHAN·i agrees
    with it to 1 % of a step (the X column's printed rounding; the header's axis is exact). The NiO
    example's X column departs from it by up to 1.6 eV and is the truth there."""
    step = abs(float(np.median(np.diff(header)))) if len(header) > 1 else 0.0
    return header if step > 0 and np.max(np.abs(x - header)) <= 0.01 * step else x


def _uneven_note(energy: np.ndarray) -> dict:
    """A note when the file's X column has unequal steps (RosettaSciIO's NiO example: two of
    2.32 eV among 3.10): the axis is used as it is, and the steps that need equal ones say so."""
    step = np.diff(energy)
    if len(step) == 0 or np.allclose(step, np.median(step), rtol=1e-3, atol=0.0):
        return {}
    return {"energy axis": f"the file's X column, with unequal steps ({step.min():.4g}–{step.max():.4g} eV), "
                           f"used as it is: Smooth, Fourier-ratio and saving as MSA need equal steps and "
                           f"will say so"}


def _msa_counts(data: np.ndarray, columns) -> np.ndarray:
    """RosettaSciIO's counts, or the file's data columns (:func:`_msa_columns`) when these hold
    more: it starts reading at "#SPECTRUM : " with a space after the colon, so a file whose
    ``#SPECTRUM :`` line ends at the colon read as 0 points and was called cut short. A file that
    really is cut short holds as few points either way, and is still refused."""
    if data.ndim != 1 or columns is None:  # an EMSA/MSA file holds one spectrum
        return data
    return columns.intensity if len(columns.intensity) > len(data) else data


def _check_msa_complete(path: str, n_read: int) -> dict:
    """Refuse an EMSA/MSA file cut short: RosettaSciIO reads what is there, and a cut last line
    ("269" of "26912.") became a count a hundred times too small, drawn as a cliff. More points
    than the header's #NPOINTS are used, with a note (returned, for ``meta``) that says so."""
    with open(path, "rb") as fh:
        text = fh.read().decode("latin-1")
    found = re.search(r"^\s*#NPOINTS\s*:\s*([0-9.eE+]+)", text, re.MULTILINE | re.IGNORECASE)
    closed = re.search(r"^\s*#ENDOFDATA", text, re.MULTILINE | re.IGNORECASE)
    cut = _cut_at(path) if not closed and not text.endswith(("\n", "\r")) else None  # inside a line
    notes = {}
    if found is not None:
        expected = int(round(float(found.group(1))))
        if n_read < expected:
            raise ReadError(path, None, f"it holds {n_read} points where its header (#NPOINTS) "
                                        f"says {expected}: the file was cut short"
                                        + (f" (its last line, {cut}, is incomplete)" if cut else ""))
        if n_read > expected:  # not a cut (RosettaSciIO's NiO example: 21 for 20), but said
            notes["note"] = (f"the header (#NPOINTS) says {expected} points, the file holds {n_read}: "
                             f"all {n_read} are used")
    if not closed:
        if cut is not None:
            raise ReadError(path, cut, "the last line is incomplete: the file was cut short")
        raise ReadError(path, None, "it does not end with #ENDOFDATA, as every EMSA/MSA file does: "
                                    "the file was cut short, and its last value may be cut too")
    return notes


def _looks_like_msa(path: str) -> bool:
    """An EMSA/MSA file starts with '#FORMAT'; many '.msa' files are really bare columns."""
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip()
    return head.upper().startswith(b"#FORMAT")


def _from_columns(path: str) -> SpectrumData:
    spectrum = read_columns(path)
    step = np.diff(spectrum.energy)
    meta = {"dispersion (eV/channel)": float(np.median(step)), "offset (eV)": float(spectrum.energy[0])}
    return SpectrumData(spectrum.energy, spectrum.intensity, [], meta, path, spectrum.label)

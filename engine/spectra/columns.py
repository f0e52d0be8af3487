"""Spectra stored as plain text columns (CSV, TSV, whitespace, EMSA/MSA-style Y and XY data).

Reading: header and comment lines are skipped whatever the extension says (a ``.msa`` that is really
headerless columns reads like any text file); the first two numeric columns are energy and
intensity. Once the numbers start, every line must be numbers: a file that breaks half-way fails
with the line that broke, because silently dropping points would shift a spectrum. The energy rule
is :func:`check_grid`'s, so a decreasing axis gets the same sentence here as anywhere else, plus the
line.

Writing: :func:`write_columns` puts the provenance (element, edge, site, source, broadening) in
``# key: value`` header lines that :func:`read_columns` reads back, and the numbers with ``repr``
precision so a round trip gives the same floats.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amorpha.engine.atomic import atomic_write
from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.spectra.spectrum import Spectrum, SpectrumError, check_grid

_SPLIT = re.compile(r"[,;\s]+")
_LINES = re.compile(r"\r\n|\r|\n")  # not str.splitlines: form feeds must not shift line numbers


@dataclass
class Table:
    """The numeric rows of a text file, each with the line it came from (for error messages)."""

    path: str
    rows: list[list[float]]
    lines: list[int]
    meta: dict[str, str] = field(default_factory=dict)  # "#KEY : value" header lines, KEY upper-case
    comments: list[str] = field(default_factory=list)  # every '#' line, without the '#'
    y_only: bool = False  # EMSA DATATYPE Y: one intensity per row, energies from OFFSET/XPERCHAN

    def column(self, index: int, expected: int | None = None) -> np.ndarray:
        """Column ``index`` as floats; a row too short for it fails with its line."""
        expected = index + 1 if expected is None else expected
        for row, line in zip(self.rows, self.lines):
            if len(row) <= index:
                raise ReadError(self.path, line,
                                f"expected {expected} numeric columns, found {len(row)}")
        return np.array([row[index] for row in self.rows], dtype=np.float64)

    def checked(self, energy: np.ndarray, intensity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`check_grid` on two columns, its message turned into a ReadError at the bad line."""
        if len(self.rows) == 1:  # one line of numbers among text: say which, not "an axis of 1 point"
            raise ReadError(self.path, self.lines[0], "the only line of numbers in the file; a spectrum "
                                                      "needs at least two lines of energy and intensity")
        try:
            e, y = check_grid(energy, intensity, "spectrum")
        except SpectrumError as exc:
            reason = str(exc).removeprefix("spectrum: ")
            raise ReadError(self.path, self._bad_line(energy, intensity), reason) from None
        return e, y

    def _bad_line(self, energy, intensity) -> int | None:
        if len(self.lines) < 2:
            return None
        # the same order of checks as check_grid, so the line matches its message
        if not np.isfinite(energy).all():
            return self.lines[int(np.argmin(np.isfinite(energy)))]
        steps = np.diff(energy) <= 0
        if steps.any():
            return self.lines[int(np.argmax(steps)) + 1]
        if not np.isfinite(intensity).all():
            return self.lines[int(np.argmin(np.isfinite(intensity)))]
        return None


def read_text(path: "os.PathLike[str] | str") -> str:
    """The file as text; missing, unreadable, binary or empty files raise :class:`ReadError`."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ReadError(path, None, exc.strerror or str(exc)) from exc
    if b"\0" in raw[:4096]:
        raise ReadError(path, None, "this is a binary file, not text columns")
    if not raw.strip():
        raise ReadError(path, None, "the file is empty")
    return raw.decode("utf-8", errors="replace")


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them (\\n, \\r\\n or \\r), so error line numbers match."""
    return _LINES.split(text)


def _tokens(line: str) -> list[str]:
    return [p for p in _SPLIT.split(line.strip()) if p]


def _floats(tokens: list[str]) -> list[float] | None:
    try:
        return [float(t) for t in tokens]
    except ValueError:
        return None


def _emsa_y(meta: dict[str, str], n_values: int) -> bool:
    """EMSA Y data: DATATYPE says so, or XPERCHAN is given and the data are one column."""
    datatype = meta.get("DATATYPE", "").upper()
    return datatype == "Y" or (not datatype and "XPERCHAN" in meta and n_values == 1)


def read_table(path: "os.PathLike[str] | str", min_columns: int = 2) -> Table:
    """Numeric rows of a text file, from the first line holding ``min_columns`` numbers on.

    Lines before that which are not all numbers are a header; after it only blank lines, '#'
    comments and numbers may follow (``#ENDOFDATA`` ends the data). Lone numbers before the data
    are kept in mind: if no data ever starts, the file has one column and we say so at that line.
    """
    path = os.fspath(path)
    text = read_text(path)
    table = Table(path, [], [])
    lone_number_line = None
    for lineno, line in enumerate(split_lines(text), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if stripped.upper().startswith("#ENDOFDATA"):
                break
            table.comments.append(stripped[1:])
            key, sep, value = stripped[1:].partition(":")
            if sep and value.strip() and not table.rows:
                table.meta[key.strip().upper()] = value.strip()
            continue
        tokens = _tokens(stripped)
        values = _floats(tokens)
        if not table.rows:  # still in the header
            if values and _emsa_y(table.meta, len(values)):
                table.y_only = True
            elif values is None or len(values) < min_columns:
                if values is not None and lone_number_line is None:
                    lone_number_line = lineno
                continue
        if values is None:
            bad = next(t for t in tokens if _floats([t]) is None)
            raise ReadError(path, lineno, f"{bad[:40]!r} is not a number")
        if table.y_only:  # EMSA Y data may hold several channels per line (NCOLUMNS)
            table.rows.extend([v] for v in values)
            table.lines.extend([lineno] * len(values))
        else:
            table.rows.append(values)
            table.lines.append(lineno)
    if not table.rows:
        if lone_number_line is not None:
            raise ReadError(path, lone_number_line,
                            f"only one numeric column; need {min_columns} (energy and intensity), "
                            "or an EMSA header with DATATYPE Y and XPERCHAN")
        raise ReadError(path, None, "no columns of numbers found (need energy and intensity)")
    return table


# Header keys write_columns writes and read_columns reads back into Spectrum fields.
_FIELDS = ("label", "element", "edge", "site", "source", "broadening")


def _spectrum_fields(meta: dict[str, str]) -> dict:
    """Spectrum fields from header lines written by :func:`write_columns` (or an EMSA TITLE)."""
    out: dict = {}
    if meta.get("LABEL") or meta.get("TITLE"):
        out["label"] = meta.get("LABEL") or meta["TITLE"]
    for key in ("element", "edge"):
        if meta.get(key.upper()):
            out[key] = meta[key.upper()]
    try:
        out["site"] = int(meta["SITE"])
    except (KeyError, ValueError):
        pass
    try:
        broadening = json.loads(meta["BROADENING"])
        if isinstance(broadening, dict):
            out["broadening"] = broadening
    except (KeyError, ValueError):
        pass
    return out


def read_columns(path: "os.PathLike[str] | str") -> Spectrum:
    """Read energy/intensity columns; raises :class:`ReadError` with the line that is wrong.

    ``source`` is the file read; a ``# source:`` line written by :func:`write_columns` (where the
    numbers were computed) stays in ``meta["SOURCE"]``.
    """
    table = read_table(path)
    meta = table.meta
    if any("Core loss function" in c for c in table.comments):  # OptaDOS's banner
        raise ReadError(table.path, None, "an OptaDOS core-loss file: computed site spectra, not one "
                                          "measured spectrum; put its seed.cell beside it and open the "
                                          "folder with Train from folder… in the Predict panel")
    if table.y_only:
        if "XPERCHAN" not in meta:
            raise ReadError(table.path, None, "EMSA Y data without XPERCHAN: the energy step is unknown")
        try:
            step, offset = float(meta["XPERCHAN"]), float(meta.get("OFFSET", 0.0))
        except ValueError:
            raise ReadError(table.path, None,
                            f"XPERCHAN {meta['XPERCHAN']!r} / OFFSET {meta.get('OFFSET')!r} "
                            "is not a number") from None
        intensity = table.column(0)
        energy = offset + step * np.arange(len(intensity))
    else:
        energy, intensity = table.column(0, 2), table.column(1, 2)
    energy, intensity = table.checked(energy, intensity)
    fields = {"label": os.path.basename(table.path), **_spectrum_fields(meta)}
    return Spectrum(energy=energy, intensity=intensity, source=table.path, meta=meta, **fields)


# ----------------------------------------------------------------------------- writing

_FORMATS = {"csv": ",", "txt": " "}


def write_columns(spectrum: Spectrum, path: "os.PathLike[str] | str", fmt: str | None = None) -> None:
    """Write energy and intensity as text columns that :func:`read_columns` reads back exactly.

    ``fmt`` is ``"csv"`` (comma-separated, a plain ``energy_eV,intensity`` row for spreadsheets and
    pandas) or ``"txt"`` (space-separated, every header line commented so ``numpy.loadtxt`` reads
    it); by default ``.csv`` files get csv and anything else txt. The file is written beside the
    target and renamed over it, so an interrupted write never leaves half a spectrum.
    """
    path = Path(path)
    if fmt is None:
        fmt = "csv" if path.suffix.lower() == ".csv" else "txt"
    if fmt not in _FORMATS:
        raise ParameterError("fmt", f"must be one of {', '.join(_FORMATS)}, got {fmt!r}")
    energy, intensity = check_grid(spectrum.energy, spectrum.intensity, spectrum.label or "spectrum")
    if intensity.ndim != 1:
        raise SpectrumError(f"{spectrum.label or 'spectrum'}: write one spectrum at a time")
    sep = _FORMATS[fmt]
    values = {"label": spectrum.label, "element": spectrum.element, "edge": spectrum.edge,
              "site": "" if spectrum.site is None else str(int(spectrum.site)),
              "source": spectrum.source,
              "broadening": json.dumps(spectrum.broadening) if spectrum.broadening else ""}
    lines = ["# Amorpha spectrum: energy in eV"]
    for key in _FIELDS:
        value = " ".join(str(values[key]).split())  # one line, whatever the label held
        if value:
            lines.append(f"# {key}: {value}")
    lines.append(f"energy_eV{sep}intensity" if fmt == "csv" else "# energy_eV intensity")
    lines.extend(f"{e!r}{sep}{y!r}" for e, y in zip(energy.tolist(), intensity.tolist()))
    with atomic_write(path) as fh:
        fh.write("\n".join(lines) + "\n")

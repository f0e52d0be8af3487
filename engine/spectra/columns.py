"""Spectra stored as plain text columns (CSV, TSV, whitespace, EMSA/MSA-style XY data).

Header and comment lines are skipped whatever the extension says; the first two numeric columns
are energy and intensity. A file whose numbers stop half-way fails with the line that broke.
"""
from __future__ import annotations

import os
import re
import numpy as np

from amorpha.engine.errors import ReadError
from amorpha.engine.spectra.spectrum import Spectrum

_SPLIT = re.compile(r"[,;\s]+")



def _numbers(line: str) -> list[float] | None:
    parts = [p for p in _SPLIT.split(line.strip()) if p]
    try:
        return [float(p) for p in parts]
    except ValueError:
        return None


def read_columns(path: "os.PathLike[str] | str") -> Spectrum:
    """Read energy/intensity columns; raises :class:`ReadError` with the line that is wrong."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ReadError(path, None, exc.strerror or str(exc)) from exc
    if b"\0" in raw[:4096]:
        raise ReadError(path, None, "this is a binary file, not text columns")
    text = raw.decode("utf-8", errors="replace")
    rows: list[list[float]] = []
    meta: dict[str, str] = {}  # EMSA-style "#KEY : value" header lines
    first_data = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.upper().startswith("#ENDOFDATA"):
            break
        if stripped.startswith("#"):
            key, _, value = stripped[1:].partition(":")
            if value:
                meta[key.strip().upper()] = value.strip()
            continue
        values = _numbers(stripped)
        need = 1 if "XPERCHAN" in meta else 2  # EMSA "Y" data: energies from offset + step
        if values is None or len(values) < need:
            if first_data is None:
                continue  # a header line before the data
            raise ReadError(path, lineno, f"expected two numeric columns, found {stripped[:60]!r}")
        if first_data is None:
            first_data = lineno
        row = values[:2] if meta.get("DATATYPE", "XY").upper() != "Y" else values[:1]
        if rows and len(row) != len(rows[0]):
            raise ReadError(path, lineno, f"expected {len(rows[0])} column(s), found {len(row)}")
        rows.append(row)
    if len(rows) < 2:
        raise ReadError(path, None, "no columns of numbers found (need energy and intensity)")
    data = np.asarray(rows, dtype=np.float64)
    if data.shape[1] == 1:
        energy = float(meta.get("OFFSET", 0.0)) + float(meta["XPERCHAN"]) * np.arange(len(data))
        data = np.column_stack([energy, data[:, 0]])
    if not np.all(np.isfinite(data)):
        bad = int(np.nonzero(~np.isfinite(data).all(axis=1))[0][0])
        raise ReadError(path, first_data + bad, "a value is NaN or infinite")
    return Spectrum(
        energy=data[:, 0],
        intensity=data[:, 1],
        label=meta.get("TITLE") or os.path.basename(path),
        source=path,
        meta=meta,
    )

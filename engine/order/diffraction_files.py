"""A virtual Å-beam diffraction pattern on disk, with its k axes, for other programs.

* ``.npz`` (numpy): ``intensity`` I[k_y, k_x] in Å² (amplitudes times the relativistic γ,
  ``gamma``; ``intensity_units`` says it in words), ``k_x`` and ``k_y`` in 1/Å, and the column's
  geometry (``point``, ``direction``, ``right``, ``up`` in Å, model coordinates; ``diameter``,
  ``length``, ``voltage``, ``wavelength``, ``atoms``) so the pattern can be told where it came from.
* ``.csv``: ``#`` lines with the same geometry, then a grid whose first row is k_x and whose first
  column is k_y (1/Å), the rest I(k_x, k_y) in Å²; spreadsheets and ``np.loadtxt(...,
  delimiter=",")`` read it as it is.

Both are written atomically, numbers at full precision (``repr``), so a round trip is exact.
"""
from __future__ import annotations

import io
import os

import numpy as np

from amorpha.engine.atomic import atomic_write, write_bytes_atomic
from amorpha.engine.errors import require

#: File endings :func:`write_pattern` writes.
FORMATS = (".npz", ".csv")


def _geometry(result) -> dict:
    c = result.column
    return {"point": c.point, "direction": c.direction, "right": c.right, "up": c.up,
            "diameter": c.diameter, "length": c.length, "probe": result.params.probe,
            "voltage": result.params.voltage,
            "wavelength": np.nan if result.wavelength is None else result.wavelength,
            "gamma": result.gamma, "intensity_units": result.intensity_units, "atoms": c.indices}


def write_pattern(result, path) -> str:
    """Write ``result`` (a :class:`~.diffraction.DiffractionResult`) as ``.npz`` or ``.csv``,
    chosen by the ending of ``path``; returns the path written."""
    path = os.fspath(path)
    ending = os.path.splitext(path)[1].lower()
    require(ending in FORMATS, "file name", f"ending in {' or '.join(FORMATS)}, got {path!r}")
    k = np.asarray(result.k, dtype=np.float64)
    intensity = np.asarray(result.intensity, dtype=np.float64)
    if ending == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(buffer, intensity=intensity, k_x=k, k_y=k,
                            **{key: np.asarray(v) for key, v in _geometry(result).items()})
        write_bytes_atomic(path, buffer.getvalue())
        return path
    with atomic_write(path) as fh:
        fh.write("# Amorpha virtual Å-beam diffraction: first row k_x, first column k_y (1/Å); "
                 f"intensity I in {result.intensity_units}\n")
        for key, value in _geometry(result).items():
            if key != "atoms":
                text = " ".join(repr(float(v)) for v in np.ravel(value)) \
                    if not isinstance(value, str) else value
                fh.write(f"# {key}: {text}\n")
        c = result.column
        fh.write(f"# atoms in the column: {len(c)} (periodic images counted apart, probe tails "
                 f"included; {c.n_within_diameter} within the diameter, {c.n_distinct} distinct model atoms)\n")
        fh.write(",".join(["nan"] + [repr(float(v)) for v in k]) + "\n")
        for ky, row in zip(k, intensity):
            fh.write(",".join([repr(float(ky))] + [repr(float(v)) for v in row]) + "\n")
    return path

"""The fit report of an Explain fit with site classes: the plain fit report of
:mod:`amorpha.engine.spectra.export` plus, per class, its sites, the model's own fraction, the fitted
fraction and how distinct its spectrum is, and the notes (absent, merged, undetermined classes)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from amorpha.engine.atomic import atomic_write
from amorpha.engine.errors import require
from amorpha.engine.spectra.export import fit_report_rows

_COLUMNS = ("class", "sites", "model_fraction", "fitted_fraction", "fitted_std", "distinctness")


def explanation_report(explanation, title: str = "") -> str:
    """The CSV text: ``#`` comments (fit quality, then the notes), the class table, the curves."""
    require(hasattr(explanation, "rows") and hasattr(explanation, "fit"), "explanation",
            "expected the result of site_classes.explain")
    comments, _, curves = fit_report_rows(explanation.fit, title)
    comments += [f"note: {note}" for note in explanation.notes]
    out = io.StringIO()
    for line in comments:
        out.write(f"# {' '.join(line.split())}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    writer.writerows([[row[c] if c in ("class", "sites") else repr(row[c]) for c in _COLUMNS]
                      for row in explanation.rows()])
    out.write("\n")
    writer.writerow(["energy_eV", "measured", "fit", "residual"])
    writer.writerows([[repr(v) for v in row] for row in curves])
    return out.getvalue()


def write_explanation_report(explanation, path, title: str = "") -> None:
    """Write :func:`explanation_report` atomically."""
    text = explanation_report(explanation, title)
    with atomic_write(Path(path)) as fh:
        fh.write(text)

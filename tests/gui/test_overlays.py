"""The colour bar's end labels: one precision for both ends, set by the span."""
import pytest

from amorpha.gui.viewer.overlays import format_range


@pytest.mark.parametrize("ends, texts", [
    ((0.002921, 0.9961), ("0.003", "0.996")),  # hop barriers in eV: not 0.002921 and 0.9961
    ((1, 4), ("1", "4")),  # coordination numbers stay whole
    ((1.5, 2.25), ("1.5", "2.25")),
    ((-0.0004, 1.0), ("0", "1")),  # no "-0"
    ((1e-5, 3e-5), ("1.00e-05", "3.00e-05")),
    ((2.5, 2.5), ("2.5", "2.5")),  # one value: resolved to its own size
    ((2.339158, 2.339158 + 4e-15), ("2.34", "2.34")),  # one value up to rounding: not 2.339158
    ((float("nan"), 1.0), ("nan", "1.0")),
])
def test_end_labels(ends, texts):
    assert format_range(*ends) == texts

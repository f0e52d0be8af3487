"""engine.ranges: the numbers of many ranges at once, as a loop over them would give."""
import numpy as np

from amorpha.engine.ranges import distinct, spans


def test_spans_equal_a_loop_over_the_ranges():
    rng = np.random.default_rng(3)
    starts = rng.integers(0, 100, 50)
    stops = starts + rng.integers(-2, 9, 50)  # empty and backward ranges give nothing
    expected = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)])
    np.testing.assert_array_equal(spans(starts, stops), expected)
    assert spans([], []).dtype == np.int64 and len(spans([], [])) == 0


def test_distinct_equals_numpy_unique():
    values = np.random.default_rng(4).integers(0, 1000, 5000)
    np.testing.assert_array_equal(distinct(values), np.unique(values))
    assert len(distinct([])) == 0

"""The Measured panel's project entry: what was saved comes back, and a damaged one is refused
with what is wrong, as a file of counts would be (the window then says it and opens the rest)."""
import numpy as np
import pytest

from amorpha.engine.spectra.measured_state import from_result, to_result
from amorpha.engine.spectra.microscope import SpectrumData
from amorpha.engine.spectra.spectrum import Spectrum, SpectrumError


def _entry():
    e = np.linspace(500.0, 600.0, 101)
    counts = 1e4 * (e / 500.0) ** -3 + 10.0
    data = SpectrumData(e, counts, [], {}, "ok.msa", "ok")
    original = Spectrum(e, counts, label="ok")
    low = Spectrum(np.linspace(-10.0, 50.0, 61), np.ones(61), label="low loss")
    return to_result(data, original, original, low)


def test_a_saved_state_comes_back():
    state = from_result(_entry())
    assert np.array_equal(state.current.energy, np.linspace(500.0, 600.0, 101))
    assert state.low_loss is not None and len(state.low_loss.energy) == 61


@pytest.mark.parametrize("key, index, value, words", [
    ("data", 5, np.nan, "the measured counts as read: an intensity is NaN"),
    ("original_intensity", 0, np.inf, "the measured spectrum: an intensity is NaN"),
    ("current_energy", 3, 490.0, "the prepared spectrum: the energy axis must increase"),
    ("low_loss_intensity", 7, np.nan, "the low loss: an intensity is NaN"),
    ("energy", 2, np.nan, "the measured counts as read: energy point 2"),
])
def test_damaged_counts_or_axes_are_refused_by_name(key, index, value, words):
    entry = _entry()
    entry.arrays[key] = entry.arrays[key].copy()
    entry.arrays[key][index] = value
    with pytest.raises(SpectrumError, match=words):
        from_result(entry)

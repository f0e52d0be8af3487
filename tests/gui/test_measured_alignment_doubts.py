"""The Compare tab's words about an alignment not to be trusted: aligned to counts still on their
falling background, an edge's best match is upside down (a negative factor), and the tab says so."""
import numpy as np

from amorpha.engine.spectra import Spectrum
from amorpha.engine.spectra.compare import align
from amorpha.gui.measured import alignment_doubts


def test_an_upside_down_alignment_is_said():
    e = np.linspace(90.0, 140.0, 501)
    background = 1e6 * (e / 90.0) ** -4.0  # falls 6-fold across the window, the edge adds 2 %
    counts = Spectrum(e, background + 2e3 / (1 + np.exp(-(e - 105.0) / 0.5)), label="counts")
    x = np.linspace(-60.0, 80.0, 1401)  # wider than the window at every shift searched
    placed = Spectrum(x + 105.0, 1 / (1 + np.exp(-x / 0.5)), label="edge")
    _, _, aligned, _ = align(counts, placed, (92.0, 138.0), scale=False)
    assert aligned.meta["amplitude"] < 0  # the least bad r is negative: matched upside down
    assert "drawn upside down" in alignment_doubts(aligned.meta)
    assert "at the end of the search" in alignment_doubts(aligned.meta)
    # after the background is gone, nothing to doubt
    _, _, aligned, _ = align(Spectrum(e, counts.intensity - background), placed, (92.0, 138.0), scale=False)
    assert aligned.meta["amplitude"] > 0 and alignment_doubts(aligned.meta) == ""

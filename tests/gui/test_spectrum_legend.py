"""The Spectrum panel's legend: in a small panel, eight long entries would cover the curves, so
until the user chooses it shows on the plot only where it covers no curve (the view raised at
most RAISE times to make room), else below the plot; each curve names itself on hover."""
import numpy as np

from amorpha.engine.spectra.spectrum import Spectrum
from amorpha.gui.panels.spectrum_panel import SpectrumPanel


def curve(k: int) -> Spectrum:
    """A white line near 530 eV on a low tail: room for a legend at the top right."""
    e = np.linspace(520.0, 600.0, 400)
    return Spectrum(e, np.exp(-0.5 * ((e - 528.0 - k) / 2.0) ** 2) + 0.1 * np.exp(-(e - 520.0) / 30.0),
                    label=f"curve {k}: a label as long as the Measured panel gives")


def test_a_legend_too_tall_for_the_panel_hides_until_asked(shown):
    panel = shown(SpectrumPanel(), 600, 300)
    panel.add_spectrum(curve(0))
    panel.add_spectrum(curve(1), "predicted")  # two entries: the view is raised to make room
    assert panel.legend.isVisible() and panel.legend_button.isChecked()
    assert panel._items[0].curve.toolTip() == curve(0).label
    for k in range(2, 8):
        panel.add_spectrum(curve(k), "predicted")
    assert not panel.legend.isVisible() and not panel.legend_button.isChecked()
    # it goes below the plot instead: a line per few curves, each a stroke in its colour and name
    assert panel.key.isVisible() and panel.key.text().count("━━") == 8
    assert "<span style='color:#1f77b4'>━━</span>&nbsp;<span>curve&nbsp;0:&nbsp;a&nbsp;label" in panel.key.text()
    lines = panel.key.toolTip().splitlines()  # the legend's names whole (with × and +)
    assert len(lines) == 8 and all(line.startswith(curve(k).label) for k, line in enumerate(lines))
    assert panel.hint.toolTip().startswith(panel.hint.text())  # the whole line, when the panel cuts it
    panel.legend_button.click()  # the user's choice holds, however tall
    assert panel.legend.isVisible() and not panel.key.isVisible()
    panel.add_spectrum(curve(8), "predicted")
    assert panel.legend.isVisible()
    panel.legend_button.click()  # and off is off: on the plot or below it
    assert not panel.legend.isVisible() and not panel.key.isVisible()
    panel.remove_group("predicted")
    assert not panel.legend.isVisible() and not panel.key.isVisible()


def test_the_key_wraps_between_words_not_inside_a_hyphenated_file_name(shown):
    """ "YAG_O_K_Sigle-Sturm.msa" was cut at its hyphen across two lines of the key."""
    from PySide6.QtGui import QTextDocument

    panel = shown(SpectrumPanel(), 420, 200)
    e = np.linspace(520.0, 600.0, 100)
    for k, label in enumerate(["YAG_O_K_Sigle-Sturm.msa", "O K predicted average (ten sites)",
                               "fit: YAG_O_K_Sigle-Sturm.msa by three classes"]):
        panel.add_spectrum(Spectrum(e, np.exp(-0.5 * ((e - 540.0 - k) / 9.0) ** 2), label=label))
    assert panel.key.isVisible()

    def lines(width):
        document = QTextDocument()
        document.setDefaultFont(panel.key.font())
        document.setHtml(panel.key.text())
        document.setTextWidth(width)
        document.size()  # lays the text out
        block = document.firstBlock()
        layout = block.layout()
        return [block.text()[layout.lineAt(i).textStart():][:layout.lineAt(i).textLength()]
                for i in range(layout.lineCount())]

    for width in range(200, 440, 8):  # wherever the line ends, the name stays whole
        shown = lines(width)
        assert len(shown) > 1 and sum("Sigle\u2011Sturm" in line for line in shown) == 2, (width, shown)


def test_a_legend_wider_than_the_plot_goes_below_it(shown):
    """One name wider than the plot was cut at its left edge; the key below wraps it."""
    panel = shown(SpectrumPanel(), 600, 300)
    e = np.linspace(520.0, 600.0, 100)
    panel.add_spectrum(Spectrum(e, np.exp(-0.5 * ((e - 540.0) / 5.0) ** 2), label="short"))
    assert panel.legend.isVisible()
    long = Spectrum(e, 0.5 * np.exp(-0.5 * ((e - 560.0) / 5.0) ** 2), label="a name " * 16)
    panel.add_spectrum(long, "predicted")
    assert not panel.legend.isVisible() and panel.key.isVisible()
    panel.item(long).setVisible(False)  # as a click on its entry does: the hint counts it
    assert panel.hint.text().startswith("2 spectra, 1 hidden")


def test_a_short_legend_over_a_low_tail_shows_even_in_a_tiny_panel(shown):
    """The Predict dock's case (the README's spectra.png): an average and a clicked site in a
    panel ~170 px high; their legend sits at the top right, over the tail."""
    panel = shown(SpectrumPanel(), 600, 170)
    panel.add_spectrum(curve(0), "predicted")
    panel.add_spectrum(curve(1), "site")
    assert panel.legend.isVisible() and not panel.key.isVisible()
    legend_left = panel.legend.mapRectToScene(panel.legend.boundingRect()).left()
    view = panel.plot.getViewBox().sceneBoundingRect()
    assert legend_left > view.center().x() - 100  # the right-hand corner


def test_a_prediction_beside_counts_on_a_background_is_scaled_and_raised(qtbot):
    """Counts = 5000 × the prediction + 300 (an edge on a background not yet subtracted): the
    prediction is drawn ×5000 + 300, not ×5000-and-some stretched to reach the background."""
    panel = SpectrumPanel()
    qtbot.addWidget(panel)
    predicted = curve(0)
    panel.add_spectrum(Spectrum(predicted.energy, 5000.0 * predicted.intensity + 300.0, label="counts"))
    panel.add_spectrum(predicted, "predicted")
    assert abs(panel.factor(predicted) - 5000.0) < 1e-6
    assert abs(panel.offset(predicted) - 300.0) < 1e-6
    np.testing.assert_allclose(panel.item(predicted).getData()[1], 5000.0 * predicted.intensity + 300.0)
    (name,) = [lab.text for s, lab in panel.legend.items if s.item is panel.item(predicted)]
    assert name == f"{predicted.label} ×5,000 + 300"


def test_the_energy_axis_says_whose_zero_predictions_count_from(shown):
    """Predictions on an edge-relative grid: 'relative to the edge' for the built-in calculator's,
    but a model trained on CASTEP/OptaDOS spectra counts from CASTEP's zero, not the edge."""
    from amorpha.engine.spectra.castep import AXIS

    e = np.linspace(-5.0, 25.0, 61)
    castep = Spectrum(e, np.exp(-0.5 * (e - 8.0) ** 2), label="O K (predicted)", element="O", edge="K",
                      meta={"axis": AXIS})
    panel = shown(SpectrumPanel(), 600, 300)
    panel.add_spectrum(castep, "predicted")
    assert panel.plot.getAxis("bottom").labelText == "Energy on the CASTEP/OptaDOS scale"
    panel.add_spectrum(Spectrum(e, castep.intensity, label="xTB", element="O", edge="K"), "reference")
    assert panel.plot.getAxis("bottom").labelText == "Energy relative to the edge"  # no one scale



def test_an_eels_files_axis_is_the_energy_loss(shown):
    """Under an EELS file's counts the axis is the energy loss (it said "Energy"); under a
    spectrum that names no technique, still "Energy"."""
    e = np.linspace(500.0, 600.0, 101)
    panel = shown(SpectrumPanel(), 600, 300)
    panel.add_spectrum(Spectrum(e, np.ones_like(e), label="xas.txt"), "measured")
    assert panel.plot.getAxis("bottom").labelText == "Energy"
    panel.remove_group("measured")
    panel.add_spectrum(Spectrum(e, np.ones_like(e), label="core.msa", meta={"signal type": "EELS"}), "measured")
    assert panel.plot.getAxis("bottom").labelText == "Energy loss"


def test_a_prediction_no_factor_fits_says_so_in_its_legend_entry(qtbot):
    """Beside noisy counts whose edge is not where the prediction is, no positive factor fits:
    the prediction was drawn in its own units, a flat line at the counts' foot, without a word.
    Its legend entry (and a site spectrum's, which shares its factor) says why; the hint counts it."""
    from amorpha.gui.panels.spectrum_panel import scale_to

    panel = SpectrumPanel()
    qtbot.addWidget(panel)
    predicted = curve(0)
    falling = Spectrum(predicted.energy, 400.0 - 300.0 * predicted.intensity, label="counts")
    panel.add_spectrum(falling)
    panel.add_spectrum(predicted, "predicted")
    site = curve(2)
    panel.add_spectrum(site, "site")
    names = {s.label: lab.text for s in panel.spectra for sample, lab in panel.legend.items
             if sample.item is panel.item(s)}
    assert names[predicted.label] == f"{predicted.label} (not scaled: the counts do not follow its shape)"
    assert names[site.label] == f"{site.label} (not scaled: the counts do not follow its shape)"
    assert panel.factor(predicted) == 1.0 and panel.offset(predicted) == 0.0
    np.testing.assert_allclose(panel.item(predicted).getData()[1], predicted.intensity)
    assert panel.hint.text().startswith("3 spectra, 2 not scaled")
    assert "not scaled" in panel.hint.toolTip()
    # the other reasons, said as briefly
    e = predicted.energy
    assert scale_to(Spectrum(e, np.zeros_like(e) - 1.0), predicted) == "no positive counts in its range"
    assert scale_to(Spectrum(e, np.full_like(e, 7.0)), predicted) == "the counts are flat in its range"
    assert scale_to(Spectrum(e[::200], e[::200]), predicted) == "2 measured channels in its range"
    assert scale_to(Spectrum(e, np.where(e > 560, np.nan, 5.0)), predicted) == "counts not finite in its range"
    assert scale_to(Spectrum(e, e), Spectrum(e, np.ones_like(e))) == "it is flat in the counts' range"
    # counts below zero that follow it (a background subtracted too deep) are still matched
    np.testing.assert_allclose(scale_to(Spectrum(e, 300.0 * predicted.intensity - 500.0), predicted),
                               (300.0, -500.0))
    # counts that do follow it: scaled again, and nothing said
    panel.remove_group("measured")
    panel.add_spectrum(Spectrum(e, 5000.0 * predicted.intensity + 300.0, label="counts"))
    assert panel.factor(predicted) > 1 and "not scaled" not in panel.hint.text()
    assert all("not scaled" not in lab.text for _, lab in panel.legend.items)


def test_the_empty_plot_keeps_its_range_when_resized(shown, qtbot):
    """The student audit saw the empty Spectrum plot's axes move at every resize ([0, 1], then
    [-0.06, 1.06], then [-0.15, 1.15]): autoRange pads an empty view by its pixel size."""
    panel = shown(SpectrumPanel(), 600, 300)
    panel.add_spectrum(curve(0))
    panel.remove_group("measured")  # emptied again, as by Clear
    ranges = []
    for width, height in ((700, 360), (500, 260), (900, 420)):
        panel.resize(width, height)
        qtbot.wait(20)
        ranges.append(panel.plot.getViewBox().viewRange())
    assert np.allclose(ranges, ranges[0]), ranges
    (x_lo, x_hi), (y_lo, y_hi) = ranges[0]
    assert -0.1 < x_lo < 0 < 1 < x_hi < 1.1 and -0.1 < y_lo < 0 < 1 < y_hi < 1.1, ranges[0]  # 0 and 1 labelled

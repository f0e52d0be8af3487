"""A microscopist's audit of the Measured panel and the spectrum plot: the axis of a file that does
not say it is EELS, components of a spectrum image drawn where they can be seen and named after
their method, a prediction scaled to counts freed of their background, long legend names, and a
power law that rises."""
import numpy as np
import pytest
from PySide6.QtGui import QTextDocument

from amorpha.engine.spectra.columns import write_columns
from amorpha.engine.spectra.microscope import SpectrumData
from amorpha.engine.spectra.prepare import steps_of
from amorpha.engine.spectra.spectrum import Spectrum
from amorpha.gui.panels.spectrum_panel import SpectrumPanel

from .test_measured_panel import core_loss, gauss, opened, ti_o_core_loss


@pytest.fixture(autouse=True)
def no_preferences_saved(monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


def axis_label(window) -> str:
    return window.spectrum_panel.plot.getAxis("bottom").labelText


def test_a_core_loss_whose_file_does_not_say_eels_is_on_an_energy_loss_axis(qtbot, empty_window, tmp_path):
    """Text columns say nothing of their signal: with Ti L2,3 and O K seen in the counts, the
    axis is the energy loss, as under a file with SIGNALTYPE ELS, and the file table says why."""
    window = empty_window
    from amorpha.engine.spectra.microscope import read_microscope

    spectrum = read_microscope(ti_o_core_loss(tmp_path)).spectrum()
    write_columns(spectrum, columns := tmp_path / "sto.csv")
    opened(qtbot, window, columns)
    assert axis_label(window) == "Energy loss"
    assert "EELS (not in the file: judged from its counts)" in window.measured_panel.meta_label.text()
    # flat counts with no edge: nothing says energy loss
    e = np.arange(400.0, 600.0, 0.5)
    write_columns(Spectrum(e, np.full(e.size, 100.0) + np.sin(e)), flat := tmp_path / "flat.csv")
    opened(qtbot, window, flat)
    assert axis_label(window) == "Energy" and "signal type" not in window.measured_panel.meta_label.text()


def test_the_shared_srtio3_core_loss_without_signaltype(qtbot, empty_window, shared_data):
    path = shared_data / "eels/pyEELSMODEL/SrTiO3_hl.msa"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    opened(qtbot, empty_window, path)
    assert "Ti L2,3 (456 eV), O K (532 eV)" in empty_window.measured_panel.meta_label.text()
    assert axis_label(empty_window) == "Energy loss"


def line_scan(n=48):
    """Two phases, the second's edge a little higher, on a few thousand counts."""
    e = np.linspace(95.0, 135.0, 400)
    phase = np.repeat([0, 1], [n // 2, n - n // 2])
    spectra = np.array([gauss(e, 104.0, 2.0), gauss(e, 114.0, 2.5)])[phase] * 2000 + 20
    return e, SpectrumData(e, np.random.default_rng(2).poisson(spectra).astype(float), title="line scan")


def decomposed(qtbot, window, method, n=2):
    panel = window.measured_panel
    panel.method.setCurrentIndex(panel.method.findData(method))
    panel.n_components.setValue(n)
    with qtbot.waitSignal(window.measured.decomposed, timeout=30000):
        panel.decompose_button.click()


def test_a_pca_loading_is_drawn_at_the_height_of_the_counts_and_says_so(qtbot, empty_window):
    window = empty_window
    _, data = line_scan()
    window.measured.set_data(data)
    decomposed(qtbot, window, "pca")
    (curve,) = window.measured.curves("pixel")
    x, y = curve.getData()
    counts = window.measured.current.intensity
    assert np.abs(y).max() == pytest.approx(np.abs(counts).max(), rel=1e-6)  # was 0.3 beside 1000 counts
    assert curve.name().startswith("PCA 1 (loading ×") and "scaled to the counts" in curve.name()


def test_the_legend_and_its_key_name_the_method_in_use(qtbot, empty_window):
    """After NMF, a k-means decomposition: the key below the plot still said "NMF 1"."""
    window = empty_window
    e, data = line_scan()
    window.resize(900, 700)
    window.measured.set_data(data)
    plot = window.spectrum_panel
    for k in range(6):  # long names in a small plot: the legend goes below it
        plot.add_spectrum(Spectrum(e, gauss(e, 110.0 + k, 2.5), label=f"prediction {k} with a long name"),
                          "predicted")
    decomposed(qtbot, window, "nmf")
    assert plot.key.isVisible() and "NMF&nbsp;1" in plot.key.text()
    decomposed(qtbot, window, "kmeans")
    names = [label.text for _, label in plot.legend.items]
    assert "NMF" not in plot.key.text() and not any("NMF" in name for name in names)
    panel = window.measured_panel
    assert panel.map_choice.itemText(0) == "k-means clusters (all)"
    panel.map_choice.setCurrentIndex(1)
    (curve,) = window.measured.curves("pixel")
    assert curve.name().startswith("k-means cluster 1, ") and "k‑means&nbsp;cluster&nbsp;1" in plot.key.text()


def test_a_prediction_scaled_to_counts_freed_of_their_background_stands_on_their_zero(qtbot, empty_window,
                                                                                      tmp_path):
    """Before the background is subtracted the scaled prediction stands on it (a constant); after,
    the constant went on floating it thousands of counts above the subtracted pre-edge."""
    window = empty_window
    m = opened(qtbot, window, core_loss(tmp_path))
    e = np.arange(520.0, 600.0, 0.5)
    predicted = Spectrum(e, gauss(e, 535.0, 3.0) + 0.6 * (e > 532.0), label="predicted")
    plot = window.spectrum_panel
    plot.add_spectrum(predicted, "predicted")
    assert plot.offset(predicted) > 1000.0  # on the power law
    with qtbot.waitSignal(m.changed, timeout=10000):
        m.apply_step("powerlaw_background", {"window": (450.0, 520.0), "zero_fill": True})
    (predicted,) = plot.group("predicted")
    assert plot.offset(predicted) == 0.0 and plot.factor(predicted) > 0
    (label,) = [lab.text for s, lab in plot.legend.items if s.item is plot.item(predicted)]
    assert "×" in label and " + " not in label and " − " not in label
    x, y = plot.item(predicted).getData()
    assert abs(y[x < 528.0]).max() < 0.05 * y.max()  # at the counts' zero before the edge


def key_lines(panel) -> list[str]:
    """The key's text as laid out on its width, line by line."""
    document = QTextDocument()
    document.setDefaultFont(panel.key.font())
    document.setHtml(panel.key.text())
    document.setTextWidth(panel.key.width())
    document.size()
    block = document.firstBlock()
    layout = block.layout()
    return [block.text()[layout.lineAt(i).textStart():][:layout.lineAt(i).textLength()]
            for i in range(layout.lineCount())]


def test_a_long_legend_name_is_cut_in_its_middle_on_one_line(qtbot, shown):
    """A name longer than the key's line wrapped onto the next one, among the other curves."""
    panel = shown(SpectrumPanel(), 420, 260)
    e = np.linspace(520.0, 600.0, 100)
    long = ("O K predicted average (2000 sites) at the 532 eV onset, a very long name indeed, "
            "(not scaled: the counts do not follow its shape)")
    for k, label in enumerate(["YAG_O_K_Sigle-Sturm.msa", long, "residual in the window"]):
        panel.add_spectrum(Spectrum(e, np.exp(-0.5 * ((e - 540.0 - k) / 9.0) ** 2), label=label))
    qtbot.waitUntil(panel.key.isVisible, timeout=3000)
    lines = key_lines(panel)
    assert all(line.lstrip()[:2] in ("━━", "╍╍") for line in lines), lines  # each line starts an entry
    (cut,) = [line for line in lines if "O\u00a0K\u00a0predicted" in line]
    assert "…" in cut and cut.rstrip().endswith("shape)")  # its start and its end
    assert long in panel.key.toolTip().splitlines()
    panel.resize(700, 260)  # wider: more of the name
    qtbot.waitUntil(lambda: len(next(t for t in key_lines(panel) if "predicted" in t)) > len(cut), timeout=3000)


def test_a_rising_power_law_is_refused_and_the_spectrum_stays(qtbot, empty_window, tmp_path):
    window = empty_window
    m = opened(qtbot, window, core_loss(tmp_path))
    before = m.current
    m.region.setRegion((531.0, 536.0))  # on the edge: the counts rise
    qtbot.waitUntil(lambda: "531–536 eV" in window.measured_panel.status.text(), timeout=10000)
    assert "Subtract refuses it" in window.measured_panel.status.text()
    (drawn,) = m.curves("background")  # the preview stops where it passes the counts' highest
    assert np.nanmax(drawn.yData) <= np.nanmax(before.intensity)
    with qtbot.waitSignal(window.error_shown, timeout=10000) as refused:
        m.apply_step("powerlaw_background", {"window": (531.0, 536.0), "zero_fill": True})
    text = refused.args[0]
    assert "rise with energy" in text and "Choose another pre-edge window" in text and "Nothing was changed" in text
    assert m.current is before and steps_of(m.current) == []
    assert not m.curves("before")

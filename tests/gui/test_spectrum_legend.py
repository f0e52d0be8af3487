"""The Spectrum panel's legend: in a small panel, eight long entries would cover the curves, so
until the user chooses it shows only when it covers at most half the plot; each curve names
itself on hover."""
import numpy as np

from amorpha.engine.spectra.spectrum import Spectrum
from amorpha.gui.panels.spectrum_panel import SpectrumPanel


def curve(k: int) -> Spectrum:
    e = np.linspace(520.0, 600.0, 400)
    return Spectrum(e, np.exp(-0.5 * ((e - 530.0 - 5 * k) / 3.0) ** 2),
                    label=f"curve {k}: a long label such as the Measured panel gives its curves")


def test_a_legend_too_tall_for_the_panel_hides_until_asked(qtbot):
    panel = SpectrumPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 300)
    panel.show()
    qtbot.waitExposed(panel)
    panel.add_spectrum(curve(0))
    assert panel.legend.isVisible() and panel.legend_button.isChecked()
    assert panel._items[0].curve.toolTip() == curve(0).label
    for k in range(1, 8):
        panel.add_spectrum(curve(k), "predicted")
    assert not panel.legend.isVisible() and not panel.legend_button.isChecked()
    assert "legend hidden to leave the curves room (Legend shows it)" in panel.hint.text()
    panel.legend_button.click()  # the user's choice holds, however tall
    assert panel.legend.isVisible() and "legend hidden" not in panel.hint.text()
    panel.add_spectrum(curve(8), "predicted")
    assert panel.legend.isVisible()
    panel.legend_button.click()
    panel.remove_group("predicted")
    assert not panel.legend.isVisible() and "legend hidden" not in panel.hint.text()

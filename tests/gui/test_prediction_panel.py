"""The Predict panel's layout in the window: a long status line stays within two lines (the whole
message in its tooltip), and the learning curve's axis stays inside the dock at 1500×950."""
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QLabel

from amorpha.gui.panels.prediction_panel import STATUS_LINES

#: the built-in Si K model's summary, as long as the panel shows it
SUMMARY = ("<b>Si K</b> surrogate: Gaussian process per number of bonded O on 450 site spectra from xTB "
           "(qualitative) averaged over 4.6, 4.8, 5, 5.2 and 5.4 Å clusters<br>held-out R² 0.917, cosine "
           "0.980, peak error 0.59 eV (40 sites)<br>energies relative to the Z+1 delta-SCF edge of the free "
           "atom (E - E_edge(atom)); tabulated onset at +0.9 eV on this axis (the predicted a-SiO2 Si K peak "
           "at the measured 1847 eV; onset 1839 eV, EELS Atlas)")
#: a training's message with its skipped sites beside a prediction's: eight lines wrapped whole
LONG = ("Predicted 333 Si sites; click one to add its spectrum. 41 Si sites lie outside the model's domain "
        "(more than 1 domain radius from its training sites): their predictions are extrapolations (Colour "
        "atoms by: distance from training sites). Trained on 24 xTB (qualitative) spectra; tied to a measured "
        "peak like the model it replaces (same calculator settings). The built-in model stays in the Edge "
        "list as Si K (built-in). 3 sites failed and were skipped (the first: SCF did not converge at 300, "
        "1000, 3000 K with or without damping).")


def test_a_long_status_keeps_the_learning_curves_axis_in_view_at_1500_by_950(qtbot, empty_window, monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda prefs: None)
    window, panel = empty_window, empty_window.prediction_panel
    window.resize(1500, 950)
    window.docks["Predict"].raise_()
    panel.summary.setText(SUMMARY)
    panel.status.setText(LONG)
    viewport = window.docks["Predict"].widget().viewport()
    plot = panel.curve_plot

    qtbot.waitExposed(window)
    qtbot.wait(300)  # the docks and the scroll area lay out the new texts
    bottom = plot.mapTo(viewport, QPoint(0, plot.height())).y()
    assert plot.isVisible() and bottom <= viewport.height(), (bottom, viewport.height())
    assert plot.height() >= plot.minimumHeight()
    line = panel.status.fontMetrics().lineSpacing()
    assert panel.status.height() <= STATUS_LINES * line + 2
    assert panel.status.text() == LONG and panel.status.toolTip() == LONG  # the whole message, on hover
    drawn = QLabel.text(panel.status)  # what the label draws: two lines, the second cut short
    assert drawn.count("\n") == STATUS_LINES - 1 and drawn.endswith("…")
    panel.status.setText("Predicted 333 Si sites; click one to add its spectrum.")
    assert panel.status.toolTip() == ""  # nothing cut, nothing to hover for

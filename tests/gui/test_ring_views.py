"""Rings dock tabs: strong rings, density around rings, persistence diagram selecting atoms."""
import os

import numpy as np
import pytest

from amorpha.engine.build.crystals import alpha_quartz

from .test_order_panels import rings, run, show, window  # noqa: F401 (fixture)

pytestmark = pytest.mark.gl
SHOTS = os.environ.get("AMORPHA_SHOTS")  # a folder: save pictures of the tabs there


def _shot(win, name):
    if SHOTS:
        win.grab().save(os.path.join(SHOTS, name))


def test_strong_density_and_homology_tabs(qtbot, window):  # noqa: F811
    show(qtbot, window, alpha_quartz((3, 3, 3)))
    panel = window.rings_panel
    window.docks["Rings"].raise_()
    result = rings(qtbot, window, "strong")
    assert result.definition == "strong" and result.histogram() == {6: 81, 8: 405}
    _shot(window, "rings_strong.png")

    view = panel.density
    panel.tabs.setCurrentWidget(view)
    assert view.button.isEnabled()
    run(qtbot, window, view.button)
    assert view.result is not None and view.result.sizes.tolist() == [6, 8]
    assert view.size.currentData() == 6
    plane = view.plane.image
    assert plane.shape == (61, 61) and np.isfinite(plane).all() and plane.max() > 1
    assert "ρ/ρ₀" in view.clip_note.text() and view.bar.levels()[1] >= 1.0
    view.size.setCurrentIndex(1)
    assert not np.array_equal(view.plane.image, plane)
    _shot(window, "rings_density.png")
    # a new ring search drops the density that belonged to the old one
    rings(qtbot, window, "primitive")
    assert view.result is None and view.plane.image is None

    hom = panel.homology
    panel.tabs.setCurrentWidget(hom)
    assert hom.element.currentText() == "Si"
    assert hom.empty_note.isVisible() and "No diagram yet" in hom.empty_note.textItem.toPlainText()
    run(qtbot, window, hom.button)
    res = hom.result
    assert res is not None and (res.dimension == 1).any() and "loops" in hom.status.text()
    assert not hom.empty_note.isVisible()
    top = res.death[np.isfinite(res.death)].max()  # the view follows the diagram, not the note
    qtbot.waitUntil(lambda: hom.plot.getPlotItem().getViewBox().viewRange()[1][1] >= top, timeout=3000)
    points = hom.scatters[1].points()
    hom._clicked(hom.scatters[1], [points[0]])
    pair = int(points[0].data())
    expected = res.pair_atoms([pair])
    assert np.array_equal(window.viewer.selection, expected)
    assert set(window.atoms.numbers[expected]) == {14}
    _shot(window, "rings_homology.png")
    hom.select_pairs([])
    assert len(window.viewer.selection) == 0


def test_homology_tab_says_how_to_install(qtbot, monkeypatch):
    from amorpha.engine.order import homology
    from amorpha.gui.panels.ring_views import HomologyView

    monkeypatch.setattr(homology, "available", lambda: False)
    view = HomologyView()
    qtbot.addWidget(view)
    assert not view.button.isEnabled() and "pip install" in view.status.text()


def test_density_maps_side_by_side_fit_a_narrow_dock(shown):
    from amorpha.gui.panels.ring_views import CLIP_PERCENTILE, RingDensityView, colour_top

    view = shown(RingDensityView(), 360, 760)
    assert view.minimumSizeHint().width() <= 360 and view.minimumSizeHint().height() <= 760
    plane, side = view.plane_plot.sceneBoundingRect(), view.side_plot.sceneBoundingRect()
    assert abs(plane.top() - side.top()) < 1 and plane.right() <= side.left()  # one row
    assert view.maps.geometry().bottom() < 760
    # a crystal: a few atom-sized peaks far above the rest; the scale tops out below them
    rng = np.random.default_rng(0)
    glass = rng.uniform(0.0, 3.0, (61, 61))
    peaks = np.zeros((61, 61))
    peaks.flat[rng.choice(peaks.size, 20, replace=False)] = 400.0
    top, peak = colour_top(glass, glass + peaks)
    values = np.concatenate([glass.ravel(), (glass + peaks).ravel()])
    assert peak == values.max() and top == np.percentile(values, CLIP_PERCENTILE) and top < 10
    assert colour_top(np.zeros((3, 3))) == (1.0, 0.0)


def test_the_empty_histogram_names_the_models_own_count(qtbot):
    """A model without Si (fcc Cu) before any search: the axis counts all atoms, not Si."""
    from ase.build import bulk

    from amorpha.gui.panels.rings_panel import RingsPanel

    panel = RingsPanel()
    qtbot.addWidget(panel)
    panel.set_elements(bulk("Cu", "fcc", 3.61).numbers)
    assert panel.plot.getPlotItem().getAxis("bottom").labelText == "Ring size (atoms)"
    panel.set_elements(alpha_quartz((1, 1, 1)).numbers)
    assert panel.plot.getPlotItem().getAxis("bottom").labelText == "Ring size (Si)"

"""Highlights that cover many atoms or pairs stay cheap on the GUI thread: a big atom selection is
drawn chunk by chunk with the atoms, a big persistence diagram is a density image whose pairs
can still be clicked."""
import numpy as np
import pytest
from pyqtgraph import Point
from PySide6.QtCore import QPoint, Qt

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.order.homology import HomologyResult
from amorpha.gui.panels import ring_views
from amorpha.gui.panels.ring_views import H_COLOURS, HomologyView
from amorpha.gui.viewer import StructureViewer
from amorpha.gui.viewer import structure_viewer

pytestmark = pytest.mark.gl
SIZE = (480, 360)


def _record_draws(visual):
    """Wrap ``visual.draw_range`` to record the (first, count) of every draw."""
    calls = []
    draw_range = visual.draw_range

    def recording(first, count):
        calls.append((int(first), int(count)))
        draw_range(first, count)

    visual.draw_range = recording
    return calls


def test_a_big_selection_is_drawn_in_chunks_and_looks_the_same(qtbot, shown, monkeypatch):
    # raising=False: the same test runs against a viewer without the limit (it fails there)
    monkeypatch.setattr(structure_viewer, "SELECTION_OVERLAY_MAX", 50, raising=False)
    atoms = alpha_quartz((4, 4, 4))  # 576 atoms
    viewer = shown(StructureViewer(), *SIZE)
    viewer.set_atoms(atoms)
    big = np.arange(0, len(atoms), 2)
    viewer.set_selection(big)
    viewer.set_draw_budget(1e12)
    direct = viewer.render_image()

    viewer.set_draw_budget(60)  # ~15 paints
    calls = _record_draws(viewer.selection_node)
    with qtbot.waitSignal(viewer.render_complete, timeout=30000):
        viewer.canvas.update()
    assert viewer.layer.chunks_drawn > 5
    # no paint outlines the whole selection; the chunks cover it once
    assert calls and max(c for _, c in calls) < len(big) // 2
    assert sum(c for _, c in calls) >= len(big)
    progressive = viewer.render_image()
    diff = np.abs(progressive[..., :3].astype(int) - direct[..., :3]).sum(-1) > 30
    assert diff.mean() < 0.002, diff.mean()
    # a selection this small is an overlay again: changing it keeps the accumulated picture
    viewer.set_selection([3])
    with qtbot.waitSignal(viewer.render_complete, timeout=30000):
        viewer.canvas.update()
    viewer.set_selection([4])
    assert viewer.rendering_complete


def _diagram(n, seed=0):
    """A synthetic diagram: n H1 and n H2 pairs in two clouds, plus one lone long-lived H1 pair
    (the last); pair k's simplices hold atoms k and k + 1."""
    rng = np.random.default_rng(seed)
    birth = np.concatenate([rng.normal(2.5, 0.2, n), rng.normal(8.0, 1.0, n), [6.0]])
    death = birth + np.concatenate([rng.exponential(3.0, n), rng.exponential(1.0, n), [9.0]])
    dimension = np.r_[np.ones(n, np.int64), np.full(n, 2), 1]
    p = len(birth)
    atoms = np.c_[np.arange(p), np.arange(p) + 1, -np.ones((p, 2), np.int64)]
    return HomologyResult(dimension, birth, death, atoms, atoms.copy(), np.ones(p, bool), "Si",
                          True)


def test_a_big_diagram_is_a_density_image_whose_pairs_click(qtbot, shown):
    view = shown(HomologyView(), 500, 500)
    result = _diagram(getattr(ring_views, "SCATTER_MAX", 20_000))  # 2x the limit
    got = []
    view.selection_changed.connect(got.append)
    view.show_result(result)
    assert all(len(item.data) == 0 for item in view.scatters.values())  # no marker objects
    box = view.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: box.viewRange()[1][1] >= result.death.max(), timeout=3000)
    qtbot.wait(100)  # the image follows the view
    image = view.density.image
    assert image is not None and image.dtype == np.uint8 and image[..., 3].any()
    rect = view.density.mapRectToParent(view.density.boundingRect())
    (x0, x1), (y0, y1) = box.viewRange()
    assert np.allclose([rect.left(), rect.right(), rect.top(), rect.bottom()], [x0, x1, y0, y1])

    def click(pair, modifier=Qt.NoModifier):
        scene = box.mapViewToScene(Point(result.birth[pair] + 0.3 * box.viewPixelSize()[0],
                                         result.death[pair]))
        pos = view.plot.mapFromScene(scene)
        qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, modifier, QPoint(pos.x(), pos.y()))

    lone = len(result.birth) - 1
    click(lone)
    assert view.selected_pairs == [lone] and np.array_equal(got[-1], [lone, lone + 1])
    other = int(np.argmax(result.death[:-1] - result.birth[:-1]))  # the farthest of the cloud
    click(other, Qt.ControlModifier)
    assert view.selected_pairs == sorted([lone, other])
    click(lone)  # a plain click replaces them (and leaves Qt's modifier state as it was)
    assert view.selected_pairs == [lone]
    # zooming in re-bins over the new view: finer bins in data units
    width = x1 - x0
    box.setRange(xRange=(2.0, 3.0), yRange=(3.0, 6.0), padding=0)
    qtbot.waitUntil(lambda: view.density.mapRectToParent(view.density.boundingRect()).width()
                    < width / 2, timeout=3000)
    # a small diagram keeps one marker per pair and no image
    view.show_result(_diagram(100))
    assert len(view.scatters[1].data) == 101 and view.density.image is None


def test_density_image_colours_and_opacity():
    birth = np.array([0.5, 0.5, 0.5, 0.5, 2.5, 3.5, 3.5])
    death = np.full(7, 0.5)
    dimension = np.array([1, 1, 1, 1, 1, 1, 2])
    image = ring_views.density_image(birth, death, dimension, (0.0, 4.0), (0.0, 1.0), (1, 4))
    assert image.shape == (1, 4, 4)
    full, empty, lone, tie = image[0]
    assert empty[3] == 0
    # one pair: a pale tint of its dimension's colour; more: more opaque and darker
    assert tuple(lone[:3]) == H_COLOURS[1]
    assert lone[3] == int(255 * ring_views.DENSITY_MIN_ALPHA)
    assert full[3] == 255 and np.all(full[:3] < lone[:3])
    assert np.allclose(full[:3] / lone[:3], 1 - ring_views.DENSITY_DARKEN, atol=0.02)
    # a bin with H1 and H2 alike takes H2's colour (no colour outside the legend)
    assert np.allclose(tie[:3] / np.asarray(H_COLOURS[2]), tie[0] / H_COLOURS[2][0], atol=0.02)
    assert lone[3] < tie[3] < full[3]

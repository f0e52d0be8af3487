"""The Rings panel's size histogram on a log count axis: in a-SiO the one 14-ring stood beside
1,629 6-rings as a bar less than a pixel high."""
import numpy as np
import pytest
from PySide6.QtCore import QPointF

from amorpha.engine.examples import load_example
from amorpha.engine.order.rings import RingParams, compute_rings
from amorpha.gui.panels.rings_panel import RingsPanel

#: Si–O and Si–Si bonds: the suboxide's Si clusters give sizes from 2 to 14 Si.
CUTOFFS = {("Si", "O"): 2.0, ("Si", "Si"): 2.6, ("O", "O"): 0}


@pytest.fixture(scope="module")
def suboxide():
    atoms = load_example("a-SiO")
    return atoms, compute_rings(atoms, RingParams(max_size=24, definition="primitive",
                                                  count_element="Si", cutoffs=CUTOFFS))


@pytest.fixture
def panel(shown, suboxide):
    atoms, result = suboxide
    panel = shown(RingsPanel(), 450, 900)
    panel.set_elements(atoms.numbers)
    panel.show_result(result)
    return panel


def bar_pixels(panel, size):
    """Height on screen (px) of the bar of ``size``."""
    opts, vb = panel.bars.opts, panel.plot.getPlotItem().vb
    height = opts["height"][list(opts["x"]).index(size)]
    bottom = vb.mapViewToScene(QPointF(size, opts["y0"]))
    top = vb.mapViewToScene(QPointF(size, opts["y0"] + height))
    return bottom.y() - top.y()


def test_one_ring_beside_a_thousand_shows_on_a_log_axis(panel, suboxide):
    hist = suboxide[1].histogram()
    assert hist[14] == 1 and hist[6] > 1000
    assert not panel.log_counts.isChecked() and bar_pixels(panel, 14) < 1  # the audit's invisible bar
    panel.log_counts.setChecked(True)
    plot_height = panel.plot.getPlotItem().vb.height()
    assert bar_pixels(panel, 14) > 0.05 * plot_height and bar_pixels(panel, 6) > 0.8 * plot_height
    left = panel.plot.getPlotItem().getAxis("left")
    assert left.logMode and [text for _, text in left._tickLevels[0]] == ["1", "10", "100", "1,000"]
    panel.log_counts.setChecked(False)  # back to counts as they are
    assert not left.logMode and left._tickLevels is None
    assert list(panel.bars.opts["height"]) == [hist[s] for s in sorted(hist)]


def test_a_small_bar_on_the_log_axis_is_clicked(panel, qtbot):
    """The click test compared the cursor with the count: on a log axis the 1-ring bar lies
    between log 0.5 and log 1, below 0, and could not be clicked."""
    panel.log_counts.setChecked(True)
    vb = panel.plot.getPlotItem().vb
    inside = vb.mapViewToScene(QPointF(14, np.log10(0.7)))  # within the bar, below log 1 = 0

    class Click:
        def scenePos(self):
            return inside

    panel._plot_clicked(Click())
    assert panel.selected_size == 14 and len(panel.selected_rings) == 1


def test_a_size_without_rings_is_an_empty_bar_not_minus_infinity():
    from amorpha.gui.panels.rings_panel import bar_extent

    bottom, tops = bar_extent([0, 1, 581], log=True)
    assert np.isfinite(tops).all() and tops[0] == bottom < tops[1] < tops[2]
    assert bar_extent([0, 1, 581], log=False)[1].tolist() == [0, 1, 581]

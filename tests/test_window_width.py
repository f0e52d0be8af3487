"""The window fits a 1024-pixel-wide screen: no right-hand dock asks for more than about 400 px,
no panel is cut at the narrowest, and the tabbed docks' titles are whole (scrolled, not elided)."""
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QDockWidget, QTabBar

pytestmark = pytest.mark.gl


@pytest.fixture
def window(qtbot):
    from amorpha.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.cancel_all()
    win.runner.wait(5000)


def dock_tab_bars(window):
    return [bar for bar in window.findChildren(QTabBar, options=Qt.FindDirectChildrenOnly) if bar.count()]


def test_window_fits_a_1024_screen_and_no_panel_is_cut(qtbot, window):
    assert window.minimumSizeHint().width() <= 1000
    widths = {title: dock.widget().minimumWidth() for title, dock in window.docks.items()}
    assert max(widths.values()) <= 400, widths
    window.resize(window.minimumSizeHint().width(), 760)
    for title, dock in window.docks.items():
        dock.raise_()
        qtbot.wait(50)
        area = dock.widget()  # the scroll area: no horizontal scroll bar, so wider would be cut
        assert area.widget().width() <= area.viewport().width(), title
    assert window.gb_panel.plots.direction() == QBoxLayout.TopToBottom  # too narrow side by side


def test_a_shown_model_does_not_widen_its_panel_past_the_dock(qtbot, window):
    """The Structure panel's summary grows with the model (its source, build facts): at 1024 px
    it must wrap, not push the panel under the window's edge."""
    from amorpha.engine.build.crystals import beta_cristobalite

    window.resize(1024, 700)
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((2, 2, 2)), "example: a-SiO2 (3000 atoms, WWW network) melt-quench")
    qtbot.wait(100)
    area = window.docks["Structure"].widget()
    assert area.widget().width() <= area.viewport().width()


def test_gb_plots_side_by_side_in_a_wide_dock(qtbot, window):
    window.resize(1600, 1000)
    window.docks["GB Search"].raise_()
    window.resizeDocks([window.docks["GB Search"]], [560], Qt.Horizontal)
    qtbot.waitUntil(lambda: window.gb_panel.plots.direction() == QBoxLayout.LeftToRight)
    area = window.docks["GB Search"].widget()
    assert area.widget().width() <= area.viewport().width()


def test_dock_tab_titles_are_whole_also_in_new_tab_groups(qtbot, window):
    (bar,) = dock_tab_bars(window)
    assert [bar.tabText(k) for k in range(bar.count())] == list(window.docks)
    assert bar.elideMode() == Qt.ElideNone and bar.usesScrollButtons()
    # a dock put with another into a new tab group gets a new tab bar from QMainWindow (eliding)
    view = window.findChild(QDockWidget, "View")
    gb = window.docks["GB Search"]
    window.removeDockWidget(gb)
    window.addDockWidget(Qt.LeftDockWidgetArea, gb)
    gb.show()
    window.tabifyDockWidget(view, gb)
    qtbot.waitUntil(lambda: any("View" in [b.tabText(k) for k in range(b.count())] and b.isVisible()
                                for b in dock_tab_bars(window)))
    for bar in dock_tab_bars(window):
        assert bar.elideMode() == Qt.ElideNone, [bar.tabText(k) for k in range(bar.count())]

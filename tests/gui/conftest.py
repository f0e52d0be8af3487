"""Fixtures the GUI tests share."""
import pytest


@pytest.fixture
def empty_window(qtbot):
    """A shown main window (1400×900) with no model loaded yet; its tasks stop at the end."""
    from amorpha.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    win.runner.cancel_all()
    win.runner.wait(5000)


@pytest.fixture
def shown(qtbot):
    """``shown(widget, width, height)``: the widget on screen at that size, owned by the test."""
    def show(widget, width, height):
        qtbot.addWidget(widget)
        widget.resize(width, height)
        widget.show()
        qtbot.waitExposed(widget)
        return widget
    return show

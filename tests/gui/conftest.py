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


@pytest.fixture
def reopen(qtbot):
    """``reopen(path)``: a second window with the project at ``path`` opened in it."""
    from amorpha.gui.main_window import MainWindow

    windows = []

    def open_in_new_window(path):
        other = MainWindow()
        qtbot.addWidget(other)
        other.resize(1400, 900)
        other.show()
        windows.append(other)
        with qtbot.waitSignal(other.project.restored, timeout=60000):
            other.open_path(str(path))
        qtbot.waitUntil(lambda: other.task_status.current() is None, timeout=30000)
        return other

    yield open_in_new_window
    for other in windows:
        other.runner.cancel_all()
        other.runner.wait(5000)

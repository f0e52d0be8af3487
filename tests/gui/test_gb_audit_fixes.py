"""The GB Search panel after the second GB audit: the oracle starts on the CLI's choice (the
fastest installed), a scheduler address where a web server listens is a dialog within seconds and
the worker thread ends, and virtual screening learns only from comparable boundaries (same
crystal, axis and kind), says what it learnt from, and falls back to random order otherwise."""
import socket
import threading

import pytest
from PySide6.QtCore import QThreadPool

from .test_gb_panel import run, tiny


@pytest.fixture
def window(empty_window, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no evaluations from earlier runs
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)
    return empty_window


@pytest.mark.parametrize("status, expected", [({"emt": True, "asap": False, "eam": True}, "eam"),
                                              ({"emt": True, "asap": True, "eam": False}, "asap"),
                                              ({"emt": True, "asap": False, "eam": False}, "emt")])
def test_the_oracle_starts_on_the_fastest_installed_as_the_cli_does(qtbot, monkeypatch, status, expected):
    from amorpha.gui.panels import gb_panel

    monkeypatch.setattr(gb_panel, "oracle_status", lambda: status)
    panel = gb_panel.GbPanel()
    qtbot.addWidget(panel)
    assert panel.oracle.value() == expected


def test_a_web_server_as_scheduler_is_a_dialog_and_the_worker_ends(qtbot, window):
    server = socket.socket()  # takes connections and waits for a request, as http.server does
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    panel, gb = window.gb_panel, window.gb_search
    tiny(panel, budget=2)
    panel.use_dask.setChecked(True)
    panel.scheduler.setText(f"tcp://127.0.0.1:{server.getsockname()[1]}")
    with qtbot.waitSignal(window.error_shown, timeout=15000) as error:
        gb.run()
    assert "is not a Dask scheduler" in error.args[0] and ":8787" in error.args[0]
    qtbot.waitUntil(lambda: not gb.busy, timeout=5000)
    qtbot.waitUntil(lambda: QThreadPool.globalInstance().activeThreadCount() == 0
                    and window.runner.wait(100), timeout=5000)
    assert panel.run_button.isEnabled()
    server.close()


def test_screening_learns_only_from_comparable_boundaries_and_says_so(qtbot, window):
    panel, gb = window.gb_panel, window.gb_search
    tiny(panel, plane=(2, 1, 0))  # Cu Σ5(210) [001] tilt
    assert run(qtbot, window) == "done"

    tiny(panel, strategy="screening", budget=2)  # Σ5(310): the same family
    assert run(qtbot, window) == "done"
    assert gb.result.strategy == "screening"
    assert "Screening trained on Cu Σ5(210) tilt (6 relaxed)" in panel.status.text()

    # Σ5 (001) twist: another kind; [001] tilts ranked the twin worse than chance
    panel.kind.set_value("twist")
    panel.table.select(5, (3, 1, 0))  # the Σ5 row; a twist's plane is the axis
    panel.dx.setValue(50.0)
    panel.dy.setValue(50.0)
    panel.strategy.set_value("screening")
    panel.budget.setValue(1)
    errors = []
    window.error_shown.connect(errors.append)
    assert run(qtbot, window) == "done", errors
    assert gb.result.candidates.boundary.kind == "twist" and gb.result.strategy == "random"
    assert "No Cu [001] twist boundary was searched" in panel.status.text()
    assert "random order" in panel.status.text()

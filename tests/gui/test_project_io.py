"""Projects in the window: save and reopen what is on screen; a crash leaves a recovery file that
the next start offers to restore."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.engine.order.rings import RingParams
from amorpha.gui.project_io import recovery_path

ENERGY = np.linspace(1830, 1870, 81)


def show(qtbot, window, atoms):
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(atoms, "cristobalite")


def test_save_and_reopen_what_is_on_screen(qtbot, empty_window, tmp_path):
    from amorpha.gui.main_window import MainWindow

    window = empty_window
    show(qtbot, window, beta_cristobalite((2, 2, 2)))
    with qtbot.waitSignal(window.model_ready, timeout=30000):  # the Bonds table as edited and applied
        window.set_cutoffs({**window.cutoff_overrides, (8, 14): 2.0, (14, 14): 0.0})
    measured = tmp_path / "measured.csv"
    np.savetxt(measured, np.column_stack([ENERGY, np.exp(-0.5 * ((ENERGY - 1847) / 2) ** 2)]), delimiter=",")
    with qtbot.waitSignal(window.measured.changed, timeout=60000):  # not any task's end
        window.open_spectrum(str(measured))
    with qtbot.waitSignal(window.rings_panel.result_shown, timeout=60000):
        window.compute_rings(RingParams(definition="primitive", max_size=12))
    window.rings_panel.select_size(12)  # the bar of 12-rings (6 Si + 6 O), highlighted in the viewer
    order = window.order_panel
    order.l_value.setValue(6)
    order.steinhardt_button.click()
    qtbot.waitUntil(lambda: "q6" in order.values, timeout=60000)
    window.view_panel.set_color_key("coordination")
    window.select_atom(3)
    window.prediction_panel.show_feature("peak_energy")  # the atoms follow it once predicted
    path = tmp_path / "work.amorpha"
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        window.project.save(str(path))

    other = MainWindow()
    qtbot.addWidget(other)
    other.show()
    with qtbot.waitSignal(other.project.restored, timeout=60000):
        other.open_path(str(path))  # a project opens through File › Open like any file
    try:
        for name in window.atoms.arrays:
            np.testing.assert_array_equal(other.atoms.arrays[name], window.atoms.arrays[name])
        (spectrum,) = other.spectrum_panel.group("measured")
        np.testing.assert_array_equal(spectrum.intensity, window.spectrum_panel.group("measured")[0].intensity)
        a, b = window.rings_panel.result, other.rings_panel.result
        assert b.n_rings == a.n_rings and b.histogram() == a.histogram() != {}
        assert other.view_panel.color_key() == "coordination"
        assert other.cutoff_overrides == window.cutoff_overrides and other.cutoff_overrides[(8, 14)] == 2.0
        row = other.structure_panel._pairs.index((8, 14))
        assert other.structure_panel.cutoff_table.cellWidget(row, 1).value() == 2.0
        assert other.prediction._picked == 3
        assert other.prediction_panel.feature_key() == "peak_energy"
        # what was drawn from those results comes back too: the highlighted bar, the q6 histogram
        assert other.rings_panel.selected_size == 12
        np.testing.assert_array_equal(other.rings_panel.selected_atoms, window.rings_panel.selected_atoms)
        assert len(other.rings_panel.selected_atoms) > 0
        assert other.order_panel.value_key() == "q6"
        assert other.order_panel.value_note.text() == order.value_note.text() != ""
    finally:
        other.runner.cancel_all()
        other.runner.wait(5000)


def test_a_trajectory_gets_its_other_frames_back_from_its_file(qtbot, empty_window, tmp_path):
    """A project keeps the frame shown and where the trajectory file is: reopened, the slider is
    back at that frame and the other frames are read from the file; a file that is gone or has
    other frames leaves the saved frame, and the status bar says so."""
    from ase.io import write

    from amorpha.gui.main_window import MainWindow

    window = empty_window
    frames = []
    for k in range(3):
        atoms = beta_cristobalite((1, 1, 1))
        atoms.positions += 0.1 * k
        frames.append(atoms)
    movie = tmp_path / "movie.extxyz"
    write(movie, frames)
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.open_path(str(movie))
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.frames.slider.setValue(1)
    path = tmp_path / "movie.amorpha"
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        window.project.save(str(path))

    def reopen():
        other = MainWindow()
        qtbot.addWidget(other)
        other.show()
        with qtbot.waitSignal(other.project.restored, timeout=60000):
            other.open_path(str(path))
        qtbot.waitUntil(lambda: other.task_status.current() is None, timeout=30000)
        return other

    other = reopen()
    try:
        assert len(other.trajectory) == 3 and other.frame == 1 and other.frames.spin.value() == 2
        np.testing.assert_allclose(other.atoms.positions, frames[1].positions, atol=1e-7)
        with qtbot.waitSignal(other.model_ready, timeout=60000):
            other.frames.slider.setValue(2)  # read from the file
        np.testing.assert_allclose(other.atoms.positions, frames[2].positions, atol=1e-7)
    finally:
        other.runner.cancel_all()
        other.runner.wait(5000)

    write(movie, frames[:2])  # the file changed since: the saved frame alone
    other = reopen()
    try:
        assert other.trajectory is None and not other.frames.isVisible()
        np.testing.assert_allclose(other.atoms.positions, frames[1].positions, atol=1e-7)
        assert "now has 2 frames, not the 3" in other.statusBar().currentMessage()
    finally:
        other.runner.cancel_all()
        other.runner.wait(5000)

    movie.unlink()
    other = reopen()
    try:
        assert other.trajectory is None
        assert other.statusBar().currentMessage().startswith("The other frames of movie.extxyz are not available")
    finally:
        other.runner.cancel_all()
        other.runner.wait(5000)


def test_damaged_project_is_refused_and_nothing_changes(qtbot, empty_window, tmp_path):
    window = empty_window
    show(qtbot, window, beta_cristobalite((1, 1, 1)))
    bad = tmp_path / "bad.amorpha"
    bad.write_bytes(b"PK\x03\x04 not really")
    before = bad.read_bytes()
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.open_path(str(bad))
    assert "bad.amorpha" in blocker.args[0]
    assert bad.read_bytes() == before and window.source == "cristobalite"


@pytest.mark.gl
def test_after_a_crash_the_next_start_offers_the_autosaved_work(qtbot, tmp_path):
    from amorpha.gui.main_window import MainWindow

    env = dict(os.environ, AMORPHA_AUTOSAVE_SECONDS="1")
    recovery = recovery_path()
    recovery.unlink(missing_ok=True)
    app = subprocess.Popen([sys.executable, "-m", "amorpha.gui"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while not recovery.is_file() and time.monotonic() < deadline and app.poll() is None:
            time.sleep(0.5)
        assert recovery.is_file(), app.stderr.read().decode() if app.poll() is not None else "no autosave"
        time.sleep(1.5)  # let one more autosave finish: the rename is atomic, either is whole
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(10)
    assert recovery.is_file()  # a crash does not clean up

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    try:
        assert window.project.offer_recovery()
        box = window.findChild(QMessageBox, "recovery-question")
        with qtbot.waitSignal(window.project.restored, timeout=60000):
            box.button(QMessageBox.Yes).click()
        assert window.atoms is not None and len(window.atoms) == 3000  # the a-SiO2 example
    finally:
        window.runner.cancel_all()
        window.runner.wait(5000)
        window.project.clean_exit()
    assert not recovery.is_file()


def test_autosave_writes_only_when_something_changed(qtbot, empty_window):
    window = empty_window
    show(qtbot, window, beta_cristobalite((1, 1, 1)))
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        assert window.project.autosave() is not None
    assert window.project.autosave() is None  # same model, same results: nothing to write
    window.select_atom(2)
    with qtbot.waitSignal(window.project.saved, timeout=30000):
        assert window.project.autosave() is not None
    saved = window.project.snapshot().structures["model"]
    assert saved.arrays["positions"] is window.atoms.arrays["positions"]  # no copy on the GUI thread

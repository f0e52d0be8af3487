"""The window as a user meets it: open, look, click, save, and survive bad files."""
import time

import numpy as np
import pytest
from ase.io import read, write
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.build.polycrystal import PolycrystalParams, build_polycrystal
from amorpha.gui.main_window import MainWindow

from random_silica import random_silica

from .slowed import slowed
from .stall_monitor import WINDOW_FROZEN_S, least_stalled

pytestmark = pytest.mark.gl


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    with qtbot.waitSignal(win.model_ready, timeout=60000):
        win.show_example("alpha-quartz")
    yield win
    win.runner.cancel_all()
    win.runner.wait(5000)


def open_and_wait(qtbot, win, path, timeout=60000):
    with qtbot.waitSignal(win.model_ready, timeout=timeout):
        win.open_path(str(path))


def test_default_model_shows_quartz_with_bonds(window):
    assert window.viewer.n_atoms == 576
    cn = window.atoms.arrays["coordination"]
    si = window.atoms.numbers == 14
    assert np.all(cn[si] == 4) and np.all(cn[~si] == 2)
    assert window.bond_list.n_pairs == 2 * 4 * 192
    assert "coordination" in window.view_panel.color_keys()
    combo = window.view_panel.color_combo  # the list shows titles, the keys stay behind them
    assert combo.itemText(window.view_panel.color_keys().index("coordination")) == "Coordination number"


def test_open_extxyz_offers_its_arrays_for_colouring(qtbot, window, tmp_path):
    atoms = alpha_quartz((2, 2, 2))
    atoms.arrays["height"] = atoms.positions[:, 2].copy()
    write(tmp_path / "q.extxyz", atoms)
    open_and_wait(qtbot, window, tmp_path / "q.extxyz")
    assert window.viewer.n_atoms == len(atoms)
    choices = window.view_panel.color_keys()
    assert "height" in choices and "coordination" in choices
    window.view_panel.set_color_key("height")  # colours via the viewer, no error
    assert window.view_panel.color_combo.currentText() == "height"  # not one of ours: its key is its title
    assert window.last_error == ""


def test_click_selection_shows_neighbourhood(window):
    window.select_atom(0)
    text = window.structure_panel.atom_info.toPlainText()
    assert "Si" in text and "index 0" in text and "bonded neighbours: 4" in text
    assert "1.60" in text  # Si-O distance in quartz, 1.604-1.614 A


def test_save_as_keeps_per_atom_results(qtbot, window, tmp_path):
    out = tmp_path / "saved.extxyz"
    with qtbot.waitSignal(window.runner.task_finished, timeout=30000,
                          check_params_cb=lambda task, state: task.label.startswith("Saving")):
        window.save_as(str(out))
    back = read(out)
    assert np.array_equal(back.arrays["coordination"], window.atoms.arrays["coordination"])
    assert np.allclose(back.positions, window.atoms.positions)


def _write_bad(tmp_path, kind):
    path = tmp_path / {"unknown": "model.foo", "random": "noise.xyz"}.get(kind, f"{kind}.xyz")
    if kind == "empty":
        path.write_text("")
    elif kind == "truncated":
        path.write_text("5\ncomment\nSi 0 0 0\nO 1 0 0\n")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "unknown":
        path.write_text("this is not a structure\n")
    elif kind == "nan":
        path.write_text("2\ncomment\nSi 0 0 0\nO nan 0 0\n")
    elif kind == "zero_volume":
        path.write_text(
            '2\nLattice="5 0 0 0 5 0 0 0 0" Properties=species:S:1:pos:R:3 pbc="T T T"\n'
            "Si 0 0 0\nO 1 0 0\n"
        )
    return path


@pytest.mark.parametrize("kind", ["empty", "truncated", "random", "unknown", "nan", "zero_volume"])
def test_bad_file_shows_error_and_keeps_model(qtbot, window, tmp_path, kind):
    before = window.atoms
    path = _write_bad(tmp_path, kind)
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        window.open_path(str(path))
    message = blocker.args[0]
    assert path.name in message, message
    assert window.atoms is before and window.viewer.n_atoms == len(before)
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes, "the error must be shown in a dialog"
    for box in boxes:
        box.close()


def test_huge_file_asks_before_reading(qtbot, window, tmp_path):
    path = tmp_path / "huge.xyz"
    with open(path, "wb") as fh:
        fh.truncate(2 * 1024**3)  # sparse: 2 GB on paper, nothing on disk
    before = window.atoms
    window.open_path(str(path))
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert len(boxes) == 1 and "GB" in boxes[0].text()
    def reading():  # silent background work (the start-up warm-up) may still run
        return [h for h in window.runner.running if not h.label.startswith("_")]

    assert reading() == []
    boxes[0].button(QMessageBox.Cancel).click()
    qtbot.wait(100)
    assert window.atoms is before and reading() == []


def test_trajectory_frames(qtbot, window, tmp_path):
    frames = []
    for k in range(3):
        atoms = alpha_quartz((1, 1, 1))
        atoms.positions[0, 0] += 0.1 * k
        frames.append(atoms)
    write(tmp_path / "traj.extxyz", frames)
    open_and_wait(qtbot, window, tmp_path / "traj.extxyz")
    assert window.frames.isVisible() and window.frames.slider.maximum() == 2
    window.view_panel.set_color_key("coordination")  # as a user picks it
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        window.frames.slider.setValue(2)
    assert window.frame == 2 and window.frames.spin.value() == 3  # "3 of 3", as the panel says
    assert window.atoms.positions[0, 0] == pytest.approx(frames[2].positions[0, 0])
    # the new frame's coordination arrives after it: the colouring asked for comes back with it
    qtbot.waitUntil(lambda: window.view_panel.color_key() == "coordination", timeout=30000)
    assert window.viewer.colorbar.info[3] == "Coordination number"
    window.frames.spin.setValue(1)
    qtbot.waitUntil(lambda: window.frame == 0, timeout=30000)


def test_a_frame_that_cannot_be_read_puts_the_slider_back(qtbot, window, tmp_path):
    """Frame 2 of 3 holds a NaN: the dialog names it, frame 1 stays shown, and the slider and box
    go back to frame 1 (they stayed on the frame that failed, beside frame 1's atoms)."""
    good = "2\nframe\nSi 0 0 0\nO 1.6 0 0\n"
    path = tmp_path / "bad_frame.xyz"
    path.write_text(good + "2\nframe\nSi 0 0 0\nO nan 0 0\n" + good)
    open_and_wait(qtbot, window, path)
    assert window.frames.slider.maximum() == 2
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        window.frames.slider.setValue(1)
    assert "Reading frame 2 failed" in blocker.args[0]
    assert window.frame == 0 and window.frames.slider.value() == 0 and window.frames.spin.value() == 1
    for box in [b for b in window.findChildren(QMessageBox) if b.isVisible()]:
        box.close()


def test_spectrum_opens_and_bad_spectrum_is_reported(qtbot, window, tmp_path):
    good = tmp_path / "edge.csv"
    energy = np.linspace(520, 560, 200)
    np.savetxt(good, np.column_stack([energy, np.exp(-((energy - 535) / 3) ** 2)]), delimiter=",",
               header="energy,intensity")
    with qtbot.waitSignal(window.measured.changed, timeout=60000):  # not any task's end
        window.open_spectrum(str(good))
    assert len(window.spectrum_panel.spectra) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("energy,intensity\n1,2\n3,4\n5,oops\n")
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.open_spectrum(str(bad))
    assert "bad.csv, line 4" in blocker.args[0]
    assert len(window.spectrum_panel.spectra) == 1


def test_drop_a_file_opens_it(qtbot, window, tmp_path):
    write(tmp_path / "dropped.xyz", alpha_quartz((1, 1, 2)))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "dropped.xyz"))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        window.dropEvent(event)
    assert window.viewer.n_atoms == 18
    assert window.recent_menu.actions()[0].text().endswith("dropped.xyz")


def write_big_xyz(path, n, seed=0):
    """An a-SiO2-like random model (2.2 g/cm3) written fast with numpy."""
    numbers, pos, box = random_silica(n, seed)
    species = np.where(numbers == 14, "Si", "O")
    with open(path, "w") as fh:
        fh.write(f'{n}\nLattice="{box} 0 0 0 {box} 0 0 0 {box}" Properties=species:S:1:pos:R:3 pbc="T T T"\n')
        np.savetxt(fh, np.column_stack([species, pos.astype(str)]), fmt="%s")
    return box


def assert_never_frozen(qtbot, window, start, what: str, n_atoms: int) -> None:
    """Run ``start()`` (which makes a model of ``n_atoms``) and check the GUI thread never stalls
    (:func:`least_stalled`), once the start-up compile is over (a cold numba cache takes ~1 min in
    a fresh clone)."""
    qtbot.waitUntil(lambda: window.warm_up_task.finished, timeout=300000)

    def run():
        with qtbot.waitSignal(window.model_ready, timeout=300000):
            start()
        qtbot.waitUntil(lambda: window.viewer.rendering_complete, timeout=60000)
        assert window.viewer.n_atoms == n_atoms

    best = least_stalled(run, what, frozen_s=WINDOW_FROZEN_S)
    assert best.worst < WINDOW_FROZEN_S, best.report()


@pytest.mark.slow
def test_million_atoms_never_freeze_the_gui(qtbot, window, tmp_path):
    path = tmp_path / "million.extxyz"
    write_big_xyz(path, 1_000_000)
    assert_never_frozen(qtbot, window, lambda: window.open_path(str(path)), "loading 1e6 atoms", 1_000_000)


@pytest.mark.slow
def test_building_a_million_atom_polycrystal_never_freezes_the_gui(qtbot, window):
    params = PolycrystalParams("Cu", box=(230.0, 230.0, 230.0), n_grains=20, seed=3)
    n = len(build_polycrystal(params))  # the exact count after thinning, for the check
    assert n >= 1_000_000
    started = time.monotonic()
    assert_never_frozen(qtbot, window, lambda: window.build_model(build_polycrystal, params),
                        "building a 1e6-atom Cu polycrystal", n)
    assert time.monotonic() - started < 120  # two builds at most, each well under 60 s
    assert window.atoms.info["n_grains"] == 20


def test_the_file_opened_last_is_shown(qtbot, window, tmp_path, monkeypatch):
    """A slow file, then a quick one: the slow one is given up (a file viewer shows what was
    asked for last), and the quick one stays shown."""
    import amorpha.gui.main_window as main_window

    slow, quick = tmp_path / "slow.extxyz", tmp_path / "quick.extxyz"
    write(slow, alpha_quartz((1, 1, 1)))
    write(quick, alpha_quartz((2, 1, 1)))
    monkeypatch.setattr(main_window, "open_structure",
                        slowed(main_window.open_structure, when=lambda path, **kw: "slow" in str(path)))
    with qtbot.waitSignal(window.runner.task_finished, timeout=30000,
                          check_params_cb=lambda task, state: "slow" in task.label) as given_up:
        window.open_path(str(slow))
        open_and_wait(qtbot, window, quick)
    assert given_up.args[1] == "cancelled"
    qtbot.wait(200)
    assert window.source.endswith("quick.extxyz") and window.viewer.n_atoms == 2 * 9


@pytest.mark.slow
def test_cancel_a_load_keeps_the_old_model(qtbot, window, tmp_path):
    path = tmp_path / "big.extxyz"
    write_big_xyz(path, 600_000, seed=1)
    before = window.atoms
    window.open_path(str(path))
    qtbot.wait(300)
    t0 = time.monotonic()
    with qtbot.waitSignal(window.runner.task_finished, timeout=5000) as blocker:
        window.task_status.cancel_current()
    assert blocker.args[1] == "cancelled"
    assert time.monotonic() - t0 < 0.5
    assert window.atoms is before


def test_a_long_task_message_is_shortened_in_the_middle(empty_window):
    """The status bar's task label has a fixed width: what runs and how far it is both stay in
    sight, the whole message in the tooltip."""
    status = empty_window.task_status
    text = ("Searching primitive rings of up to 12 atoms: 1234567 of 2345678 paths from 4321 of "
            "8642 atoms, SCF at 5000 K")
    status._say(text)
    shown = status.label.text()
    assert status.label.toolTip() == text and "…" in shown
    assert shown.startswith("Searching") and shown.endswith("5000 K")


def test_an_idle_status_bar_gives_its_messages_the_whole_width(qtbot, empty_window):
    """The task label, progress bar and Cancel show only while a task runs; idle, a message has
    the status bar's whole width (at 1280 px it was cut after ~90 characters, without "…"); the
    status bar keeps its height, so the window is not laid out again at each task."""
    import threading

    window = empty_window
    qtbot.waitUntil(lambda: window.task_status.current() is None, timeout=30000)
    bar = window.statusBar()
    idle_height = bar.height()
    assert not window.task_status.isVisible()
    release = threading.Event()
    handle = window.runner.submit("Waiting", lambda progress, cancel: release.wait(5))
    qtbot.waitUntil(window.task_status.isVisible, timeout=5000)
    assert window.task_status.cancel_button.isVisible() and bar.height() == idle_height
    release.set()
    qtbot.waitUntil(lambda: handle.finished, timeout=5000)
    qtbot.waitUntil(lambda: not window.task_status.isVisible(), timeout=5000)
    assert bar.height() == idle_height


def test_an_export_that_cannot_be_written_says_so(qtbot, window, tmp_path, monkeypatch):
    """File › Export Image and Order › Export CSV into a folder that does not exist: a dialog
    naming the file, no traceback, nothing else changed."""
    from PySide6.QtWidgets import QFileDialog

    target = str(tmp_path / "no such folder" / "view.png")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (target, ""))
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.export_image_dialog()
    assert blocker.args[0].startswith("Export image failed.") and "no such folder" in blocker.args[0]
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.order_panel.export_csv_dialog()  # nothing computed yet: says that
    assert "Export plot data failed." in blocker.args[0] and "compute a distribution first" in blocker.args[0]


def test_an_error_is_one_line_in_the_status_bar_and_whole_in_the_dialog(qtbot, empty_window):
    """The status bar showed the dialog's whole text, blank lines and all, in one long row."""
    window = empty_window
    text = ("Open structure failed.\n\nbad.xyz, line 4: could not convert 'oops' to a number. "
            "Each line of atoms needs 4 columns (element, x, y, z); it has 3.\n\nNothing was changed.")
    with qtbot.waitSignal(window.error_shown, timeout=5000) as blocker:
        window.show_error("Open structure", text)
    assert blocker.args[0] == text and window.last_error == text  # the whole text, as before
    (box,) = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert box.text() == text
    box.close()
    # the heading and the first line of the reason; its first sentence when that is too long
    assert window.statusBar().currentMessage() == (
        "Open structure failed: bad.xyz, line 4: could not convert 'oops' to a number.")

    line = MainWindow.status_line
    assert line("Open or build a model first: it is the host.") == \
        "Open or build a model first: it is the host."
    assert line("KMC at 0 K failed.\n\ntemperature: must be above 0 K") == \
        "KMC at 0 K failed: temperature: must be above 0 K"
    long = "The hop network of Cu does not percolate: " + "no cluster of paths spans it " * 8
    short = line(long)
    assert len(short) <= 120 and short.endswith("…") and "\n" not in short
    assert long.startswith(short[:-1]) and not short[:-1].endswith(" ")  # cut at a word


def test_apply_cutoffs_rebuilds_the_bonds_with_the_table_as_edited(qtbot, empty_window):
    """Si–O switched off in the Bonds table and applied: α-quartz has no bonds left and every
    atom a coordination of 0; the table's values reach the window (a Qt dict signal would turn
    their (Z1, Z2) keys into an empty dict, and the defaults would silently come back)."""
    from PySide6.QtWidgets import QPushButton

    window = empty_window
    quartz = alpha_quartz().repeat((2, 2, 2))
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        window.set_model(quartz, "α-quartz")
    assert window.bond_list.counts().sum() == 2 * 4 * len(quartz) // 3  # each Si four Si–O bonds
    panel = window.structure_panel
    panel.cutoff_table.cellWidget(panel._pairs.index((8, 14)), 1).setValue(0.0)
    apply = next(b for b in panel.findChildren(QPushButton) if b.text() == "Apply cutoffs")
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        apply.click()
    assert window.cutoff_overrides[(8, 14)] == 0.0 and window.bond_list.counts().sum() == 0
    assert panel.cutoff_table.item(panel._pairs.index((8, 14)), 2).text() == "0"


def test_a_cancelled_cutoff_change_keeps_the_cutoffs_in_effect(qtbot, empty_window, monkeypatch):
    """A new cutoff becomes the one in effect (read by angles, xTB clusters and saved projects)
    only with the bonds it gives: cancelled while the bonds are searched, the old cutoff and the
    old bonds stay together (the 10 Å cutoff stayed in effect beside the 3.17 Å bonds shown)."""
    import amorpha.gui.main_window as main_window

    from .slowed import slowed

    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        window.set_model(alpha_quartz().repeat((2, 2, 2)), "α-quartz")
    before, bonds_before = dict(window.cutoff_overrides), window.bond_list
    monkeypatch.setattr(main_window, "bonds", slowed(main_window.bonds, 2.0))
    window.set_cutoffs({**before, (8, 14): 3.0})
    qtbot.waitUntil(lambda: any(h.label == "Finding bonds" for h in window.runner.running), timeout=5000)
    window.task_status.cancel_current()
    qtbot.waitUntil(lambda: not any(h.label == "Finding bonds" for h in window.runner.running), timeout=5000)
    assert window.cutoff_overrides == before and window.bond_list is bonds_before
    window.set_cutoffs({**before, (8, 14): 3.0})  # not cancelled: in effect with its bonds
    qtbot.waitUntil(lambda: window.cutoff_overrides.get((8, 14)) == 3.0, timeout=10000)
    assert window.bond_list is not bonds_before


def test_duplicated_atoms_are_pointed_out_beside_the_bonds(qtbot, empty_window):
    """Atoms written twice at one place opened as "4 atoms, 6 bonds" without a word: the Bonds
    box says how many pairs overlap; a sound model has no such note."""
    from ase import Atoms

    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        window.set_model(alpha_quartz(), "α-quartz")
    assert "⚠" not in window.structure_panel.bond_note.text()
    doubled = Atoms("SiOSiO", positions=[[0, 0, 0], [1.6, 0, 0], [0, 0, 0], [1.6, 0, 0]])
    with qtbot.waitSignal(window.model_ready, timeout=30000):
        window.set_model(doubled, "doubled")
    assert "2 pairs of atoms closer than 0.5 Å: duplicated atoms?" in window.structure_panel.bond_note.text()


def test_the_coordination_table_makes_room_for_its_scroll_bar_only_when_it_has_one(qtbot, empty_window):
    """CN 0…13 of a polycrystal: the horizontal scroll bar covered the row (no room was kept for
    it); silica's five columns have none, and no empty band is left below the rows."""
    empty_window.docks["Structure"].raise_()
    panel = empty_window.structure_panel
    table = panel.cn_table

    def shown(numbers, coordination):
        panel.show_coordination(np.asarray(numbers), np.asarray(coordination))
        qtbot.wait(50)  # the layout places the table, and it fits itself to its width
        rows = table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(table.rowCount()))
        return table.height() - rows - 2 * table.frameWidth() - 2

    assert shown([14, 8, 8], [4, 2, 2]) == 0
    many = np.repeat(np.arange(14), 20_000)  # "20,000" in each of 14 columns, as a polycrystal's
    assert shown(np.full(len(many), 29), many) == table.horizontalScrollBar().sizeHint().height()


def test_the_coordination_table_refits_when_its_columns_widen_after_the_fit(qtbot, empty_window):
    """Cu with 1,000,188 twelve-fold atoms, the table's first content: the wide column was sized
    after the fit, the bar then appeared and covered the only row (6 px of it showed)."""
    empty_window.docks["Structure"].raise_()
    table = empty_window.structure_panel.cn_table
    n = 1_000_188
    empty_window.structure_panel.show_coordination(np.full(n, 29), np.full(n, 12))
    qtbot.waitUntil(lambda: table.horizontalScrollBar().maximum() > 0, timeout=5000)
    qtbot.wait(50)
    assert table.viewport().height() >= table.rowHeight(0)


def test_look_along_a_bicrystals_tilt_axis_from_the_view_menu(qtbot, empty_window):
    """View › Look along › cell vector a: a [001] tilt bicrystal seen along its axis (its a);
    a molecule has no cell, and the status bar says to use x, y or z."""
    from ase import Atoms

    from amorpha.engine.build.bicrystal import BicrystalParams, build_bicrystal
    from amorpha.gui.diffraction import view_frame

    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(build_bicrystal(BicrystalParams()), "bicrystal")
    along = next(a for a in window.menuBar().actions() if a.text() == "&View").menu()
    look = next(a for a in along.actions() if a.text() == "&Look along").menu()
    next(a for a in look.actions() if a.text() == "cell vector &a").trigger()
    np.testing.assert_allclose(view_frame(window.viewer)[0], [1.0, 0.0, 0.0], atol=1e-6)
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]), "water")
    window.look_along_cell(2)
    assert "no cell" in window.statusBar().currentMessage()


def test_a_new_models_cancelled_bonds_leave_no_bonds_of_the_model_before(qtbot, empty_window, monkeypatch):
    """Quartz shown, then fcc Cu with its bond search cancelled: the Bonds and Coordination
    tables said Si–O and the status bar "…72 atoms, 96 bonds" under the copper crystal."""
    from ase.build import bulk

    from amorpha.engine.build.crystals import alpha_quartz
    from amorpha.gui import main_window

    # the copper's search waits a moment, so the Cancel always comes first (on a loaded machine
    # the 2048 atoms' bonds were once found before it)
    monkeypatch.setattr(main_window, "bonds", slowed(main_window.bonds, 0.5, when=lambda atoms, *a, **k: len(atoms) > 500))
    window = empty_window
    panel = window.structure_panel
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(alpha_quartz((2, 2, 2)), "quartz")
    assert panel.cutoff_table.rowCount() == 3 and panel.cn_table.rowCount() == 2
    with qtbot.waitSignal(window.runner.task_finished, timeout=30000,
                          check_params_cb=lambda handle, state: handle is window._bond_task):
        window.set_model(bulk("Cu", "fcc", 3.615, cubic=True).repeat(8), "copper")
        window._bond_task.cancel()
    assert panel.cutoff_table.rowCount() == 0 and panel.cn_table.rowCount() == 0
    assert "cancelled" in panel.bond_note.text() and "bonds" not in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        panel._emit_cutoffs()  # Apply cutoffs: the default ones of the model shown
    assert [panel.cutoff_table.item(0, 0).text()] == ["Cu–Cu"] and panel.cn_table.rowCount() == 1

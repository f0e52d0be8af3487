"""The Spectra-as-descriptors dialog: a table with a known answer gives the expected R² for Model A
and Model B in the parity plots, the built-in task runs in the background and cancels, bad tables
are refused without losing what is shown, and the window's File menu opens the dialog."""
import numpy as np
import pytest

from amorpha.engine.spectra.spectral_regression import SpectrumTable, write_table


@pytest.fixture
def runner(qtbot):
    from amorpha.gui.workers import TaskRunner

    r = TaskRunner()
    yield r
    r.cancel_all()
    r.wait(5000)


@pytest.fixture
def dialog(qtbot, runner):
    from amorpha.gui.spectral_regression_dialog import SpectralRegressionDialog

    d = SpectralRegressionDialog(runner)
    qtbot.addWidget(d)
    d.show()
    return d


@pytest.fixture
def table_file(tmp_path):
    """y = s + 3c: s is the spectrum's peak position, c a composition the spectrum does not show."""
    rng = np.random.default_rng(0)
    energy = np.linspace(0, 20, 81)
    s, c = rng.uniform(size=40), rng.uniform(size=40)
    spectra = np.exp(-0.5 * (energy[None, :] - 8 - 4 * s[:, None]) ** 2)
    table = SpectrumTable(energy, spectra, {"y": s + 3 * c, "s": s}, c[:, None], ["c"])
    path = tmp_path / "table.csv"
    write_table(path, table)
    return path


def test_table_gives_parity_plots_with_r2_and_exports(qtbot, dialog, table_file, tmp_path):
    dialog.folds.setValue(4)
    with qtbot.waitSignal(dialog.fitted, timeout=60000):
        dialog.load(str(table_file))
    assert [dialog.target.itemText(k) for k in range(dialog.target.count())] == ["y", "s"]
    a, b = dialog.comparison.model_a, dialog.comparison.model_b
    assert a.r2 < 0.4 and b.r2 > 0.95  # the composition is what Model A cannot know
    assert f"R² = {b.r2:.3f}" in dialog.plot_b.plotItem.titleLabel.text
    assert "40 spectra, 81 energies" in dialog.data_label.text()
    dialog.comparison.write_csv(tmp_path / "parity.csv")
    dialog.write_png(tmp_path / "parity.png")
    assert (tmp_path / "parity.png").stat().st_size > 5000
    assert len((tmp_path / "parity.csv").read_text().splitlines()) == 2 + 1 + 40
    dialog.target.setCurrentText("s")  # the spectrum's own quantity: Model A gets it too
    with qtbot.waitSignal(dialog.fitted, timeout=60000):
        dialog.fit_button.click()
    assert dialog.comparison.model_a.r2 > 0.9


def test_bad_table_is_refused_and_the_shown_data_kept(qtbot, dialog, table_file, tmp_path):
    with qtbot.waitSignal(dialog.fitted, timeout=60000):
        dialog.load(str(table_file))
    shown = dialog.comparison
    bad = tmp_path / "bad.csv"
    bad.write_text("name,y\na,1\n")
    dialog.load(str(bad))
    qtbot.waitUntil(lambda: "no energy columns" in dialog.last_error, timeout=10000)
    assert not dialog.busy
    assert dialog.comparison is shown and dialog.fit_button.isEnabled()


def test_builtin_task_runs_in_the_background_and_cancels(qtbot, dialog):
    dialog.n_models.setValue(400)
    dialog.run_builtin()
    assert dialog.busy and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=60000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=2000)
    assert dialog.table is None and "cancelled" in dialog.status.text()
    dialog.n_models.setValue(6)
    dialog.folds.setValue(3)
    with qtbot.waitSignal(dialog.fitted, timeout=120000):
        dialog.run_builtin()
    assert len(dialog.table) == 6 and dialog.table.composition_names == ["x (O/Si)"]
    assert dialog.target.currentText() == "mean Si-O-Si angle (deg)"
    assert dialog.comparison.model_b is not None and dialog.export_png_button.isEnabled()


def test_file_menu_opens_the_dialog(qtbot, empty_window):
    actions = {a.text(): a for menu in empty_window.menuBar().actions() for a in menu.menu().actions()}
    actions["Spectra as &Descriptors…"].trigger()
    dialog = empty_window.spectral_regression
    assert dialog.isVisible() and dialog.runner is empty_window.runner
    actions["Spectra as &Descriptors…"].trigger()
    assert empty_window.spectral_regression is dialog  # one per window

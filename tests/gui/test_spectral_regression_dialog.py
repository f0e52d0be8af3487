"""The Spectra-as-descriptors dialog: a table with a known answer gives the expected R² for Model A,
Model B and the composition-only baseline in the parity plots, the built-in task runs in the
background (progress by model) and cancels, bad or unusable tables are refused without losing what
is shown, a failed fit of an accepted table says so, few samples per fold bring a warning, and the
window's File menu opens the dialog."""
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


def _write_table(path, n, targets=("y", "s")):
    """y = s + 3c: s is the spectrum's peak position, c a composition the spectrum does not show."""
    rng = np.random.default_rng(0)
    energy = np.linspace(0, 20, 81)
    s, c = rng.uniform(size=n), rng.uniform(size=n)
    spectra = np.exp(-0.5 * (energy[None, :] - 8 - 4 * s[:, None]) ** 2)
    values = {"y": s + 3 * c, "s": s}
    write_table(path, SpectrumTable(energy, spectra, {k: values[k] for k in targets}, c[:, None], ["c"]))
    return path


@pytest.fixture
def table_file(tmp_path):
    return _write_table(tmp_path / "table.csv", 40)


def _axis_labels(plot):
    return plot.getAxis("bottom").labelText, plot.getAxis("left").labelText


def test_table_gives_parity_plots_with_r2_and_exports(qtbot, dialog, table_file, tmp_path):
    dialog.folds.setValue(4)
    with qtbot.waitSignal(dialog.fitted, timeout=60000):
        dialog.load(str(table_file))
    assert [dialog.target.itemText(k) for k in range(dialog.target.count())] == ["y", "s"]
    a, b, base = dialog.comparison.model_a, dialog.comparison.model_b, dialog.comparison.baseline
    assert a.r2 < 0.4 and b.r2 > 0.95  # the composition is what Model A cannot know
    assert 0.7 < base.r2 < b.r2  # c alone explains 9/10 of the variance; the spectrum the rest
    assert f"R² = {b.r2:.3f}" in dialog.plot_b.plotItem.titleLabel.text
    legend = [label.text for _, label in dialog.plot_b.legend.items]
    assert dialog.plot_b.legend.isVisible() and f"composition only: R² {base.r2:.3f}" in legend
    assert f"(the spectrum adds {b.r2 - base.r2:+.3f} to R²)" in dialog.status.text()
    assert not dialog.caveat.isVisible()  # 10 samples per fold
    assert "40 spectra, 81 energies" in dialog.data_label.text(), dialog.data_label.text()
    assert "; 2 targets;" in dialog.data_label.text()
    dialog.comparison.write_csv(tmp_path / "parity.csv")
    dialog.write_png(tmp_path / "parity.png")
    assert (tmp_path / "parity.png").stat().st_size > 5000
    assert len((tmp_path / "parity.csv").read_text().splitlines()) == 3 + 1 + 40
    dialog.target.setCurrentText("s")  # the spectrum's own quantity: Model A gets it too
    with qtbot.waitSignal(dialog.fitted, timeout=60000):
        dialog.fit_button.click()
    assert dialog.comparison.model_a.r2 > 0.9
    assert len(dialog.plot_b.legend.items) == 2  # the second fit replaced the first one's entries


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


def test_table_no_fit_can_use_is_refused_and_the_shown_one_kept(qtbot, dialog, table_file, tmp_path):
    """A 1-row table used to replace the shown one, then its fit failed with 'Nothing was changed'."""
    with qtbot.waitSignal(dialog.fitted, timeout=60000):
        dialog.load(str(table_file))
    shown, table = dialog.comparison, dialog.table
    for name, rows, targets, reason in (("one.csv", 1, ("y",), "1 sample is too few for 5-fold"),
                                        ("none.csv", 20, (), "no target columns")):
        dialog.last_error = ""
        dialog.load(str(_write_table(tmp_path / name, rows, targets)))
        qtbot.waitUntil(lambda: dialog.last_error != "", timeout=10000)
        assert reason in dialog.last_error and dialog.last_error.endswith("Nothing was changed.")
        assert dialog.table is table and dialog.comparison is shown and "40 spectra" in dialog.data_label.text()


def test_failed_fit_of_an_accepted_table_says_it_is_loaded(qtbot, dialog, table_file, tmp_path, monkeypatch):
    from amorpha.engine.errors import ParameterError
    from amorpha.gui import spectral_regression_dialog

    def fails(*args, **kwargs):
        raise ParameterError("target", "a reason")

    monkeypatch.setattr(spectral_regression_dialog, "compare_models", fails)
    with qtbot.waitSignal(dialog.table_changed, timeout=10000):
        dialog.load(str(table_file))
    qtbot.waitUntil(lambda: dialog.last_error != "", timeout=10000)
    assert "a reason" in dialog.last_error and "Nothing was changed" not in dialog.last_error
    assert "The table (table.csv) is loaded" in dialog.last_error and len(dialog.table) == 40
    dialog.last_error = ""
    dialog.fit_button.click()  # a fit of the table already shown does leave everything as it was
    qtbot.waitUntil(lambda: dialog.last_error != "", timeout=10000)
    assert dialog.last_error.endswith("Nothing was changed.")


def test_a_new_table_clears_the_previous_targets_axis_labels(qtbot, dialog, table_file):
    """Empty plots once still read "true fraction Si4+" from the table before."""
    with qtbot.waitSignal(dialog.fitted, timeout=60000):
        dialog.load(str(table_file))
    assert _axis_labels(dialog.plot_a) == _axis_labels(dialog.plot_b) == ("true y", "predicted y")
    dialog.plot_b.autoRange()  # as a paint would: the fitted y spans about 0-4
    assert not np.allclose(dialog.plot_b.viewRange(), [[0, 1], [0, 1]])
    dialog.plot_b.show_result(None, "")  # no Model B (no composition columns): no stale unit either
    assert _axis_labels(dialog.plot_b) == ("true", "predicted (cross-validated)")
    assert not dialog.plot_b.legend.isVisible() and "needs composition" in dialog.plot_b.plotItem.titleLabel.text
    # nor the numbers of the previous target's axes
    assert np.allclose(dialog.plot_b.viewRange(), [[0, 1], [0, 1]])
    table = dialog.table
    dialog.set_table(SpectrumTable(table.energy, table.spectra, {"z": table.targets["s"]}, table.composition[:, :0],
                                   []), "no composition", fit=False)
    assert _axis_labels(dialog.plot_a) == ("true", "predicted (cross-validated)") and dialog.plot_a.result is None
    assert dialog.plot_a.plotItem.titleLabel.text == "Model A (spectrum only)"
    assert dialog.status.text() == "Loaded no composition; press Fit." and not dialog.caveat.isVisible()


def test_a_new_table_starts_on_a_target_that_varies(dialog):
    """A constant first column would only make the automatic fit fail."""
    rng = np.random.default_rng(1)
    energy = np.linspace(0, 20, 81)
    table = SpectrumTable(energy, rng.uniform(0.5, 1, (12, 81)), {"constant": np.ones(12), "v": rng.normal(size=12)},
                          np.zeros((12, 0)), [])
    dialog.set_table(table, "t", fit=False)
    assert dialog.target.currentText() == "v" and dialog.target.count() == 2


def test_few_samples_per_fold_bring_a_warning(qtbot, dialog, tmp_path):
    """5 samples in 5 folds once gave R² -0.085 without a word."""
    with qtbot.waitSignal(dialog.fitted, timeout=60000):
        dialog.load(str(_write_table(tmp_path / "five.csv", 5)))
    assert dialog.caveat.isVisible() and "only 1 sample per fold (5 samples in 5 folds)" in dialog.caveat.text()
    assert "at least 10 per fold" in dialog.caveat.text()
    with qtbot.waitSignal(dialog.fitted, timeout=60000):
        dialog.load(str(_write_table(tmp_path / "fifty.csv", 50)))
    assert not dialog.caveat.isVisible()


def test_builtin_task_runs_in_the_background_and_cancels(qtbot, dialog, runner):
    messages = []
    runner.task_progress.connect(lambda handle, fraction, message: messages.append(message))
    dialog.n_models.setValue(400)
    dialog.run_builtin()
    assert dialog.busy and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: "model 2 of 400" in dialog.status.text(), timeout=60000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=2000)
    assert dialog.table is None and "cancelled" in dialog.status.text()
    assert messages and all(m.startswith("model ") and " of 400" in m for m in messages if m)
    messages.clear()
    dialog.n_models.setValue(5)
    dialog.folds.setValue(7)  # 7 folds need 7 samples: refused before any model is built
    dialog.run_builtin()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10000)
    assert "5 samples are too few for 7-fold" in dialog.last_error and not messages and dialog.table is None
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

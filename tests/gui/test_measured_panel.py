"""The Measured panel in the window: open a measured file, prepare it in steps (background window
dragged on the plot, undo), compare with a prediction, explain it with components, decompose a
line scan, export; bad input gives a dialog and loses nothing.

Spectra are made here with known answers (a power law A·E^−r plus an edge; a mixture of two
components; a spectrum shifted by a known amount), written as EMSA/MSA and read back.
"""
import csv
import json
from contextlib import contextmanager

import numpy as np
import pytest

from amorpha.engine.spectra.export import write_msa
from amorpha.engine.spectra.microscope import SpectrumData
from amorpha.engine.spectra.prepare import replay, steps_of
from amorpha.engine.spectra.spectrum import Spectrum

A_TRUE, R_TRUE = 3e11, 3.0


def core_loss(tmp_path, name="core.msa"):
    e = np.arange(400.0, 700.0, 0.5)
    from scipy.special import erf

    edge = 3000.0 * 0.5 * (1 + erf((e - 532.0) / 1.5)) * (1 + np.clip(e - 532, 0, None) / 40) ** -1  # no pre-edge tail
    y = np.random.default_rng(0).poisson(A_TRUE * e ** -R_TRUE + edge).astype(float)
    path = tmp_path / name
    write_msa(Spectrum(e, y, label="O K test"), path, beam_energy_kev=200.0)
    return path


def gauss(e, centre, width):
    return np.exp(-0.5 * ((e - centre) / width) ** 2)


def opened(qtbot, window, path):
    # generous: on a busy machine the window's start-up warm-up (numba compiles) competes for the CPU
    with qtbot.waitSignal(window.measured.changed, timeout=60000):
        window.open_spectrum(str(path))
    return window.measured


def test_open_background_window_steps_and_undo(qtbot, empty_window, tmp_path):
    window = empty_window
    m = opened(qtbot, window, core_loss(tmp_path))
    panel = window.measured_panel
    assert "dispersion (eV/channel)" in panel.meta_label.text() and "beam energy (keV)" in panel.meta_label.text()
    (shown,) = window.spectrum_panel.group("measured")
    assert shown.label == "core.msa" and len(shown.energy) == 600  # the file's name, not its title
    assert "title in the file" in panel.meta_label.text() and "O K test" in panel.meta_label.text()
    # dragging the window (what a mouse drag ends with) previews the fit without changing anything
    m.region.setRegion((450.0, 520.0))
    qtbot.waitUntil(lambda: "450–520 eV" in panel.status.text(), timeout=10000)
    assert m.curves("background") and m.curves("residual")
    assert panel.window_of(panel.bg_window) == pytest.approx((450.0, 520.0))
    assert steps_of(m.current) == [] and "r = 3.0" in panel.status.text()
    with qtbot.waitSignal(m.changed, timeout=10000):
        panel.step_requested.emit("powerlaw_background", panel.background_params())
    (step,) = steps_of(m.current)
    assert step.params["zero_fill"] and np.all(m.current.intensity[m.current.energy < 450.0] == 0.0)
    # with Poisson noise A and r are correlated (δA/A ≈ ln E·δr): judge r and the background itself
    assert step.info["r"] == pytest.approx(R_TRUE, rel=0.01)
    for energy in (485.0, 600.0):
        assert step.info["A"] * energy ** -step.info["r"] == pytest.approx(A_TRUE * energy ** -R_TRUE, rel=0.01)
    # the raw-count background line is not left over the subtracted counts (it ran across them at 1700)
    assert not m.curves("background") and m.curves("residual") and m.curves("before")
    with qtbot.waitSignal(m.changed, timeout=10000):
        panel.step_requested.emit("smooth", {"method": "savgol", "window_ev": 2.0})
    assert panel.steps.item(0).text() == (f"1. Power-law background A·E^−r fitted over 450–520 eV "
                                          f"(r = {step.info['r']:.3g}) and subtracted; the channels below it set to 0")
    assert panel.steps.count() == 2
    assert panel.steps.item(1).text() == "2. Smoothed by Savitzky–Golay, order 2, over 2 eV"
    assert panel.status.text() == "Smoothed by Savitzky–Golay, order 2, over 2 eV."
    (shown,) = window.spectrum_panel.group("measured")
    json.dumps(shown.meta["steps"])  # the steps the project saves are plain JSON
    with qtbot.waitSignal(m.changed, timeout=10000):
        panel.undo_button.click()
    assert panel.steps.count() == 1
    np.testing.assert_array_equal(m.current.intensity, replay(m.original, [step]).intensity)


def test_bad_input_shows_a_dialog_and_keeps_everything(qtbot, empty_window, tmp_path):
    window = empty_window
    m = opened(qtbot, window, core_loss(tmp_path))
    before, shown = m.current, window.spectrum_panel.group("measured")
    no_energy = tmp_path / "one-column.txt"
    no_energy.write_text("\n".join(str(v) for v in range(50)))
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.open_spectrum(str(no_energy))
    assert "one-column.txt" in blocker.args[0] and "Nothing was changed" in blocker.args[0]
    assert m.current is before and window.spectrum_panel.group("measured") == shown
    from rsciio.hspy import file_writer  # an image in nm × nm: no axis is an energy

    axes = [{"size": n, "name": name, "units": "nm", "scale": 1.0, "offset": 0.0, "navigate": False}
            for n, name in ((8, "y"), (16, "x"))]
    file_writer(str(tmp_path / "image.hspy"), {
        "data": np.random.default_rng(0).random((8, 16)), "axes": axes, "original_metadata": {},
        "metadata": {"General": {"title": "image"}, "Signal": {"signal_type": ""}}, "tmp_parameters": {},
        "attributes": {"_lazy": False}, "learning_results": {}, "models": {},
        "package_info": {"name": "amorpha", "version": "test"}})
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        window.open_spectrum(str(tmp_path / "image.hspy"))
    assert "image.hspy: no energy axis" in blocker.args[0]
    assert m.current is before and window.spectrum_panel.group("measured") == shown
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        m.apply_step("powerlaw_background", {"window": (100.0, 200.0)})
    assert "lies outside the data (400 to 699.5 eV)" in blocker.args[0]
    assert m.current is before and steps_of(m.current) == []
    with qtbot.waitSignal(window.error_shown, timeout=5000) as blocker:
        window.measured_panel.fit_requested.emit((400.0, 700.0), "linear", 0)
    assert "no components" in blocker.args[0]
    with qtbot.waitSignal(window.error_shown, timeout=5000) as blocker:
        m.apply_step("fourier_ratio", {})
    assert "low-loss" in blocker.args[0]
    assert m.current is before


def test_compare_explain_and_export(qtbot, empty_window, tmp_path):
    window = empty_window
    e = np.arange(-5.0, 25.0, 0.1)
    c1, c2 = Spectrum(e, gauss(e, 6.0, 1.5), label="Si0"), Spectrum(e, gauss(e, 11.0, 2.0), label="Si4+")
    truth = 0.35 * c1.intensity + 0.65 * c2.intensity
    counts = np.random.default_rng(4).poisson(5000 * np.interp(e - 0.7, e, truth) + 100).astype(float)
    path = tmp_path / "shifted.msa"
    write_msa(Spectrum(e, counts, label="mixture shifted by 0.7 eV"), path)
    m = opened(qtbot, window, path)
    window.spectrum_panel.add_spectrum(Spectrum(e, truth, label="predicted"), "predicted")
    with qtbot.waitSignal(m.compared, timeout=20000):
        window.measured_panel.align_requested.emit((-2.0, 20.0), False)
    shift = m.aligned.meta["shift_ev"]
    assert shift == pytest.approx(0.7, abs=0.05)
    table = window.measured_panel.similarity
    assert table.item(1, 0).text() == "aligned" and float(table.item(1, 1).text()) > 0.99
    assert float(table.item(0, 1).text()) < float(table.item(1, 1).text())
    assert m.curves("aligned") and m.curves("difference")
    assert "end of the search" not in window.measured_panel.alignment.text()
    window.measured_panel.gaussian_fwhm.setValue(1.0)  # instrument resolution added to the prediction
    with qtbot.waitSignal(m.compared, timeout=20000):
        window.measured_panel.align_requested.emit((-2.0, 20.0), False)
    assert m.aligned.broadening["gaussian_fwhm"] == pytest.approx(1.0)
    assert m.aligned.meta["shift_ev"] == pytest.approx(0.7, abs=0.05)
    window.measured_panel.gaussian_fwhm.setValue(0.0)
    # explain: calibrate the measured by the found shift, then fit the two components
    with qtbot.waitSignal(m.changed, timeout=10000):
        m.apply_step("calibrate", {"shift": -shift, "scale": 1.0})
    m.set_components([c1, c2], {"Si0": 0.35, "Si4+": 0.65})
    with qtbot.waitSignal(m.fitted, timeout=30000):
        window.measured_panel.fit_requested.emit((-3.0, 22.0), "constant", 100)
    assert m.fit.fractions == pytest.approx([0.35, 0.65], abs=0.02)
    assert np.all(np.abs(m.fit.fraction_mean - [0.35, 0.65]) < 3 * m.fit.fraction_std + 0.005)
    fractions = window.measured_panel.fractions
    assert fractions.item(0, 0).text() == "Si0" and fractions.item(0, 3).text() == "0.350"
    assert m.curves("fit")
    outputs = {name: tmp_path / name for name in ("fit.csv", "out.msa", "out.csv")}
    for handle in (m.save_report(str(outputs["fit.csv"])), m.save_spectrum(str(outputs["out.msa"])),
                   m.save_spectrum(str(outputs["out.csv"]))):
        qtbot.waitUntil(lambda h=handle: h.finished, timeout=10000)
    rows = [r for r in csv.reader(outputs["fit.csv"].read_text().splitlines()) if r and not r[0].startswith("#")]
    assert rows[1][0] == "Si0" and float(rows[1][1]) == pytest.approx(m.fit.fractions[0])
    from amorpha.engine.spectra.microscope import read_microscope

    back = read_microscope(outputs["out.msa"])
    np.testing.assert_allclose(back.energy, m.current.energy, atol=1e-6)
    np.testing.assert_allclose(read_microscope(outputs["out.csv"]).data, m.current.intensity)
    for name in ("plot.png", "plot.svg"):
        m.save_plot(str(tmp_path / name))
        assert (tmp_path / name).stat().st_size > 1000
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG" and b"<svg" in (tmp_path / "plot.svg").read_bytes()


def one_peak_to_compare(qtbot, window, tmp_path):
    """A measured peak opened, its noiseless shape as the prediction and as the one component."""
    e = np.arange(-5.0, 25.0, 0.1)
    truth = gauss(e, 6.0, 1.5)
    write_msa(Spectrum(e, np.random.default_rng(1).poisson(1000 * truth + 100).astype(float)), path := tmp_path / "a.msa")
    m = opened(qtbot, window, path)
    window.spectrum_panel.add_spectrum(Spectrum(e, truth, label="predicted"), "predicted")
    m.set_components([Spectrum(e, truth, label="one")])
    return m


def test_a_comparison_or_fit_that_ends_after_a_step_is_not_drawn(qtbot, empty_window, tmp_path, monkeypatch):
    """Compare and Explain run in the background: when a step changes the measured spectrum
    before they finish, their curves (made against the old one) are dropped."""
    import amorpha.engine.spectra.compare as compare
    import amorpha.engine.spectra.unmix as unmix

    from .slowed import slowed

    window = empty_window
    m = one_peak_to_compare(qtbot, window, tmp_path)
    for module, name in ((compare, "align"), (unmix, "fit_components")):
        monkeypatch.setattr(module, name, slowed(getattr(module, name)))
    for request, label in ((lambda: window.measured_panel.align_requested.emit((-2.0, 20.0), False), "Aligning"),
                           (lambda: window.measured_panel.fit_requested.emit((-3.0, 22.0), "constant", 0), "Fitting")):
        with qtbot.waitSignal(window.runner.task_finished, timeout=30000,
                              check_params_cb=lambda task, state, label=label: task.label.startswith(label)) as ended:
            request()
            with qtbot.waitSignal(m.changed, timeout=10000):
                m.apply_step("calibrate", {"shift": 0.5, "scale": 1.0})
        assert ended.args[1] == "done"
        assert f"changed while {'Compare' if label == 'Aligning' else 'Explain'} ran" in window.measured_panel.status.text()
    assert m.aligned is None and m.fit is None
    assert not (m.curves("aligned") or m.curves("difference") or m.curves("fit"))


def test_another_file_or_edge_clears_the_alignment_and_the_fit(qtbot, empty_window, tmp_path):
    """The Compare and Explain tabs' results belong to the spectrum and edge they were made for:
    another file or another edge clears them (a YAG fit stayed on screen under a DM3 file, and
    Save fit report then said "Fit first")."""
    window, panel = empty_window, empty_window.measured_panel
    m = one_peak_to_compare(qtbot, window, tmp_path)
    with qtbot.waitSignal(m.compared, timeout=20000):
        panel.align_requested.emit((-2.0, 20.0), False)
    with qtbot.waitSignal(m.fitted, timeout=30000):
        panel.fit_requested.emit((-3.0, 22.0), "constant", 0)
    assert panel.similarity.rowCount() == 2 and panel.fractions.rowCount() == 1
    assert panel.alignment.text() and panel.fit_quality.text() and m.curves("aligned") and m.curves("fit")

    def cleared():
        return (m.aligned is None and m.fit is None and not panel.alignment.text() and not panel.fit_quality.text()
                and panel.similarity.rowCount() == 0 and panel.fractions.rowCount() == 0
                and not (m.curves("aligned") or m.curves("difference") or m.curves("fit")))
    opened(qtbot, window, ti_o_core_loss(tmp_path))
    assert cleared() and [c.label for c in m.components] == ["one"]  # the components stay
    assert panel.edge_combo.count() == 2  # Ti L2,3 and O K seen in the counts
    m.aligned = "an alignment made around Ti L2,3"
    panel.alignment.setText("Shift +0.1 eV")
    m.choose_edge(1)
    assert cleared()


def test_line_scan_maps_and_pixel_spectra(qtbot, empty_window):
    window = empty_window
    e = np.linspace(95.0, 135.0, 400)
    phase = np.repeat([0, 1], [40, 24])
    spectra = np.array([gauss(e, 104.0, 2.0), gauss(e, 114.0, 2.5)])[phase] * 2000 + 20
    data = SpectrumData(e, np.random.default_rng(2).poisson(spectra).astype(float), title="line scan")
    m = window.measured
    m.set_data(data)
    assert window.measured_panel.tabs.widget(3).isEnabled()
    np.testing.assert_array_equal(window.measured_panel.image_item.image[0], data.data.sum(axis=-1))  # total counts
    window.spectrum_panel.add_spectrum(Spectrum(e, gauss(e, 114.0, 2.5), label="predicted"), "predicted")
    with qtbot.waitSignal(m.decomposed, timeout=20000):
        window.measured_panel.decompose_requested.emit("kmeans", 2)
    assert m.decomposition.labels.shape == (64,)
    panel = window.measured_panel
    assert panel.map_choice.count() == 3 and panel.image_item.image.shape == (1, 64)
    np.testing.assert_array_equal(panel.image_item.image[0], m.decomposition.labels)
    table = panel.components_table
    assert table.rowCount() == 2 and float(table.item(1, 1).text()) > 0.99  # cluster 2 is the 24 '114 eV' pixels
    spectrum = m.show_pixel(0, 50)
    np.testing.assert_array_equal(spectrum.intensity, data.data[50])
    assert len(m.curves("pixel")) == 1 and m.show_pixel(1, 3) is None
    panel.map_choice.setCurrentIndex(1)  # cluster 1's map and mean spectrum
    np.testing.assert_array_equal(panel.image_item.image[0], (m.decomposition.labels == 0).astype(float))


def test_a_line_scan_is_decomposed_and_shown_as_prepared(qtbot, empty_window):
    """Two phases on a power-law background that varies along the scan: after Subtract
    background the decomposition works on every pixel with its own background fitted in the
    same window (it used the raw counts, so its clusters followed the background and compared
    with the predicted edge as noise), and a clicked pixel is drawn prepared too."""
    window = empty_window
    e = np.linspace(400.0, 600.0, 800)
    phase = np.repeat([0, 1], [30, 20])
    edges = np.array([gauss(e, 535.0, 3.0), gauss(e, 545.0, 3.0)])[phase] * 3000
    thickness = np.linspace(0.5, 2.0, 50)[:, None]  # the background grows along the scan, across phases
    counts = np.random.default_rng(3).poisson(thickness * A_TRUE * e ** -R_TRUE + edges).astype(float)
    m = window.measured
    m.set_data(SpectrumData(e, counts, title="line scan on a background"))
    window.spectrum_panel.add_spectrum(Spectrum(e, gauss(e, 545.0, 3.0), label="predicted"), "predicted")
    with qtbot.waitSignal(m.changed, timeout=10000):
        m.apply_step("powerlaw_background", {"window": (440.0, 520.0), "zero_fill": True})
    with qtbot.waitSignal(m.decomposed, timeout=30000):
        window.measured_panel.decompose_requested.emit("kmeans", 2)
    assert list(m.decomposition.labels) == [0] * 30 + [1] * 20  # the phases, not the thickness
    assert "k-means: 2 clusters of the pixels after the 1 Prepare step" in window.measured_panel.status.text()
    assert float(window.measured_panel.components_table.item(1, 1).text()) > 0.99  # the 545 eV phase
    pixel = m.show_pixel(0, 45)
    assert pixel.label.endswith(", prepared") and abs(pixel.intensity[(e > 450) & (e < 510)].mean()) < 30


def test_shared_dm4_spectrum_image_in_the_window(qtbot, empty_window, shared_data):
    window = empty_window
    m = opened(qtbot, window, shared_data / "eels/rosettasciio/EELS_SI.dm4")
    assert "spectrum image of 2×2 pixels" in window.measured_panel.file_label.text()
    with qtbot.waitSignal(m.decomposed, timeout=20000):
        window.measured_panel.decompose_requested.emit("pca", 2)
    assert window.measured_panel.image_item.image.shape == (2, 2)
    np.testing.assert_array_equal(m.show_pixel(1, 0).intensity, m.data.data[1, 0])


def test_candidate_models_through_the_surrogate(qtbot, empty_window):
    """Measured = 0.3·a-Si + 0.7·α-quartz predicted averages (+ noise): the two structure files
    added as candidates come back with those fractions."""
    from amorpha.engine.io import open_structure
    from amorpha.engine.surrogate.model import SpectrumModel
    from amorpha.gui.prediction import default_model_path
    from amorpha.resources import path as resource_path

    window = empty_window
    model = SpectrumModel.load(default_model_path())
    window.prediction.model = model
    files = [str(resource_path("examples") / name) for name in ("a-Si.extxyz", "alpha-quartz.extxyz")]
    averages = [model.average(model.predict_structure(open_structure(f)[0])) for f in files]
    y = 0.3 * averages[0].intensity + 0.7 * averages[1].intensity
    noisy = y * 1e4 + np.random.default_rng(7).normal(0, 0.002 * y.max() * 1e4, len(y))
    m = window.measured
    m.set_data(SpectrumData(averages[0].energy, noisy, title="mixture"))
    with qtbot.waitSignal(m.components_changed, timeout=120000):
        window.measured_panel.add_models_requested.disconnect()  # no file dialog in a test
        m.add_models(files)
    assert [c.label for c in m.components] == ["a-Si", "alpha-quartz"]
    np.testing.assert_allclose(m.components[1].intensity, averages[1].intensity)
    with qtbot.waitSignal(m.fitted, timeout=30000):
        window.measured_panel.fit_requested.emit((-5.0, 25.0), "linear", 50)
    assert m.fit.fractions == pytest.approx([0.3, 0.7], abs=0.02)
    assert [r.name for r in m.ranked] == ["alpha-quartz", "a-Si"]  # the larger share fits better alone
    assert "Each model alone" in window.measured_panel.fit_quality.text()
    assert not window.measured_panel.notes.isVisibleTo(window.measured_panel)  # told apart: no note
    # a candidate the model cannot predict is named among the files chosen; nothing is changed
    copper = str(resource_path("examples") / "Cu-sigma5-310.extxyz")
    with qtbot.waitSignal(window.error_shown, timeout=60000) as said:
        m.add_models([files[0], copper])
    assert "Cu-sigma5-310.extxyz: this model predicts Si K spectra" in said.args[0]
    assert [c.label for c in m.components] == ["a-Si", "alpha-quartz"]


def _line_scan_hspy(path, e, data):
    from rsciio.hspy import file_writer

    axes = [{"size": data.shape[0], "name": "x", "units": "nm", "scale": 0.5, "offset": 0.0, "navigate": True},
            {"size": len(e), "name": "Energy loss", "units": "eV", "scale": float(e[1] - e[0]),
             "offset": float(e[0]), "navigate": False}]
    file_writer(str(path), {
        "data": data, "axes": axes, "original_metadata": {},
        "metadata": {"General": {"title": "line scan"}, "Signal": {"signal_type": "EELS"}}, "tmp_parameters": {},
        "attributes": {"_lazy": False}, "learning_results": {}, "models": {},
        "package_info": {"name": "amorpha", "version": "test"}})


@contextmanager
def reopened(qtbot, window, path):
    """The window's project saved to ``path`` and opened in a second window, closed afterwards."""
    from amorpha.gui.main_window import MainWindow

    with qtbot.waitSignal(window.project.saved, timeout=30000):
        window.project.save(str(path))
    other = MainWindow()
    qtbot.addWidget(other)
    try:
        with qtbot.waitSignal(other.project.restored, timeout=60000):
            other.project.open(str(path))
        yield other
    finally:
        other.runner.cancel_all()
        other.runner.wait(5000)


def test_reopened_project_keeps_the_file_its_steps_and_the_low_loss(qtbot, empty_window, tmp_path):
    from amorpha.engine.build.crystals import beta_cristobalite

    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((1, 1, 1)), "cristobalite")
    m = opened(qtbot, window, core_loss(tmp_path))
    e = np.arange(-20.0, 60.0, 0.5)
    write_msa(Spectrum(e, 1e5 * gauss(e, 0.8, 0.6) + 50, label="low loss"), tmp_path / "low.msa")
    m.load_low_loss(str(tmp_path / "low.msa"))
    # its own task, not the first to finish: the start-up warm-up may end first on a busy machine
    qtbot.waitUntil(lambda: m.low_loss is not None, timeout=60000)
    for name, params in (("powerlaw_background", {"window": (450.0, 520.0)}),
                         ("smooth", {"method": "savgol", "window_ev": 2.0})):
        with qtbot.waitSignal(m.changed, timeout=10000):
            m.apply_step(name, params)
    with reopened(qtbot, window, tmp_path / "work.amorpha") as other:
        r = other.measured
        np.testing.assert_array_equal(r.original.intensity, m.original.intensity)
        np.testing.assert_array_equal(r.current.intensity, m.current.intensity)
        assert steps_of(r.current) == steps_of(m.current) and other.measured_panel.steps.count() == 2
        np.testing.assert_array_equal(r.current.intensity, replay(r.original, steps_of(r.current)).intensity)
        (shown,) = other.spectrum_panel.group("measured")  # drawn once, by the Measured panel
        np.testing.assert_array_equal(shown.intensity, m.current.intensity)
        assert r.low_loss.label == "low.msa" and other.measured_panel.low_loss_label.text() == "low.msa"
        np.testing.assert_array_equal(r.low_loss.intensity, m.low_loss.intensity)
        assert "beam energy (keV)" in other.measured_panel.meta_label.text()
        with qtbot.waitSignal(r.changed, timeout=10000):  # undo after reopening: the background step is back
            other.measured_panel.undo_button.click()
        assert other.measured_panel.steps.count() == 1
        np.testing.assert_array_equal(r.current.intensity, replay(m.original, steps_of(m.current)[:1]).intensity)


@pytest.mark.parametrize("limit", [None, 1000])
def test_reopened_project_keeps_a_line_scan(qtbot, empty_window, tmp_path, monkeypatch, limit):
    """A small line scan is kept in the project (the file may be gone); a larger one is read again
    from its file (limit 1000 bytes: 'too large')."""
    from amorpha.engine.build.crystals import beta_cristobalite
    from amorpha.engine.spectra import measured_state

    if limit is not None:
        monkeypatch.setattr(measured_state, "MAX_IMAGE_BYTES", limit)
    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((1, 1, 1)), "cristobalite")
    e = np.linspace(95.0, 135.0, 400)
    cube = np.random.default_rng(3).poisson(2000 * gauss(e, 104.0, 2.0)[None, :] * np.linspace(0.2, 1, 16)[:, None]
                                            + 20).astype(float)
    _line_scan_hspy(tmp_path / "scan.hspy", e, cube)
    m = opened(qtbot, window, tmp_path / "scan.hspy")
    with qtbot.waitSignal(m.changed, timeout=10000):
        m.apply_step("smooth", {"method": "gaussian", "window_ev": 1.0})
    if limit is None:
        (tmp_path / "scan.hspy").unlink()
    with reopened(qtbot, window, tmp_path / "work.amorpha") as other:
        r = other.measured
        if limit is not None:
            qtbot.waitUntil(lambda: r.data.shape == (16,), timeout=20000)
        assert r.data.shape == (16,) and other.measured_panel.tabs.widget(3).isEnabled()
        np.testing.assert_array_equal(r.data.data, cube)
        np.testing.assert_array_equal(other.measured_panel.image_item.image[0], cube.sum(axis=-1))
        np.testing.assert_array_equal(r.current.intensity, m.current.intensity)
        assert "line scan of 16 pixels" in other.measured_panel.file_label.text()


def _measured_files(folder):
    """Every spectrum file under ``folder`` (not the licences, commit notes and metadata beside them)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() != ".json"
                  and not p.name.startswith(("LICENSE", "REPO_LICENSE", "SOURCE_COMMIT")))


def test_every_shared_eels_file_opens_in_the_panel(qtbot, empty_window, shared_data):
    """Each file is opened in turn: shown on the plot with its energy range, dispersion and kind;
    the DM4 spectrum image as a 2×2 map of total counts on an eV axis."""
    window, panel = empty_window, empty_window.measured_panel
    files = _measured_files(shared_data / "eels")
    assert len(files) >= 9
    for path in files:
        m = opened(qtbot, window, path)
        assert m.data.source == str(path), path
        (shown,) = window.spectrum_panel.group("measured")
        assert len(shown.energy) == m.data.data.shape[-1] > 10 and np.all(np.diff(shown.energy) > 0), path
        assert "dispersion (eV/channel)" in panel.meta_label.text(), path
        assert m.data.kind in panel.file_label.text(), path
        assert panel.tabs.widget(0).isEnabled() and panel.tabs.widget(3).isEnabled() == bool(m.data.shape), path
        if path.suffix.lower() == ".txt":  # bare columns, whatever the name says
            assert m.data.meta.keys() == {"dispersion (eV/channel)", "offset (eV)"}
    m = opened(qtbot, window, shared_data / "eels/rosettasciio/EELS_SI.dm4")
    assert m.data.shape == (2, 2) and "spectrum image of 2×2 pixels" in panel.file_label.text()
    np.testing.assert_array_equal(panel.image_item.image, m.data.data.sum(axis=-1))
    assert panel.map_choice.currentText() == "total counts (click a pixel)"
    assert 0 < m.data.energy[0] < m.data.energy[-1] < 3000  # a core-loss range in eV


def test_prediction_outside_the_measured_range_is_hidden_not_explained(qtbot, empty_window, tmp_path):
    """An O K core loss (400–700 eV) beside a prediction on −5…25 eV of no known edge: the
    prediction is hidden (its legend entry says why and what to do) instead of stretching the
    axis to 0 eV, and Explain says there is nothing in common instead of failing."""
    window = empty_window
    m = opened(qtbot, window, core_loss(tmp_path))
    e = np.linspace(-5.0, 25.0, 301)
    predicted = Spectrum(e, gauss(e, 10.0, 2.0), label="Si K predicted")
    window.spectrum_panel.add_spectrum(predicted, "predicted")
    plot = window.spectrum_panel
    item = plot.item(predicted)
    assert not item.isVisible() and plot.factor(predicted) == 1.0
    assert [lab.text for s, lab in plot.legend.items if s.item is item] == [
        "Si K predicted (hidden: its edge has no tabulated onset: type one in Compare › edge onset)"]
    assert plot.plot.getViewBox().viewRange()[0][0] > 350.0  # not stretched to 0 eV
    assert m.explain_shown_model() is None
    assert "Nothing to explain" in window.measured_panel.status.text()
    assert "no tabulated onset" in window.measured_panel.status.text()  # says what to type
    plot.remove_group("measured")
    assert item.isVisible()


def test_explain_places_edge_relative_components_at_the_onset(qtbot, empty_window, tmp_path):
    """Components predicted on an edge-relative scale (Si K, 0 = the edge) beside a measured Si K
    edge in absolute energy loss: Explain puts them at the tabulated onset (1839 eV) and at
    Compare's alignment shift, as Compare does, and recovers the mixture."""
    window = empty_window
    e = np.arange(-5.0, 25.0, 0.1)
    c1 = Spectrum(e, gauss(e, 6.0, 1.5), label="Si0", element="Si", edge="K")
    c2 = Spectrum(e, gauss(e, 11.0, 2.0), label="Si4+", element="Si", edge="K")
    truth = 0.35 * c1.intensity + 0.65 * c2.intensity
    loss = 1839.0 + 0.6 + e  # the measured edge sits 0.6 eV above the tabulated onset
    counts = np.random.default_rng(5).poisson(5000 * truth + 100).astype(float)
    path = tmp_path / "si-k.msa"
    write_msa(Spectrum(loss, counts, label="Si K mixture"), path)
    m = opened(qtbot, window, path)
    window.spectrum_panel.add_spectrum(Spectrum(e, truth, label="predicted", element="Si", edge="K"),
                                       "predicted")
    with qtbot.waitSignal(m.compared, timeout=20000):
        window.measured_panel.align_requested.emit((1836.0, 1862.0), False)
    assert m.aligned.meta["shift_ev"] == pytest.approx(0.6, abs=0.05)
    m.set_components([c1, c2])
    with qtbot.waitSignal(m.fitted, timeout=30000):
        window.measured_panel.fit_requested.emit((1836.0, 1862.0), "constant", 0)
    assert m.fit.fractions == pytest.approx([0.35, 0.65], abs=0.02)
    assert m.fit.r2 > 0.99


def test_the_edge_on_the_measured_axis_sets_the_windows_and_the_model(qtbot, empty_window, tmp_path):
    """An O K core loss opened beside a-SiO2 with the built-in Si K and O K models loaded: the O K
    edge (532 eV) puts the background window before it and the edge-step line after it, and the
    window predicts with the O K model and offers O's site classes by ring; a model chosen
    afterwards stays chosen."""
    from amorpha.engine.examples import load_example
    from amorpha.gui.prediction import model_key

    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(load_example("a-SiO2"), "a-SiO2")
    with qtbot.waitSignal(window.prediction.model_changed, timeout=60000):
        window.prediction.load_default()
    assert model_key(window.prediction.model) == "Si K" and "O K" in window.prediction.models
    panel = window.measured_panel
    # no measured spectrum yet: no ring search is spent on choosing a scheme (the default stays)
    qtbot.wait(500)
    assert panel.scheme.currentData() == "oxidation"
    with qtbot.waitSignal(window.prediction.model_changed, timeout=60000):
        m = opened(qtbot, window, core_loss(tmp_path))
    assert model_key(window.prediction.model) == "O K"
    # O has no O neighbours to count, and every O of a-SiO2 is two-fold: its rings split them
    qtbot.waitUntil(lambda: panel.scheme.currentData() == "ring", timeout=20000)
    assert panel.window_of(panel.bg_window) == pytest.approx((472.0, 527.0))
    assert panel.window_of(panel.pre_window) == pytest.approx((472.0, 527.0))
    assert panel.window_of(panel.post_window) == pytest.approx((582.0, 632.0))
    assert panel.edge_combo.currentText() == "O K, onset 532 eV" and not panel.edge_combo.isEnabled()  # the only one
    qtbot.waitUntil(lambda: "Power law in 472–527 eV" in panel.status.text(), timeout=10000)  # the preview
    assert panel.status.text().startswith("Opened core.msa") and "The O K edge (532 eV) sets" in panel.status.text()
    assert m.curves("background")
    window.prediction.choose("Si K")
    assert model_key(window.prediction.model) == "Si K" and panel.scheme.currentData() == "oxidation"
    panel.scheme.setCurrentIndex(panel.scheme.findData("ring"))  # the user's pick stays with Si
    window.prediction.set_model(window.prediction.model, quiet=True)
    assert panel.scheme.currentData() == "ring"
    # a survey from 150 eV spans the O K onset: the relative prediction is placed there too
    window.prediction.choose("O K")  # wait for its prediction: the Si K one may settle (cancelled) first
    qtbot.waitUntil(lambda: [s.element for s in window.spectrum_panel.group("predicted")] == ["O"], timeout=60000)
    e = np.arange(150.0, 1000.0, 1.0)
    write_msa(Spectrum(e, np.random.default_rng(7).poisson(A_TRUE * e ** -R_TRUE + 1000.0 * (e > 532)).astype(float)),
              survey := tmp_path / "survey.msa")
    opened(qtbot, window, survey)
    placed, onset = m.placed(m.predicted())
    assert onset == 532.0 and placed.energy[0] > 500.0


def test_an_edge_of_an_element_the_structure_lacks_keeps_the_model(qtbot, empty_window, tmp_path):
    """An O K core loss beside a-Si: the O K model could predict nothing here (it switched, then
    refused with "the structure has no O" and the Si K prediction was gone). The Si K model
    stays, the status says the structure has no O, and a file that spans Si K too puts the
    windows there first."""
    from amorpha.engine.examples import load_example
    from amorpha.gui.prediction import model_key

    window, panel = empty_window, empty_window.measured_panel
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(load_example("a-Si"), "a-Si")
    with qtbot.waitSignal(window.prediction.model_changed, timeout=60000):
        window.prediction.load_default()
    assert model_key(window.prediction.model) == "Si K" and "O K" in window.prediction.models
    opened(qtbot, window, core_loss(tmp_path))
    assert model_key(window.prediction.model) == "Si K"
    assert "The shown structure has no O: its O K edge has nothing to be compared with." in panel.status.text()
    e = np.arange(300.0, 2300.0, 1.0)  # O K seen; Si K (1839 eV) in range but hidden in the noise
    counts = A_TRUE * e ** -R_TRUE + 3000.0 * (e > 532) / (1 + np.clip(e - 532, 0, None) / 40)
    write_msa(Spectrum(e, np.random.default_rng(2).poisson(counts).astype(float)), wide := tmp_path / "wide.msa")
    opened(qtbot, window, wide)
    assert panel.edge_combo.itemText(0).startswith("Si K") and panel.edge_combo.itemText(1).startswith("O K")
    assert model_key(window.prediction.model) == "Si K"


def ti_o_core_loss(tmp_path):
    """Ti L2,3 and O K edge steps on a power law with Poisson noise, as in SrTiO3."""
    from scipy.special import erf

    e = np.arange(380.0, 700.0, 0.25)
    steps = sum(h * 0.5 * (1 + erf((e - onset) / 1.5)) / (1 + np.clip(e - onset, 0, None) / 40)
                for h, onset in ((6000.0, 456.0), (2500.0, 532.0)))
    path = tmp_path / "sto.msa"
    write_msa(Spectrum(e, np.random.default_rng(5).poisson(A_TRUE * e ** -R_TRUE + steps).astype(float),
                       label="Ti L + O K"), path)
    return path


def test_the_edge_chosen_comes_back_with_the_project(qtbot, empty_window, tmp_path):
    from amorpha.engine.build.crystals import beta_cristobalite

    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((1, 1, 1)), "cristobalite")
    opened(qtbot, window, ti_o_core_loss(tmp_path))
    panel = window.measured_panel
    assert panel.edge_combo.currentText() == "O K, onset 532 eV"  # the structure's element first
    panel.edge_combo.setCurrentIndex(1)
    panel.edge_chosen.emit(1)
    assert panel.window_of(panel.bg_window) == pytest.approx((396.0, 451.0))
    with reopened(qtbot, window, tmp_path / "work.amorpha") as other:
        p = other.measured_panel
        assert p.edge_combo.currentText() == "Ti L2,3, onset 456 eV"
        assert p.window_of(p.bg_window) == pytest.approx((396.0, 451.0))
        assert other.measured.edge == ("Ti", "L2,3", 456.0)


def test_the_edges_seen_in_the_counts_set_the_windows_without_a_structure(qtbot, empty_window, tmp_path):
    """No structure shown: a Ti L2,3 + O K core loss gets its windows around the first edge seen
    (Ti L2,3), and the file table names both; for a low-loss file it says why no edge was looked for, and it keeps
    the fractional windows."""
    opened(qtbot, window := empty_window, ti_o_core_loss(tmp_path))
    panel = window.measured_panel
    assert "Ti L2,3 (456 eV), O K (532 eV)" in panel.meta_label.text()
    assert [panel.edge_combo.itemText(i) for i in range(panel.edge_combo.count())] == \
        ["Ti L2,3, onset 456 eV", "O K, onset 532 eV"] and panel.edge_combo.isEnabled()
    assert panel.window_of(panel.bg_window) == pytest.approx((396.0, 451.0))
    assert panel.window_of(panel.post_window) == pytest.approx((506.0, 527.0))  # ends before O K
    markers = window.measured.curves("edge markers")
    assert [(line.value(), line.label.toPlainText()) for line in markers] == [(456.0, "Ti L2,3"), (532.0, "O K")]
    assert all(line.scene() is window.spectrum_panel.plot.scene() for line in markers)
    plot = window.spectrum_panel
    assert plot.focus == (386.0, 516.0)  # the background window and the edge's near structure
    (x_lo, x_hi), (y_lo, y_hi) = plot.plot.getViewBox().viewRange()
    assert 380.0 < x_lo < 387.0 and 515.0 < x_hi < 520.0
    raw = plot.group("measured")[0]
    assert y_hi < 1.1 * raw.intensity[raw.energy >= 386.0].max()  # scaled to what is in view
    shown = plot.legend.isVisible()  # while it leaves the curves room (test_spectrum_legend.py)
    plot.legend_button.click()
    assert plot.legend.isVisible() != shown and plot.plot.getViewBox().viewRange()[0] == [x_lo, x_hi]
    plot.legend_button.click()
    assert plot.legend.isVisible() == shown
    # the other edge chosen: every window moves around it, the plot follows, the file stays as it is
    before = window.measured.current
    panel.edge_combo.setCurrentIndex(1)
    panel.edge_chosen.emit(1)  # as choosing it in the list does
    assert panel.window_of(panel.bg_window) == pytest.approx((492.0, 527.0))  # clear of Ti L2 (462 eV)
    assert panel.window_of(panel.fit_window) == pytest.approx((522.0, 592.0))
    assert plot.focus == (482.0, 592.0) and window.measured.edge_seen == ("O", "K", 532.0)
    assert window.measured.current is before
    assert panel.status.text().startswith("The O K edge (532 eV) sets the background window (492–527 eV)")

    low = np.arange(-20.0, 300.0, 0.25)
    counts = 1e6 * gauss(low, 0.0, 0.5) + 2e4 * gauss(low, 22.0, 6.0) + 3e7 * np.clip(low, 5.0, None) ** -3.0
    write_msa(Spectrum(low, counts, label="low loss"), path := tmp_path / "ll.msa")
    opened(qtbot, window, path)
    assert "none looked for in a low-loss spectrum" in panel.meta_label.text()
    assert window.measured.curves("edge markers") == [] and all(line.scene() is None for line in markers)
    assert plot.focus is None
    assert panel.window_of(panel.bg_window) == pytest.approx((-20.0 + 0.05 * 319.75, -20.0 + 0.25 * 319.75), abs=0.01)
    assert "A low-loss spectrum" in panel.status.text()  # no power law tried across the zero-loss peak
    assert panel.tabs.currentIndex() == 0 and not window.measured.region.isVisible()  # nor shaded across it
    qtbot.wait(300)
    assert "Background window" not in panel.status.text() and not window.measured.curves("background")
    e = np.linspace(-5.0, 25.0, 301)  # an edge-relative O K prediction overlaps 0-25 eV only by number
    predicted = Spectrum(e, gauss(e, 10.0, 2.0), label="O K predicted", element="O", edge="K")
    plot.add_spectrum(predicted, "predicted")
    assert not plot.item(predicted).isVisible()
    assert [lab.text for s, lab in plot.legend.items if s.item is plot.item(predicted)] == [
        "O K predicted (hidden: the O K edge has no place on a low-loss spectrum)"]
    plot.remove_group("predicted")

    short = np.arange(524.0, 600.0, 0.5)  # starts 8 eV before O K: no room for its background
    write_msa(Spectrum(short, 1e3 + 500.0 * (short > 532.0), label="O K, cut"), path := tmp_path / "cut.msa")
    opened(qtbot, window, path)
    assert "too few channels before O K (532 eV) to fit one (the file starts at 524 eV)" in panel.meta_label.text()


def test_a_prediction_whose_edge_is_off_the_measured_axis_is_hidden_and_says_where(qtbot, empty_window, tmp_path):
    """RosettaSciIO's test DM3 (noise on −100 to 924 eV) beside the Si K prediction: the
    instrument's axis was taken for an edge-relative one (it starts below half the onset and
    does not reach it), so the prediction sat on the zero loss at −5 to 25 eV, scaled ×148."""
    e = np.arange(-100.0, 924.0, 0.5)
    noise = np.random.default_rng(3).normal(0.0, 60.0, e.size)
    write_msa(Spectrum(e, noise, label="noise"), path := tmp_path / "noise.msa")
    window = empty_window
    opened(qtbot, window, path)
    plot = window.spectrum_panel
    r = np.linspace(-5.0, 25.0, 301)
    predicted = Spectrum(r, gauss(r, 9.0, 1.5), label="Si K predicted", element="Si", edge="K")
    plot.add_spectrum(predicted, "predicted")
    assert not plot.item(predicted).isVisible() and plot.factor(predicted) == 1.0
    assert [lab.text for s, lab in plot.legend.items if s.item is plot.item(predicted)] == [
        "Si K predicted (hidden: its edge at 1839 eV is off this axis)"]
    assert plot.hint.text().startswith("2 spectra, 1 hidden (Si K)")


def test_an_alignment_at_the_end_of_its_search_says_so(qtbot, empty_window, tmp_path):
    e = np.arange(-5.0, 40.0, 0.1)
    counts = np.random.default_rng(6).poisson(5000 * gauss(e, 30.0, 1.5) + 100).astype(float)
    path = tmp_path / "far.msa"
    write_msa(Spectrum(e, counts, label="a peak 20 eV above the prediction's"), path)
    m = opened(qtbot, window := empty_window, path)
    window.spectrum_panel.add_spectrum(Spectrum(e, gauss(e, 10.0, 1.5), label="predicted"), "predicted")
    with qtbot.waitSignal(m.compared, timeout=20000):
        window.measured_panel.align_requested.emit((-5.0, 40.0), False)
    assert m.aligned.meta["shift_ev"] == pytest.approx(15.0, abs=0.05)
    assert "at the end of the search (-15 to +15 eV)" in window.measured_panel.alignment.text()


def test_a_measured_file_on_the_command_line_is_explained_after_its_background(qtbot, empty_window, tmp_path):
    """`--measured FILE` beside a-SiO2: an O K core loss (an edge seen in its counts) has its
    power-law background subtracted (zero-filled below the window) before the O K prediction is
    aligned to it and fitted; the raw counts would give a meaningless fit."""
    from amorpha.engine.examples import load_example
    from amorpha.engine.spectra.prepare import steps_of
    from amorpha.gui.app import _open_measured

    window = empty_window
    _open_measured(window, str(core_loss(tmp_path)))
    with qtbot.waitSignal(window.measured.fitted, timeout=180000):
        window.prediction.load_default()
        window.set_model(load_example("a-SiO2"), "a-SiO2")
    m = window.measured
    (step,) = steps_of(m.current)
    assert step.name == "powerlaw_background" and step.params == {"window": (472.0, 527.0), "zero_fill": True}
    assert m.aligned is not None and m.aligned.meta["edge_onset_ev"] == 532.0
    assert m.explanation is not None and window.measured_panel.window_of(window.measured_panel.fit_window) == (522.0, 592.0)
    # every O of a-SiO2 is two-fold: one coordination class would be a fit of 1 by construction
    assert m.classes.scheme == "ring" and len(m.classes.labels) >= 2
    plot = window.spectrum_panel  # the aligned prediction and the fit are framed like the counts
    (_, y_top), (lo, hi) = plot.plot.getViewBox().viewRange()[1], plot.focus
    for item in m.curves("aligned") + m.curves("fit"):
        x, y = item.getData()
        assert y[(x >= lo) & (x <= hi)].max() <= y_top


def test_the_edges_not_looked_for_are_named_briefly():
    """A file from −100 eV of counts scattered about 0 (as RosettaSciIO's test DM3): no power-law
    window fits before any of dozens of edges; three are named, and why."""
    from amorpha.gui.measured import _seen_text

    e = np.arange(-100.0, 1000.0, 1.0)
    text = _seen_text(Spectrum(e, np.random.default_rng(1).normal(0.0, 100.0, e.size)), [])
    assert text.startswith("no tabulated edge rises clearly above the background; too few channels before ")
    assert " more to fit one (a power law needs positive energies and counts)" in text and text.count("eV),") == 2


def test_a_range_narrower_than_the_window_asked_for_is_named():
    from amorpha.gui.panels.measured_panel import span_text

    assert span_text((530.81, 560.5), (530.0, 561.0)) == (
        "over 530.8–560.5 eV, where every curve has values (the window asks 530–561 eV)")
    assert span_text((522.0, 592.0), (522.0, 592.0)) == "over 522–592 eV"
    assert span_text((522.0, 592.0)) == "over 522–592 eV"


def test_zero_loss_shift_says_the_shift(qtbot, empty_window, tmp_path):
    window = empty_window
    m = opened(qtbot, window, core_loss(tmp_path))
    e = np.arange(-20.0, 60.0, 0.5)
    write_msa(Spectrum(e, 1e5 * gauss(e, 0.8, 0.6) + 50, label="low loss"), tmp_path / "low.msa")
    m.load_low_loss(str(tmp_path / "low.msa"))
    # its own task, not the first to finish: the start-up warm-up may end first on a busy machine
    qtbot.waitUntil(lambda: m.low_loss is not None, timeout=60000)
    with qtbot.waitSignal(m.changed, timeout=10000):
        m.zero_loss()
    assert window.measured_panel.status.text() == "Energy axis shifted by -0.800 eV."
    assert window.measured_panel.steps.item(0).text() == "1. Energy axis shifted by -0.800 eV"


def test_a_background_window_too_short_to_fit_keeps_what_opening_said(qtbot, empty_window, tmp_path):
    """RosettaSciIO's NiO example: 21 channels 3.1 eV apart from 520 eV, two before the O K onset."""
    from ase.build import bulk

    e = 520.13 + 3.1 * np.arange(21)
    write_msa(Spectrum(e, 1000.0 + 500.0 * (e > 532)), path := tmp_path / "nio.msa")
    window = empty_window
    window.set_model(bulk("NiO", "rocksalt", 4.17), "NiO")
    opened(qtbot, window, path)
    status = window.measured_panel.status
    qtbot.waitUntil(lambda: "Background window:" in status.text(), timeout=10000)
    assert status.text().startswith("Opened nio.msa: 21 channels, 520.13–582.13 eV. The O K edge (532 eV)")
    assert status.text().endswith("holds 2 points, at least 3 needed.")


def test_candidate_models_that_fit_alike_alone_are_said_to():
    from types import SimpleNamespace

    from amorpha.gui.measured import _alike_note

    ranked = [SimpleNamespace(name="quartz", score=0.279), SimpleNamespace(name="glass", score=0.283),
              SimpleNamespace(name="a-Si", score=0.9)]
    assert _alike_note(ranked) == ["quartz, glass fit this spectrum about equally well alone "
                                   "(R-factors within 3%): it hardly tells them apart"]
    assert _alike_note(ranked[:1]) == [] and _alike_note([]) == []



def test_a_prediction_of_another_edge_is_refused_by_name(qtbot, empty_window, tmp_path):
    """An O K measurement beside the Si K model (no O K model loaded): Align, site classes and
    Explain said "b: the energy ranges do not overlap" or "components: …"; now which edge each is."""
    from amorpha.engine.build.crystals import alpha_quartz
    from amorpha.engine.surrogate.model import SpectrumModel
    from amorpha.gui.prediction import default_model_path

    window = empty_window
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(alpha_quartz((2, 2, 2)), "quartz")
    with qtbot.waitSignal(window.prediction.prediction_settled, timeout=60000):
        window.prediction.set_model(SpectrumModel.load(default_model_path()))  # Si K
    m = opened(qtbot, window, core_loss(tmp_path))
    assert m.edge_seen[:2] == ("O", "K")
    said = ("The measured spectrum shows the O K edge (532 eV); the prediction is Si K. Load or train "
            "a model of the O K edge (Predict panel).")
    for act in (lambda: m.align((-5.0, 25.0)), lambda: m.add_classes("oxidation")):
        with qtbot.waitSignal(window.error_shown, timeout=5000) as error:
            assert act() is None
        assert said in error.args[0]

"""The Diffusion panel in the window, on a small exact host: Li in fcc Ag (2×2×2 cells), whose
sites are the 32 octahedral and 64 tetrahedral holes joined by 256 oct–tet hops.

The numbers shown are checked against truth from outside the KMC: every site's hops have zero
mean jump (the holes are centrosymmetric in their neighbours), so the walk is a martingale and
D = (1/6) Σ_i p_i Σ_j k_ij |r_ij|² exactly, with p the Boltzmann occupation.
"""
import time

import numpy as np
import pytest
from ase.build import bulk

from amorpha.engine.diffusion import arrhenius_fit, diffusion_coefficient

from .plots import plot_notes

A_AG = 4.09


def fcc_host():
    return bulk("Ag", "fcc", a=A_AG, cubic=True).repeat(2)


def exact_d(network, temperature, nu=1e13):
    """D (Å²/s) of a walk whose every site has zero mean jump."""
    p = network.occupation(temperature)
    k = network.rates(temperature, nu)
    r2 = np.einsum("ij,ij->i", network.jumps, network.jumps)
    return float(np.sum(p[network.sources] * k * r2) / 6.0)


def show(qtbot, window, atoms, name="test host"):
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(atoms, name)


def find(qtbot, window, element="Li", hop_distance=3.0, energy_max=2.0):
    panel = window.diffusion_panel
    panel.element.setCurrentText(element)
    panel.energy_max.setValue(energy_max)
    panel.hop_distance.setValue(hop_distance)
    panel.find_button.click()
    # Generous: the first search in a fresh clone compiles the grid, minimiser and NEB kernels
    # (measured ~100 s of a 105 s search on a 2-core machine; 25 s once numba's cache is warm).
    qtbot.waitUntil(lambda: window.diffusion.landscape is not None or bool(window.last_error),
                    timeout=300000)
    assert window.diffusion.landscape is not None, window.last_error
    return window.diffusion.landscape


def scan(qtbot, window, t_from, t_to, n_temperatures, walkers, hops):
    """A temperature scan from the panel, as a user sets it up; returns when it is shown."""
    panel = window.diffusion_panel
    panel.t_from.setValue(t_from)
    panel.t_to.setValue(t_to)
    panel.n_temperatures.setValue(n_temperatures)
    panel.walkers.setValue(walkers)
    panel.hops.setValue(hops)
    with qtbot.waitSignal(window.diffusion.scan_shown, timeout=60000):
        panel.scan_button.click()


@pytest.fixture
def fcc_window(qtbot, empty_window):
    show(qtbot, empty_window, fcc_host(), "fcc Ag")
    empty_window.docks["Diffusion"].raise_()
    find(qtbot, empty_window)
    return empty_window


def test_sites_paths_profiles_and_picking(qtbot, fcc_window):
    window = fcc_window
    panel, control, overlay = window.diffusion_panel, window.diffusion, window.diffusion.overlay
    landscape = control.landscape
    assert len(landscape.sites) == 96 and len(landscape.paths) == 256
    assert overlay.sites_node.n == 96 and overlay.sites_node.visible
    # a link counts with its higher barrier (oct → tet, 1.377 eV): above the default 1 eV limit
    barriers = landscape.paths.barriers
    np.testing.assert_allclose(overlay.barriers, barriers.max(axis=1))
    assert barriers.min() == pytest.approx(0.591, abs=2e-3)  # tet → oct
    assert barriers.max() == pytest.approx(1.377, abs=2e-3)  # oct → tet
    # a new landscape shows its paths up to the percolation barrier (the default 1 eV hid all)
    assert panel.limit.value() == pytest.approx(1.38)
    assert len(overlay.shown) == 256 and overlay.paths_node.visible
    panel.limit.setValue(1.0)
    assert len(overlay.shown) == 0 and not overlay.paths_node.visible  # 1.377 eV > 1 eV limit
    panel.at_percolation.click()  # the lowest limit at which the shown paths span the cell
    assert panel.limit.value() == pytest.approx(1.38)
    assert len(overlay.shown) == 256 and overlay.paths_node.visible
    cmap, lo, hi, label = overlay.colorbar.info  # every oct–tet link has the same barrier
    assert lo == pytest.approx(barriers.max()) and hi == pytest.approx(barriers.max())
    assert label == "hop barrier (eV)" and overlay.colorbar.isVisible()
    assert "percolation barrier" in panel.summary.text()
    assert landscape.percolation == pytest.approx(barriers.max(), abs=1e-6)
    assert panel.model.rowCount() == 256

    # the host is drawn small without bonds by default, hidden or as it was on demand
    viewer = window.viewer
    assert viewer.atoms_node.radius_scale == pytest.approx(0.3) and not viewer.bonds_node.visible
    panel.host_style.setCurrentIndex(2)
    assert not viewer.atoms_node.visible
    panel.host_style.setCurrentIndex(1)
    assert viewer.atoms_node.visible and viewer.atoms_node.radius_scale == 1.0
    assert viewer.bonds_node.visible

    # a row of the table plots that path's profile and highlights it; before, the plot says so
    (note,) = plot_notes(panel.profile_plot)
    assert "pick a row in Paths" in note
    panel.select_path(17)
    assert not plot_notes(panel.profile_plot)
    assert overlay.highlighted == 17 and overlay.highlight_node.visible
    (curve, saddle) = [c for c in panel.profile_plot.getPlotItem().listDataItems()]
    distance, energy = landscape.paths.profile(17)
    np.testing.assert_allclose(curve.getData()[0], distance)
    np.testing.assert_allclose(curve.getData()[1], energy)
    assert saddle.getData()[1][0] == pytest.approx(energy.max())

    # a click on a path in the viewer selects it (real mouse events on the canvas)
    from PySide6.QtCore import QPoint, Qt

    qtbot.wait(200)
    k = 100
    middle = landscape.paths.images[k, len(landscape.paths.images[k]) // 2]
    x, y = np.round(window.viewer.project(middle[None])[0])  # the pixel the click lands on
    picked = overlay.pick(x, y)
    assert picked >= 0  # the nearest path under that pixel: k or one drawn across it
    qtbot.mouseClick(window.viewer.canvas.native, Qt.LeftButton, pos=QPoint(int(x), int(y)))
    assert overlay.highlighted == picked
    rows = panel.table.selectionModel().selectedRows()
    assert panel.proxy.mapToSource(rows[0]).row() == picked


def test_kmc_walkers_and_arrhenius_against_the_exact_d(qtbot, fcc_window):
    window = fcc_window
    panel, control = window.diffusion_panel, window.diffusion
    network = control.landscape.network
    panel.temperature.setValue(1000.0)
    panel.walkers.setValue(400)
    panel.hops.setValue(4000)
    with qtbot.waitSignal(control.kmc_shown, timeout=60000):
        panel.kmc_button.click()
    result = control.kmc
    fit = diffusion_coefficient(result)
    exact = exact_d(network, 1000.0)
    assert abs(fit.D - exact) < 4 * fit.D_err and fit.D_err < 0.1 * exact
    assert "cm²/s" in panel.result.text() and "1000 K" in panel.result.text()
    assert "did not cross" not in panel.result.text()  # 4000 hops cross the 8.2 Å cell each way
    assert len(panel.msd_plot.getPlotItem().listDataItems()) >= 2  # MSD and the fitted line

    # the walkers move in the viewer, always inside the cell, until stopped
    assert control.timer.isActive() and panel.animate_button.isChecked()
    first = control.overlay.walkers_node._positions.copy()
    qtbot.waitUntil(lambda: control._frame >= 3, timeout=5000)
    now = control.overlay.walkers_node._positions
    assert len(now) == panel.animated.value() and not np.allclose(first, now)
    frac = now @ np.linalg.inv(network.cell)
    assert (frac >= -1e-6).all() and (frac < 1 + 1e-6).all()
    panel.animate_button.click()
    assert not control.timer.isActive()

    # the temperature scan's activation energy is that of the exact D(T)
    scan(qtbot, window, 900.0, 1300.0, 4, walkers=300, hops=3000)
    temperatures = np.linspace(900, 1300, 4)
    truth = arrhenius_fit(temperatures, [exact_d(network, t) for t in temperatures])
    assert abs(control.fit.activation_energy - truth.activation_energy) < \
        4 * control.fit.activation_energy_err
    assert control.fit.activation_energy_err < 0.05
    text = panel.result.text()
    assert "E_a" in text and "percolation barrier" in text and "1.377 eV" in text
    assert "did not cross" not in text  # the walkers crossed the cell: nothing to warn of
    assert "<b>Percolation barrier</b>" in panel.result.toolTip()
    names = [item.name() for item in panel.arrhenius_plot.getPlotItem().listDataItems()]
    assert any(n and n.startswith("fit: E_a") for n in names)
    assert any(n and "percolation barrier" in n for n in names)
    ln_d = panel.arrhenius_plot.getPlotItem().listDataItems()[0].getData()[1]
    np.testing.assert_allclose(ln_d, np.log(control.scan.D * 1e-16))


def test_stop_keeps_the_trajectory_so_far(qtbot, fcc_window):
    window = fcc_window
    panel, control = window.diffusion_panel, window.diffusion
    panel.temperature.setValue(1000.0)
    panel.walkers.setValue(10)
    panel.hops.setValue(100_000_000)  # a minute or more
    reached = []
    window.runner.task_progress.connect(lambda handle, fraction, message: reached.append(fraction))
    panel.kmc_button.click()
    assert panel.stop_button.isEnabled() and not panel.kmc_button.isEnabled()
    # a few of the 200 recorded times done (the worker runs at low priority: wait, not sleep)
    qtbot.waitUntil(lambda: bool(reached) and reached[-1] > 3 / 200, timeout=60000)
    start = time.perf_counter()
    with qtbot.waitSignal(control.kmc_shown, timeout=2000):
        panel.stop_button.click()
    seconds = time.perf_counter() - start
    assert seconds < 0.5, f"the run stopped {seconds:.2f} s after Stop"
    result = control.kmc
    assert result.cancelled and len(result.times) >= 2 and result.total_hops > 0
    assert "Stopped at" in panel.result.text() and "kept" in panel.result.text()
    qtbot.waitUntil(lambda: not control.busy, timeout=2000)
    assert panel.kmc_button.isEnabled() and not panel.stop_button.isEnabled()


def test_bad_input_gives_a_message_and_keeps_everything(qtbot, empty_window):
    window = empty_window
    host = fcc_host()
    # a slab with a gap: the paths span the cell sideways but never across the gap. That is
    # diffusion in sheets, not an error (it was said to be "no long-range diffusion")
    slab = host.copy()
    cell = slab.cell.array.copy()
    cell[2, 2] += 12.0
    slab.set_cell(cell)
    show(qtbot, window, slab, "Ag slab")
    window.last_error = ""
    with qtbot.waitSignal(window.diffusion.landscape_shown, timeout=300000):
        window.diffusion_panel.element.setCurrentText("Li")
        window.diffusion_panel.energy_max.setValue(2.0)
        window.diffusion_panel.hop_distance.setValue(3.0)
        window.diffusion_panel.find_button.click()
    qtbot.wait(100)
    assert window.last_error == ""
    summary = window.diffusion_panel.summary.text()
    assert "the paths span the cell only in the ab plane (sheets)" in summary, summary
    assert "none in 3D" in summary and window.diffusion.landscape.percolation is None
    assert window.diffusion_panel.at_percolation.isEnabled()  # up to the sheets' barrier

    # temperatures ≤ 0
    window.diffusion_panel.t_from.setValue(0.0)
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        window.diffusion_panel.scan_button.click()
    assert "above 0 K" in blocker.args[0]
    assert window.diffusion.scan is None and window.diffusion.landscape is not None

    # a host with no room for the mobile atom
    show(qtbot, window, bulk("Ni", "fcc", a=3.52, cubic=True).repeat(2), "Ni")
    assert window.diffusion.landscape is None and not window.diffusion.overlay.sites_node.visible
    window.diffusion_panel.element.setCurrentText("K")
    window.diffusion_panel.energy_max.setValue(1.0)
    with qtbot.waitSignal(window.error_shown, timeout=60000) as blocker:
        window.diffusion_panel.find_button.click()
    assert "K does not fit in this host: its lowest energy minimum is 10.198 eV" in blocker.args[0]
    assert "choose a smaller mobile atom such as Li: at 10.2 eV the atom is squeezed in" in \
        blocker.args[0]
    assert window.diffusion.landscape is None and len(window.atoms) == 32
    assert window.diffusion_panel.find_button.isEnabled()


@pytest.mark.parametrize("model", ["network", "soap"])
def test_a_registered_surrogate_is_offered_and_finds_the_same_holes(qtbot, empty_window, model):
    """A small surrogate (400 UFF energies; network or SOAP kernel model) in the registry: the
    combo offers it, and its landscape has UFF's 96 holes, 256 hops and percolation barrier
    (1.377 eV) within 0.05 eV."""
    from amorpha.engine.diffusion.point_soap import PointSoapParams
    from amorpha.engine.diffusion.surrogate import SurrogateParams
    from amorpha.gui import diffusion

    small = SurrogateParams(n_train=400, n_test=50, max_iter=500, hidden=(16,), wall_factor=0.5)
    if model == "soap":
        small = SurrogateParams(n_train=400, n_test=50, wall_factor=0.5, descriptor=PointSoapParams(
            r_cut=4.0, n_max=4, l_max=4, rank=60))
    entry = diffusion.EnergyFunction("test-surrogate", "test surrogate", "400 UFF energies",
                                     diffusion.surrogate_build(diffusion._uff, small))
    diffusion.register_energy_function(entry)
    try:
        window = empty_window
        window.diffusion.offer_energy_functions()
        panel = window.diffusion_panel
        keys = [panel.energy.itemData(k) for k in range(panel.energy.count())]
        assert keys[0] == "uff" and "surrogate-xtb" in keys and "test-surrogate" in keys
        show(qtbot, window, fcc_host(), "fcc Ag")
        panel.energy.setCurrentIndex(keys.index("test-surrogate"))
        landscape = find(qtbot, window)
        assert landscape.function == "test-surrogate"
        assert len(landscape.sites) == 96 and len(landscape.paths) == 256
        assert landscape.percolation == pytest.approx(1.377, abs=0.05)
        assert "held-out" in panel.summary.text() and "test RMSE" in panel.summary.text()
        assert "UFF's rise is added" in panel.summary.text()
    finally:
        del diffusion.ENERGY_FUNCTIONS["test-surrogate"]


def test_kmc_summary_says_when_d_is_not_resolved_and_what_a_stop_kept():
    """A negative D with an error six times its size was shown in bold as a result; a run
    stopped before the first recorded time said its (empty) trajectory was kept."""
    from dataclasses import replace

    from amorpha.engine.diffusion.analysis import DiffusionFit
    from amorpha.engine.diffusion.kmc import KmcParams, run_kmc
    from amorpha.engine.diffusion.network import simple_cubic_lattice
    from amorpha.gui.diffusion import kmc_summary

    result = run_kmc(simple_cubic_lattice(4, 1.0, 0.1), KmcParams(300.0, n_walkers=20, n_steps=200,
                                                                   n_samples=10, seed=1))
    resolved = kmc_summary(result, DiffusionFit(2.0e7, 1.0e6, 3, 0.0, 1.0))
    assert "D = <b>" in resolved and "Stopped" not in resolved
    unresolved = kmc_summary(result, DiffusionFit(-4.74e7, 3.1e8, 3, 0.0, 1.0))
    assert "D not resolved (-4.74e-09 ± 3.1e-08 cm²/s" in unresolved and "<b>" not in unresolved
    stopped = replace(result, times=result.times[:1], displacements=result.displacements[:1], cancelled=True)
    assert "no trajectory to keep" in kmc_summary(stopped, None)
    partly = replace(result, times=result.times[:4], displacements=result.displacements[:4], cancelled=True)
    assert "the trajectory so far is kept" in kmc_summary(partly, None)

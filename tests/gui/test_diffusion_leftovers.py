"""The Diffusion panel after the audit's leftovers: Save trajectories…, sites coloured by the
time spent on them, merged sites drawn and listed as the network counts them. A lattice
landscape with merged sites is set directly (no site search): fast."""
import ase.io
import numpy as np
import pytest
from PySide6.QtCore import Qt

from amorpha.engine.diffusion import long_range, mean_squared_displacement, site_to_site
from test_kmc_leftovers import merged_pairs

from .test_diffusion_audit_fixes import run


@pytest.fixture(autouse=True)
def no_preferences(monkeypatch):
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


@pytest.fixture
def window(qtbot, empty_window):
    """The window showing :func:`merged_pairs`' landscape (8 sites of 16 minima, 2³ lattice)."""
    from ase import Atoms

    from amorpha.gui.diffusion import Landscape

    _, (sites, paths, network) = merged_pairs()
    host = Atoms("He", positions=[[1.5, 1.5, 1.5]], cell=sites.cell, pbc=True)
    with qtbot.waitSignal(empty_window.model_ready, timeout=60000):
        empty_window.set_model(host, "lattice")
    empty_window.docks["Diffusion"].raise_()
    empty_window.diffusion._show_landscape(Landscape(empty_window.diffusion.atoms, sites, paths,
                                                     network, long_range(network), "uff"))
    return empty_window


def test_save_trajectories_after_a_run(qtbot, window, tmp_path):
    panel, controller = window.diffusion_panel, window.diffusion
    assert not panel.trajectories_button.isEnabled() and not panel.site_time.isEnabled()
    panel.saved_walkers.setValue(30)
    run(qtbot, window, 50, 400)
    assert panel.trajectories_button.isEnabled()
    task = controller.save_trajectories(str(tmp_path / "w.extxyz"))  # in the background
    qtbot.waitUntil(lambda: task.finished, timeout=20000)
    frames = ase.io.read(tmp_path / "w.extxyz", index=":")
    result = controller.run
    assert len(frames) == len(result.times) and len(frames[0]) == 30
    assert frames[0].info["seed"] == panel.seed.value() and frames[0].info["temperature_K"] == 600
    positions = np.array([f.positions for f in frames])
    first = type(result)(result.times, result.displacements[:, :30], *[
        getattr(result, name) for name in ("hops", "start_sites", "final_sites", "site_time",
                                           "temperature", "attempt_frequency", "duration",
                                           "cancelled", "seconds")])
    np.testing.assert_allclose(((positions - positions[0]) ** 2).sum(2).mean(1),
                               mean_squared_displacement(first).msd, rtol=1e-6, atol=1e-6)
    panel.saved_walkers.setValue(panel.saved_walkers.maximum())  # 50 walkers: all of them
    task = controller.save_trajectories(str(tmp_path / "all.extxyz"))
    qtbot.waitUntil(lambda: task.finished, timeout=20000)
    assert len(ase.io.read(tmp_path / "all.extxyz", index="0")) == 50


def test_sites_coloured_by_time_spent(qtbot, window, monkeypatch):
    """Each site's colour is its share of the time on the bar's scale, which says what it shows;
    off, the sites are white again and the bar goes; a new landscape unchecks it."""
    from amorpha.engine.diffusion import time_fractions
    from amorpha.gui.diffusion import SITE_TIME_CMAP
    from amorpha.gui.viewer.colormap import map_values
    from amorpha.gui.viewer.paths_visual import SITE_COLOR

    panel, controller = window.diffusion_panel, window.diffusion
    node, painted = controller.overlay.sites_node, []
    monkeypatch.setattr(node, "set_colors", lambda c, real=node.set_colors: (painted.append(c), real(c)))
    run(qtbot, window, 200, 500)
    panel.site_time.setChecked(True)
    bar = controller.site_bar
    assert bar.visible and bar.info[3] == "time on site: fraction"  # < 2 decades: linear
    fractions = time_fractions(controller.kmc)
    assert bar.info[1:3] == pytest.approx((fractions.min(), fractions.max()))
    np.testing.assert_allclose(painted[-1], map_values(fractions, SITE_TIME_CMAP, *bar.info[1:3]))
    panel.site_time.setChecked(False)
    assert not bar.visible and np.allclose(painted[-1], SITE_COLOR)
    panel.site_time.setChecked(True)
    controller._show_landscape(controller.landscape)
    assert not panel.site_time.isChecked() and not bar.visible


def test_site_time_colours_go_logarithmic_over_decades():
    from amorpha.gui.diffusion import site_time_colours

    _, lo, hi, label = site_time_colours(np.array([1e-5, 1e-3, 0.5, 0.0]))
    assert "log₁₀" in label and (lo, hi) == pytest.approx((-5, np.log10(0.5)))
    _, lo, hi, label = site_time_colours(np.array([0.2, 0.3, 0.5]))
    assert "log" not in label and (lo, hi) == (0.2, 0.5)


def test_merged_sites_drawn_and_listed_as_the_network_counts_them(qtbot, window):
    """Paths drawn from site to site (a band from a merged member joined to its site's lowest
    minimum); the table's barriers and the profile's count from the sites' lowest minima, and
    the profile marks where that lies below the band's end."""
    panel, controller = window.diffusion_panel, window.diffusion
    landscape = controller.landscape
    paths = landscape.paths
    np.testing.assert_allclose(controller.overlay.images, site_to_site(landscape.sites, paths))
    barrier = paths.saddles - landscape.sites.energies[paths.edges[:, 0]]
    column = panel.model.sort_key(4)
    np.testing.assert_allclose(column, barrier)
    assert "lowest minimum" in panel.model.headerData(4, Qt.Horizontal, Qt.ToolTipRole)
    k = int(np.flatnonzero(paths.energies[:, -1] > paths.ends[:, 1] + 1e-3)[0])
    panel.select_path(k)
    names = [item.name() for item in panel.profile_plot.getPlotItem().listDataItems()]
    assert "lowest minimum of a merged site" in names
    assert any("from the sites' lowest minima" in (n or "") for n in names)

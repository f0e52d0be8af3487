"""What the Diffusion panel says and allows when a step fails, on the case a user review met:
the default mobile atom (Cu, sites up to 1 eV, UFF) in α-quartz, whose lowest Cu minimum is
1.559 eV, so no site is found; Li fits (54 sites in 2×2×2 cells)."""
import pytest

from amorpha.engine.build.crystals import CrystalParams, build_crystal

from .test_diffusion_panel import fcc_host, find, scan, show


@pytest.fixture
def quartz_window(qtbot, empty_window):
    show(qtbot, empty_window, build_crystal(CrystalParams("alpha-quartz", (2, 2, 2))), "α-quartz")
    empty_window.docks["Diffusion"].raise_()
    return empty_window


def find_li(qtbot, window):
    window.last_error = ""  # find() stops at an error: not at the one shown before
    return find(qtbot, window, "Li", hop_distance=6.0, energy_max=1.0)


def runs_enabled(panel):
    return panel.kmc_button.isEnabled(), panel.scan_button.isEnabled()


def test_no_site_says_what_to_change_and_kmc_waits_for_a_landscape(qtbot, quartz_window):
    window = quartz_window
    panel, control = window.diffusion_panel, window.diffusion
    # no landscape yet: nothing to walk on, and the buttons say so
    assert runs_enabled(panel) == (False, False)
    assert "Find sites and paths first" in panel.kmc_button.toolTip()
    assert "Find sites and paths first" in panel.scan_button.toolTip()

    assert panel.element.currentText() == "Cu" and panel.energy_max.value() == 1.0  # defaults
    with qtbot.waitSignal(window.error_shown, timeout=300000) as blocker:
        panel.find_button.click()
        assert "Sites and paths of Cu…" in panel.summary.text()  # says what runs, where it runs
    message = blocker.args[0]
    # was "energy_max: no site for Cu in this host below 1 eV (the lowest minimum is 1.559 eV):
    # the atom does not fit; raise energy_max or choose a smaller atom" (no such box in the panel)
    assert "lowest energy minimum is 1.559 eV" in message
    assert "raise “Sites up to” to 1.56 eV or more" in message
    assert "choose a smaller mobile atom such as Li" in message
    assert window.statusBar().currentMessage() == (
        "No site for Cu: raise “Sites up to” to ≥ 1.56 eV or choose a smaller mobile atom such as Li.")
    # the panel says it failed and why (not "… running"), and is idle again
    summary = panel.summary.text()
    assert "Sites and paths of Cu failed" in summary and "1.56 eV or more" in summary
    assert "…" not in summary and "…" not in panel.result.text()
    assert not panel.stop_button.isEnabled() and panel.find_button.isEnabled()
    assert not window.task_status.bar.isVisible()
    assert runs_enabled(panel) == (False, False) and control.landscape is None

    # the advice works: Li fits, and then KMC can run; the status bar no longer says "No site"
    find_li(qtbot, window)
    assert window.statusBar().currentMessage() == ""
    assert runs_enabled(panel) == (True, True)
    assert "first" not in panel.kmc_button.toolTip()
    assert control.overlay.sites_node.visible

    # a search that fails drops the landscape it would replace: KMC waits again
    panel.element.setCurrentText("Cu")
    with qtbot.waitSignal(window.error_shown, timeout=300000):
        panel.find_button.click()
    assert control.landscape is None and not control.overlay.sites_node.visible
    assert panel.model.rowCount() == 0
    assert runs_enabled(panel) == (False, False)
    assert "Sites and paths of Cu failed" in panel.summary.text()

    # so does another model, with or without a landscape
    find_li(qtbot, window)
    assert runs_enabled(panel) == (True, True)
    show(qtbot, window, fcc_host(), "fcc Ag")
    assert runs_enabled(panel) == (False, False) and control.landscape is None
    assert "Find sites and paths first" in panel.kmc_button.toolTip()


def test_a_failed_run_says_so_and_is_idle_again(qtbot, quartz_window):
    """A KMC run or scan that fails (here at 0 K) said "KMC at 0 K…" for ever."""
    window = quartz_window
    panel, control = window.diffusion_panel, window.diffusion
    find_li(qtbot, window)
    panel.temperature.setValue(0.0)
    with qtbot.waitSignal(window.error_shown, timeout=60000) as blocker:
        panel.kmc_button.click()
        assert panel.result.text() == "KMC at 0 K…"
    assert "above 0 K" in blocker.args[0]
    text = panel.result.text()
    assert text.startswith("<b>KMC at 0 K failed</b>") and "above 0 K" in text
    assert not panel.stop_button.isEnabled() and not control.busy
    assert not window.task_status.bar.isVisible()
    assert runs_enabled(panel) == (True, True)  # the landscape is still good

    panel.t_from.setValue(0.0)
    with qtbot.waitSignal(window.error_shown, timeout=60000):
        panel.scan_button.click()
    assert panel.result.text().startswith("<b>Temperature scan failed</b>")
    assert runs_enabled(panel) == (True, True) and control.landscape is not None

    # one temperature three times: refused before any run (it ran all three, then the fit failed)
    panel.t_from.setValue(800.0)
    panel.t_to.setValue(800.0)
    with qtbot.waitSignal(window.error_shown, timeout=10000) as blocker:
        panel.scan_button.click()
    assert "at least two different temperatures" in blocker.args[0] and not control.busy


def test_no_site_advice_for_a_small_atom_and_for_minima_that_are_saddles():
    from amorpha.engine.diffusion import NoSiteError
    from amorpha.gui.diffusion import no_site_advice

    li = no_site_advice(NoSiteError("Li", 0.5, 0.931))
    assert "raise “Sites up to” to 0.94 eV or more, or use a more open host" in li
    assert "smaller" not in li
    # minima below the ceiling that are no sites (saddles): no height to reach, the engine's words
    assert no_site_advice(NoSiteError("Cu", 1.0, 0.2)) == NoSiteError("Cu", 1.0, 0.2).reason
    # far above the free atom: a smaller atom first, not a ceiling of 10 eV
    k = no_site_advice(NoSiteError("K", 1.0, 10.198))
    assert "choose a smaller mobile atom such as Li: at 10.2 eV the atom is squeezed in" in k
    assert "10.20 eV or more" not in k
    assert no_site_advice(NoSiteError("K", 1.0, 10.198), short=True) == \
        "No site for K (lowest minimum 10.2 eV): choose a smaller mobile atom such as Li."


def test_a_scan_that_never_crossed_the_cell_says_what_e_a_is(qtbot, quartz_window):
    """Li in α-quartz moves along the c channels (barriers 0.33–0.60 eV) but must cross
    2.759 eV to go sideways: the scan's E_a (~0.6 eV) stood beside that percolation barrier with
    no word on which one long-range diffusion follows."""
    window = quartz_window
    panel, control = window.diffusion_panel, window.diffusion
    landscape = find_li(qtbot, window)
    assert landscape.percolation == pytest.approx(2.759, abs=2e-3)
    panel.walkers.setValue(50)
    panel.hops.setValue(2000)
    panel.n_temperatures.setValue(3)
    with qtbot.waitSignal(control.scan_shown, timeout=60000):
        panel.scan_button.click()
    assert control.fit.activation_energy < 1.0
    text = panel.result.text()
    assert "E_a" in text and "percolation barrier <b>2.759 eV</b>" in text
    assert ("The walkers did not cross the cell in all three directions (the typical walker got "
            "less than a cell length along a or b), so E_a describes only the hops they made; 3D long-range D at "
            "low T is governed by the percolation barrier.") in text
    tip = panel.result.toolTip()
    assert "<b>Percolation barrier</b> θ: the lowest barrier" in tip and "second half" in tip

    # a KMC run after it does not keep the scan's explanation, but says what its own D is:
    # the walkers' channel motion (MSD ÷ 6), not 3D diffusion, though it read as that before
    with qtbot.waitSignal(control.kmc_shown, timeout=60000):
        panel.kmc_button.click()
    text = panel.result.text()
    assert panel.result.toolTip() == "" and "percolation" not in text
    assert text.endswith(" The walkers did not cross the cell along a or b, so D describes only "
                         "the hops they made, not long-range 3D diffusion.")


def test_a_scan_along_channels_measures_d_along_them(qtbot, quartz_window, tmp_path):
    """Cu in α-quartz (sites up to 1.6 eV) spans the cell only along c: the scan's D is that of
    the displacements along c (÷ 2), three times MSD ÷ 6 since nothing moves across, so D₀ is a
    channel's; before, the scan fitted MSD ÷ 6 and gave a third of it."""
    from dataclasses import replace

    import numpy as np

    from amorpha.engine.diffusion import diffusion_coefficient, mean_squared_displacement, scan_reach
    from amorpha.gui.panels.diffusion_panel import format_d

    window = quartz_window
    panel, control = window.diffusion_panel, window.diffusion
    landscape = find(qtbot, window, "Cu", hop_distance=6.0, energy_max=1.6)
    assert landscape.spanning.dimensions == 1 and landscape.percolation is None
    assert not panel.save_button.isEnabled()  # no scan of this landscape yet
    scan(qtbot, window, 1500.0, 2500.0, 3, walkers=50, hops=2000)
    text = panel.result.text()
    assert "1500–2500 K, D along c: E_a = <b>" in text and "only along c (channels)" in text
    c = landscape.network.cell[2]
    # a scan keeps only its last run's trajectory (the audit: 241 MB per temperature at 5·10⁴
    # walkers); that run's D is the last temperature's
    for run, d in zip(control.scan.results, control.scan.D[-1:]):
        assert d == pytest.approx(diffusion_coefficient(run, along=[c]).D, rel=1e-12)
        # the sites zigzag a little about the channel's line: bounded, so ~nothing across
        assert d == pytest.approx(3 * diffusion_coefficient(run).D, rel=1e-3)
    assert "(÷ 2, or ÷ 4 in a sheet's plane)" in panel.result.toolTip()
    legend = [item.text for _, item in panel.arrhenius_plot.plotItem.legend.items]
    assert "KMC, D along c" in legend and any("percolation barrier along c" in t for t in legend)

    # Save scan…: the CLI's columns, the numbers shown, and where the paths span
    assert panel.save_button.isEnabled()
    control.save_scan(str(path := tmp_path / "scan.csv"))
    lines = path.read_text().splitlines()
    assert lines[6:8] == ["# energy: " + panel.energy.currentText(),
                          "# KMC: 50 walkers per temperature, 2000 hops per walker (Hops per "
                          "walker), attempt frequency 1e+13 Hz, seed 0, 200 recorded times (seed "
                          "+ k at the k-th temperature)"], lines
    rows = [l.split(",") for l in lines if not l.startswith("#")]
    assert rows[0] == ["frame", "sites", "paths", "percolation_barrier_eV", "spans", "T_K",
                       "D_A2_per_s", "D_err_A2_per_s", "D_status", "Ea_eV", "Ea_err_eV",
                       "D0_A2_per_s", "D0_err_A2_per_s", "seed", "hops_per_walker",
                       "crossed_a", "crossed_b", "crossed_c"]
    # how far the typical walker got at each temperature, as the CLI's JSON and the crossing
    # note have it
    reach = scan_reach(control.scan, landscape.network.cell)
    assert np.allclose([[float(x) for x in r[15:]] for r in rows[1:]], reach, rtol=1e-3)
    assert [float(r[5]) for r in rows[1:]] == list(control.scan.temperatures)
    assert [float(r[6]) for r in rows[1:]] == list(control.scan.D)  # repr: the same floats
    assert {r[4] for r in rows[1:]} == {"along c (channels)"}
    assert float(rows[1][9]) == control.fit.activation_energy and rows[1][1] == str(len(landscape.sites))
    assert float(rows[1][11]) == control.fit.prefactor  # D0, a column of its own
    assert "INCOMPLETE" not in path.read_text()
    control.scan = replace(control.scan, cancelled=True)  # as a stopped scan shows
    control.save_scan(str(path))
    assert "# INCOMPLETE: the scan was stopped; the finished temperatures" in path.read_text()
    one = replace(control.scan, temperatures=control.scan.temperatures[:1], D=control.scan.D[:1],
                  D_err=control.scan.D_err[:1])
    control._show_scan((one, None))  # a scan stopped after one temperature has no fit to save
    assert not panel.save_button.isEnabled() and "an Arrhenius fit needs two" in panel.result.text()
    # ... but the D it finished is said
    t0, d0, e0 = one.temperatures[0], one.D[0], one.D_err[0]
    assert "after 1 temperature:" in panel.result.text()
    assert f"D at {t0:g} K = {format_d(d0, e0)}." in panel.result.text(), panel.result.text()

    # one run says the same D as the scan at its temperature: along c, from the MSD along c
    panel.temperature.setValue(2500.0)
    with qtbot.waitSignal(control.kmc_shown, timeout=60000):
        panel.kmc_button.click()
    text, run = panel.result.text(), control.kmc
    along = diffusion_coefficient(run, along=[c])
    assert text.startswith(f"2500 K: D along c = <b>{format_d(along.D, along.D_err)}</b>"), text
    assert "principal values)." in text or "differs" not in text  # not "their mean, MSD/6"
    assert "did not cross" not in text  # along c they did; across is no part of D along c
    legend = [item.text for _, item in panel.msd_plot.plotItem.legend.items]
    assert legend[0] == "MSD along c at 2500 K" and legend[1].startswith("2Dt + c, D along c = ")

    # Save… now saves the run the line shows: MSD along c (as plotted) beside the 3D MSD
    assert panel.save_button.text() == "Save run…" and panel.save_button.isEnabled()
    control.save_run(str(path := tmp_path / "run.csv"))
    text = path.read_text()
    assert f"# D along c = {along.D!r} ± {along.D_err!r} A2/s, from MSD = 2 D t + c" in text
    assert f"# source: {window.source}, frame 0" in text.splitlines()
    table = np.loadtxt(path, delimiter=",", comments="#", skiprows=text.count("#") + 1)
    msd = mean_squared_displacement(run, along=[c])
    assert np.array_equal(table[:, :3], np.column_stack([msd.times, msd.msd, msd.stderr]))
    assert np.array_equal(table[:, 3], mean_squared_displacement(run).msd)

    # and the landscape: every path with its sites, saddle and barriers, as in the Paths tab
    assert panel.save_paths_button.isEnabled()
    control.save_paths(str(path := tmp_path / "paths.csv"))
    rows = np.loadtxt(path, delimiter=",", comments="#", skiprows=path.read_text().count("#") + 1)
    paths = landscape.paths
    assert len(rows) == len(paths) and np.array_equal(rows[:, 1:3], paths.edges)
    assert np.array_equal(rows[:, 15:17], paths.barriers)
    # sites and paths found again: no run of the old ones to save or to plot (the MSD and
    # Arrhenius plots kept the old curves); each plot says what fills it
    with qtbot.waitSignal(control.landscape_shown, timeout=300000):
        panel.find_button.click()
    assert not panel.save_button.isEnabled() and panel.save_paths_button.isEnabled()
    for plot in (panel.msd_plot, panel.arrhenius_plot):
        assert not plot.getPlotItem().listDataItems()
    show(qtbot, window, fcc_host(), "fcc")  # another model: nothing of the old one to save
    assert not panel.save_button.isEnabled() and not panel.save_paths_button.isEnabled()


def test_crossing_note_names_the_temperatures_and_directions_not_crossed():
    import numpy as np

    from amorpha.engine.diffusion import Spanning
    from amorpha.gui.diffusion import crossing_note

    def note(temperatures, reach, spanning):
        return crossing_note(reach, "E_a", temperatures, spanning)

    bulk = Spanning(1.2, np.eye(3, dtype=int))
    assert note([500, 600], [[1.5, 2.0, 3.0], [2.0, 2.5, 4.0]], bulk) == ""
    some = note([500, 600, 700], [[0.3, 0.9, 5.0], [0.6, 1.2, 5.0], [1.1, 1.5, 5.0]], bulk)
    assert some.startswith(" At 500, 600 K the walkers did not cross the cell in all three "
                           "directions (the typical walker got less than a cell length along "
                           "a), so E_a describes")
    assert some.endswith("; 3D long-range D at low T is governed by the percolation barrier.")
    stuck = note([500, 600], [[0.3, 0.2, 0.5], [0.4, 0.3, 0.2]], None)
    assert "(the typical walker got less than a cell length in any direction)" in stuck
    assert stuck.endswith("this network allows no long-range diffusion.")
    assert note([500, 600], None, None) == ""  # a finite network has no cell to cross
    # along channels only the direction along them needs crossing, and they govern
    channel = Spanning(2.3, np.array([[0, 0, 1]]))
    assert note([500, 600], [[0.1, 0.2, 1.5], [0.1, 0.3, 2.0]], channel) == ""
    short = note([500, 600], [[0.1, 0.2, 0.5], [0.1, 0.3, 2.0]], channel)
    assert short == (" At 500 K the walkers did not cross the cell along c (the typical walker "
                     "got less than a cell length along c), so E_a describes only the hops they made; long-range "
                     "D at low T is governed by the percolation barrier along c.")
    sheet = Spanning(0.5, np.array([[1, 0, 0], [0, 1, 0]]))
    assert ("did not cross the cell in the ab plane (the typical walker got less than a cell "
            "length along b)") in note([500], [[3.0, 0.4, 0.0]], sheet)

    # one run: its reach alone, and the directions it did not cross
    assert crossing_note([1.2, 3.0, 1.0]) == "" and crossing_note(None) == ""
    assert crossing_note([0.4, 0.7, 12.0]) == (
        " The walkers did not cross the cell along a or b, so D describes only the hops they "
        "made, not long-range 3D diffusion.")
    assert "did not cross the cell in any direction, so D" in crossing_note([0.4, 0.7, 0.9])


def test_kmc_summary_says_when_the_walkers_did_not_cross_the_cell():
    """Hops along z only (as Li along α-quartz's c channels): the run's D read as 3D diffusion."""
    import numpy as np

    from amorpha.engine.diffusion import (KmcParams, cells_crossed, diffusion_coefficient,
                                          diffusion_tensor, run_kmc, simple_cubic_lattice)
    from amorpha.gui.diffusion import kmc_summary

    def summary(network):
        result = run_kmc(network, KmcParams(800.0, n_walkers=50, n_steps=1000, n_samples=20, seed=1))
        return kmc_summary(result, diffusion_coefficient(result), cells_crossed(result, network.cell),
                           diffusion_tensor(result), network.cell)

    channels = summary(simple_cubic_lattice(3, 2.0, np.tile([20.0, 20.0, 0.2], 27)))
    # measured as 3D diffusion (no spanning given), D is not converged across the channels
    assert "D = " in channels and "<b>not converged</b>" in channels and channels.endswith(
        " The walkers did not cross the cell along a or b, so D describes only the hops they "
        "made, not long-range 3D diffusion.")
    # the D along the channels is 3x the MSD/6 shown first, and nothing goes across
    assert " D differs with direction: " in channels and "cm²/s along c, ≈ 0 across it (" in channels
    isotropic = summary(simple_cubic_lattice(3, 2.0, 0.2))
    assert "did not cross" not in isotropic and "differs with direction" not in isotropic


def test_a_direction_is_named_after_the_cell_vector_it_lies_along():
    import numpy as np

    from amorpha.gui.diffusion import direction_name

    hexagonal = np.array([[4.9, 0.0, 0.0], [-2.45, 4.24, 0.0], [0.0, 0.0, 5.4]])
    assert direction_name([0.0, 0.0, -1.0], hexagonal) == "c"
    assert direction_name([-0.5, 0.866, 0.0], hexagonal) == "b"
    assert direction_name([0.0, 1.0, 0.0], hexagonal) == "[0.00 1.00 0.00]"  # b* is no cell vector
    assert direction_name([0.0, 1.0, 0.05]) == "y"
    assert direction_name([-1.0, -1.0, 0.0]) == "[0.71 0.71 0.00]"


def in_view(area, widget):
    """Whether ``widget`` lies wholly inside the visible part of the scroll ``area``."""
    top = widget.mapTo(area.viewport(), widget.rect().topLeft()).y()
    return 0 <= top and top + widget.height() <= area.viewport().height()


def test_the_result_and_its_plots_are_scrolled_into_view_at_1280x800(qtbot, quartz_window):
    """At 1280×800 the result line and the MSD tabs were below the fold of the dock."""
    window = quartz_window
    window.resize(1280, 800)
    panel, control = window.diffusion_panel, window.diffusion
    area = window.docks["Diffusion"].widget()
    find_li(qtbot, window)
    qtbot.wait(50)
    assert not in_view(area, panel.tabs)  # below the fold

    panel.walkers.setValue(50)
    panel.hops.setValue(2000)
    with qtbot.waitSignal(control.kmc_shown, timeout=60000):
        panel.kmc_button.click()
    qtbot.waitUntil(lambda: in_view(area, panel.result) and in_view(area, panel.tabs), timeout=2000)
    assert panel.tabs.currentWidget() is panel.msd_plot
    assert in_view(area, panel.kmc_button)  # and the buttons that ran it

    # a longer result (the scan's, four lines) and a failure are shown too
    area.verticalScrollBar().setValue(0)
    with qtbot.waitSignal(control.scan_shown, timeout=60000):
        panel.scan_button.click()
    qtbot.waitUntil(lambda: in_view(area, panel.result) and in_view(area, panel.tabs), timeout=2000)
    assert "did not cross the cell" in panel.result.text()
    area.verticalScrollBar().setValue(0)
    panel.temperature.setValue(0.0)
    with qtbot.waitSignal(window.error_shown, timeout=60000):
        panel.kmc_button.click()
    qtbot.waitUntil(lambda: in_view(area, panel.result), timeout=2000)
    assert "failed" in panel.result.text()


def test_how_far_the_paths_reach_is_said_in_cell_vectors():
    import numpy as np

    from amorpha.engine.diffusion import Spanning, winding_name
    from amorpha.gui.diffusion import barrier_name, spanning_text

    assert [winding_name(w) for w in ([0, 0, -1], [1, 1, 0], [2, -2, 0], [-2, 0, 1])] == [
        "c", "a + b", "a − b", "2a − c"]
    assert spanning_text(None).endswith("no long-range diffusion")
    assert spanning_text(Spanning(0.7, np.eye(3, dtype=int))) == "percolation barrier <b>0.700 eV</b>"
    assert spanning_text(Spanning(2.339, np.array([[0, 0, 1]]))) == (
        "the paths span the cell only along c (channels), from a barrier of <b>2.339 eV</b>: "
        "long-range diffusion along c, none in 3D")
    assert "only in the bc plane (sheets)" in spanning_text(Spanning(0.5, np.array([[0, 1, 0], [0, 1, 1]])))
    assert "in the plane of a and b + c" in spanning_text(Spanning(0.5, np.array([[1, 0, 0], [0, 1, 1]])))
    # the Arrhenius plot's reference line
    assert barrier_name(Spanning(0.7, np.eye(3, dtype=int))) == "percolation barrier"
    assert barrier_name(Spanning(2.3, np.array([[0, 0, 1]]))) == "percolation barrier along c"


def test_anisotropy_is_said_only_when_the_run_resolves_it():
    import numpy as np

    from amorpha.engine.diffusion import DiffusionTensor
    from amorpha.gui.diffusion import anisotropy_note

    def note(values, errors):
        return anisotropy_note(DiffusionTensor(np.diag(values), np.array(values), np.array(errors),
                                               np.eye(3), 0.0, 1.0), np.diag([5.0, 5.0, 9.0]))

    sheets = note([2e16, 1.9e16, 1e13], [1e14, 1e14, 1e13])  # Å²/s; zero within 2 errors along c
    assert sheets.startswith(" D differs with direction: 2 ± 0.01 cm²/s along a, 1.9 ± 0.01 cm²/s "
                             "along b, ≈ 0 along c (")
    assert note([2e16, 1.9e16, 1.8e16], [1e14] * 3) == ""  # about the same every way
    assert note([2e16, 1e15, 1e15], [1.5e16, 1e15, 1e15]) == ""  # a difference within the scatter

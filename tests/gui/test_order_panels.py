"""Rings and Order docks: compute through the panels, highlight rings, colour by the results."""
import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt

from amorpha.engine.build.crystals import alpha_quartz, beta_cristobalite
from amorpha.gui.panels.order_panel import GR, HAVE_DISTRIBUTIONS, SQ
from amorpha.engine.order.rings import write_ring_statistics

from .plots import plot_notes

pytestmark = pytest.mark.gl

SIO_ONLY = {(8, 14): 2.0, (14, 14): 0.0, (8, 8): 0.0}


@pytest.fixture
def window(empty_window):
    return empty_window


def show(qtbot, win, atoms, name="model"):
    """Show ``atoms`` with Si–O bonds only (cutoff 2.0 Å) and wait for the bonds."""
    win.cutoff_overrides = dict(SIO_ONLY)
    with qtbot.waitSignal(win.model_ready, timeout=60000):
        win.set_model(atoms, name)


def run(qtbot, win, button, timeout=60000):
    """Click a Compute button and wait until its task (not the warm-up) has finished."""
    button.click()
    qtbot.waitUntil(
        lambda: button.isEnabled() and not [h for h in win.runner.running if not h.label.startswith("_")],
        timeout=timeout,
    )
    assert win.last_error == ""


def rings(qtbot, win, definition="primitive", max_size=24):
    panel = win.rings_panel
    win.docks["Rings"].raise_()  # its highlights are drawn while the panel is in front
    panel.definition.setCurrentIndex(panel.definition.findData(definition))
    panel.max_size.setValue(max_size)
    run(qtbot, win, panel.compute_button)
    assert panel.result is not None, win.last_error
    return panel.result


def choices(win):
    return win.view_panel.color_keys()


def atoms_of(result, ring_ids):
    return np.unique(np.concatenate([result.ring(r) for r in ring_ids]))


def test_cristobalite_rings_histogram_bar_and_row_selection(qtbot, window, tmp_path):
    show(qtbot, window, beta_cristobalite((2, 2, 2)))
    assert window.rings_panel.count_element.currentText() == "Si"
    notes = plot_notes(window.rings_panel.plot)
    assert ["Compute rings" in n for n in notes] == [True]  # not an empty frame
    result = rings(qtbot, window)
    assert not plot_notes(window.rings_panel.plot)
    n_si = int(np.count_nonzero(window.atoms.numbers == 14))
    assert result.histogram() == {6: 2 * n_si}
    heights = window.rings_panel.bars.opts["height"]
    assert list(window.rings_panel.bars.opts["x"]) == [6] and list(heights) == [2 * n_si]

    window.rings_panel.select_size(6)
    six = np.flatnonzero((result.sizes_counted == 6) & ~result.wraps)
    assert np.array_equal(window.viewer.selection, atoms_of(result, six))
    assert f"{len(six)} rings" in window.rings_panel.selection_note.text()

    five = int(six[5])
    window.rings_panel.select_rings([five])
    assert np.array_equal(window.viewer.selection, np.unique(result.ring(five)))
    assert "1 ring," in window.rings_panel.selection_note.text()

    assert "ring_count" in choices(window) and "ring_min_size" in choices(window)
    assert window.atoms.arrays["ring_count"][window.atoms.numbers == 14].min() > 0
    window.view_panel.set_color_key("ring_count")
    assert window.last_error == ""

    out = tmp_path / "rings.csv"
    write_ring_statistics(result, out)
    rows = [r for r in csv.reader(l for l in out.read_text().splitlines() if not l.startswith("#"))]
    assert rows[0] == ["size", "R_C", "R_C_per_node", "P_N", "P_max", "P_min"]
    assert rows[1][0] == "6" and float(rows[1][1]) == 2 * n_si and float(rows[1][3]) == 1.0


def test_quartz_table_rows_select_their_rings(qtbot, window):
    show(qtbot, window, alpha_quartz((3, 3, 3)))
    result = rings(qtbot, window)
    assert result.histogram() == {6: 81, 8: 405}
    panel = window.rings_panel
    assert panel.proxy.rowCount() == 81 + 405  # cycles through the boundary hidden
    panel.show_wrapping.setChecked(True)
    assert panel.proxy.rowCount() == result.n_rings
    panel.show_wrapping.setChecked(False)
    panel.table.sortByColumn(1, Qt.DescendingOrder)  # sort by size: rows move, rings stay
    panel.table.selectRow(0)
    ring = panel.selected_rings
    assert len(ring) == 1 and result.sizes_counted[ring[0]] == 8
    assert np.array_equal(window.viewer.selection, np.unique(result.ring(ring[0])))
    panel.select_size(8)  # a bar click replaces the row selection
    assert len(panel.table.selectionModel().selectedRows()) == 0
    eight = np.flatnonzero((result.sizes_counted == 8) & ~result.wraps)
    assert np.array_equal(window.viewer.selection, atoms_of(result, eight))
    panel.clear_selection()
    assert len(window.viewer.selection) == 0


def test_a_unit_cell_gets_its_rings_and_says_it_was_searched_as_a_supercell(qtbot, window):
    """The 9-atom α-quartz cell (a CIF as downloaded): 1 six-ring and 5 eight-rings per Si, as in
    the large cells, and the panel says why it searched a supercell; a row still highlights its
    ring's atoms (an 8-ring passes some atom of this cell twice)."""
    show(qtbot, window, alpha_quartz())
    result = rings(qtbot, window)
    assert result.histogram() == {6: 3, 8: 15} and result.repeats != (1, 1, 1)
    panel = window.rings_panel
    assert "too small to hold them" in panel.status.text() and "supercell, counted per cell" in panel.status.text()
    assert panel.proxy.rowCount() == 18 and not panel.show_wrapping.isEnabled()
    eight = int(np.flatnonzero(result.sizes_counted == 8)[0])
    panel.select_rings([eight])
    assert np.array_equal(window.viewer.selection, np.unique(result.ring(eight)))
    assert panel.export_rings_button.isEnabled()
    panel.select_size(9)  # as --ring-size 9 asks: none, and the panel says which sizes there are
    assert panel.selection_note.text() == "No 9-rings among those counted (sizes found: 6, 8)."


def test_glass_three_rings_highlighted(qtbot, window, shared_data):
    path = shared_data / "structures" / "sovapy" / "a_SiO2_speed1e11K.xyz"
    window.cutoff_overrides = dict(SIO_ONLY)
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.open_path(str(path))
    result = rings(qtbot, window)
    three = np.flatnonzero((result.sizes_counted == 3) & ~result.wraps)
    assert len(three) == 2
    window.rings_panel.select_size(3)
    assert np.array_equal(window.viewer.selection, atoms_of(result, three))
    assert len(window.viewer.selection) == 12  # two Si3O3 rings, no atom shared


def test_cancel_rings_changes_nothing(qtbot, window):
    show(qtbot, window, beta_cristobalite((6, 6, 6)))
    before = set(window.atoms.arrays)
    panel = window.rings_panel
    panel.max_size.setValue(30)
    rings_done = lambda handle, state: handle.label == "Rings"  # noqa: E731
    with qtbot.waitSignal(window.runner.task_finished, timeout=60000,
                          check_params_cb=rings_done) as blocker:
        panel.compute_button.click()
        assert not panel.compute_button.isEnabled()
        window.task_status.cancel_current()
    assert blocker.args[1] == "cancelled"
    assert panel.compute_button.isEnabled() and panel.result is None
    assert set(window.atoms.arrays) == before and "ring_count" not in choices(window)
    assert "cancelled" in panel.status.text()
    # still usable: a smaller search runs to the end
    result = rings(qtbot, window, max_size=12)
    assert result.histogram() == {6: 2 * int(np.count_nonzero(window.atoms.numbers == 14))}


def test_a_long_ring_search_says_so_in_the_panel(qtbot, window):
    """fcc Cu, primitive rings to 24 atoms: hours of work, said in the Rings panel while it runs."""
    from ase.build import bulk

    show(qtbot, window, bulk("Cu", "fcc", 3.61, cubic=True).repeat(6))
    panel = window.rings_panel
    panel.max_size.setValue(24)
    panel.compute_button.click()
    qtbot.waitUntil(lambda: "a long search" in panel.status.text(), timeout=30000)
    assert "King/Guttman rings" in panel.status.text()
    rings_done = lambda handle, state: handle.label == "Rings"  # noqa: E731
    with qtbot.waitSignal(window.runner.task_finished, timeout=10000, check_params_cb=rings_done):
        window.task_status.cancel_current()
    assert "cancelled" in panel.status.text()


def test_tetrahedral_and_steinhardt_columns(qtbot, window):
    show(qtbot, window, alpha_quartz((3, 3, 3)))
    order = window.order_panel
    assert order.centre.currentText() == "Si" and order.neighbor.currentText() == "O"
    # bonded O only, by default: the Si–O bond cutoff of the bonds drawn (show() sets 2.0 Å),
    # never "none" beside a result made with one
    assert order.t_cutoff.value() == 2.0 and order.t_cutoff.text() == "2.000 Å"
    assert ["Compute q" in n for n in plot_notes(order.value_plot)] == [True]  # not an empty frame
    run(qtbot, window, order.tetrahedral_button)
    assert not plot_notes(order.value_plot)
    assert "0.99965" in order.value_note.text()
    assert "Si over its 4 nearest O neighbours within 2.000 Å" in order.value_note.text()
    order.t_cutoff.setValue(0.0)  # changed after the run: the note still says what was used
    assert order.t_cutoff.text() == "none" and "within 2.000 Å" in order.value_note.text()
    window.set_cutoffs({})  # the covalent-radius defaults: Si–O 2.124 Å, Si–Si 2.664 Å
    qtbot.waitUntil(lambda: window.cutoff_overrides == {}, timeout=30000)
    assert order.t_cutoff.value() == 2.124
    order.neighbor.setCurrentText("any element")  # another pair: its bond cutoff (Si–Si the longest)
    assert order.t_cutoff.value() == 2.664
    order.neighbor.setCurrentText("O")
    # the Bonds table's cutoffs are the bonds meant: a Si–O cutoff set there is the default here
    window.set_cutoffs({**window.cutoff_overrides, (8, 14): 1.9})
    qtbot.waitUntil(lambda: window.cutoff_overrides.get((8, 14)) == 1.9, timeout=30000)
    assert order.t_cutoff.value() == 1.9
    order.t_cutoff.setValue(2.2)  # typed: the same bonds found again (a new frame) keep it
    order.set_bond_cutoffs(dict(window.cutoff_overrides))
    assert order.t_cutoff.value() == 2.2
    q = window.atoms.arrays["tetrahedral_q"]
    assert np.allclose(q[window.atoms.numbers == 14], 0.99965, atol=1e-5)
    assert np.isnan(q[window.atoms.numbers == 8]).all()
    assert "tetrahedral_q" in choices(window)
    window.view_panel.set_color_key("tetrahedral_q")

    order.l_value.setValue(6)
    order.averaged.setChecked(True)
    run(qtbot, window, order.steinhardt_button)
    assert {"q6", "q6_avg"} <= set(choices(window))
    assert order.value_key() == "q6_avg" and order.value_choice.currentText() == "Steinhardt q6, averaged"
    assert window.view_panel.color_key() == "tetrahedral_q"
    assert window.last_error == ""

    order.with_wl.setChecked(True)  # the README's "q_l / w_l (plain and averaged)"
    assert order.steinhardt_button.text() == "Compute q6 and w6"
    run(qtbot, window, order.steinhardt_button)
    assert {"w6", "w6_hat", "w6_avg", "w6_hat_avg"} <= set(choices(window))
    assert ("Also added as columns: Steinhardt q6; Steinhardt w6; Steinhardt ŵ6; Steinhardt w6, "
            "averaged; Steinhardt ŵ6, averaged.") in order.value_note.text()
    hat = window.atoms.arrays["w6_hat"][window.atoms.numbers == 14]
    assert np.isfinite(hat).all() and np.ptp(hat) < 1e-9  # one Si site in quartz


@pytest.mark.skipif(not HAVE_DISTRIBUTIONS, reason="pairs/angles/structure_factor engine absent")
def test_distributions_plot_and_export(qtbot, window, tmp_path):
    show(qtbot, window, alpha_quartz((3, 3, 3)))
    order = window.order_panel
    order.tabs.setCurrentIndex(1)
    assert ["Compute" in n for n in plot_notes(order.dist_plot)] == [True]
    for index, header in ((0, "r (Å)"), (1, "q (1/Å)"), (2, "angle (deg)")):
        order.kind.setCurrentIndex(index)
        run(qtbot, window, order.distribution_button)
        assert window.last_error == ""
        x_name, x, curves = order.curves
        assert x_name == header and all(len(v) == len(x) for v in curves.values())
        order.write_csv(tmp_path / f"{index}.csv")
        order.write_plot(tmp_path / f"{index}.png")
        assert (tmp_path / f"{index}.png").stat().st_size > 1000
        lines = (tmp_path / f"{index}.csv").read_text().splitlines()
        comments = [line for line in lines if line.startswith("# ")]
        assert "# model: Si81O162, 243 atoms" in "\n".join(comments)
        assert lines[len(comments)].startswith(header)
    # O–Si–O angles of a tetrahedron: 109.5 degrees on average
    assert "mean 109.4" in order.dist_note.text() or "mean 109.5" in order.dist_note.text()
    order.kind.setCurrentIndex(0)
    run(qtbot, window, order.distribution_button)
    assert set(order.curves[2]) == {"total", "O–O", "Si–O", "Si–Si"}
    assert order.curve_kind == GR and SQ != GR


def test_atoms_in_no_ring_are_grey_not_the_bottom_of_the_smallest_ring_scale(qtbot, window):
    """Smallest ring size is 0 for an atom in no ring: coloured as 0 it stretched the scale to
    0…6 and squeezed the ring sizes; it is grey (a missing value), the scale over the rings."""
    show(qtbot, window, beta_cristobalite((1, 1, 1)))
    rings(qtbot, window, "king")
    sizes = window.atoms.arrays["ring_min_size"]
    sizes[:3] = 0  # as in a glass: atoms in no ring
    window.view_panel.set_color_key("ring_min_size")
    _, lo, hi, label = window.viewer.colorbar.info
    assert (lo, hi) == (6.0, 6.0), label  # the scale of the rings; the three are the missing-value grey


def distribution_panel(shown, atoms, height="cell"):
    """An Order panel on its own, showing ``atoms``'s elements (a cell height unless None)."""
    from amorpha.gui.panels.order_panel import OrderPanel

    panel = shown(OrderPanel(), 450, 900)
    if height == "cell":
        height = float(1.0 / np.linalg.norm(np.linalg.inv(atoms.cell.array), axis=0).max())
    panel.set_elements(atoms.numbers, height)
    panel.tabs.setCurrentIndex(1)
    return panel


@pytest.mark.skipif(not HAVE_DISTRIBUTIONS, reason="pairs/angles/structure_factor engine absent")
def test_exported_curves_say_how_they_were_made(shown, tmp_path):
    from amorpha.engine.order.pairs import RdfParams, compute_rdf
    from amorpha.engine.order.structure_factor import StructureFactorParams, compute_structure_factor

    atoms = alpha_quartz((2, 2, 2))
    panel = distribution_panel(shown, atoms)
    rdf = compute_rdf(atoms, RdfParams(r_max=4.0, n_bins=80, weighting="number"))
    panel.show_distribution(GR, rdf)
    panel.write_csv(tmp_path / "g.csv")
    text = (tmp_path / "g.csv").read_text()
    assert "# r from 0 to 4 Å in 80 bins of 0.05 Å; r is the bin centre\n" in text
    assert "# model: Si24O48, 72 atoms, 0.079641 atoms/Å³\n" in text
    header, *rows = [r for r in csv.reader(text.splitlines()) if not r[0].startswith("#")]
    assert header[:5] == ["r (Å)", "total", "O–O", "Si–O", "Si–Si"]
    assert "N O around Si" in header and "N Si around O" in header and "N total" in header
    n_o = np.array([float(r[header.index("N O around Si")]) for r in rows])
    assert n_o[np.searchsorted(rdf.r, 2.0)] == pytest.approx(4.0)  # 4 O within 2 Å of each Si
    assert set(panel.curves[2]) == {"total", "O–O", "Si–O", "Si–Si"}  # N(r) is in the file only

    sq = compute_structure_factor(atoms, StructureFactorParams(r_max=4.0, q_max=20.0, weighting="xray"))
    panel.show_distribution(SQ, sq)
    panel.write_csv(tmp_path / "s.csv")
    comments = [line for line in (tmp_path / "s.csv").read_text().splitlines() if line.startswith("#")]
    assert comments[1:] == [
        "# weighting of the total: X-ray form factors of neutral atoms (fits: O Cromer–Mann, Si Cromer–Mann)",
        "# from g(r) up to r_max 4 Å in bins of 0.01 Å, Lorch window",
        "# q from 0.3 to 20 1/Å, 400 points",
        "# model: Si24O48, 72 atoms, 0.079641 atoms/Å³"]


@pytest.mark.skipif(not HAVE_DISTRIBUTIONS, reason="pairs/angles/structure_factor engine absent")
def test_no_angles_is_said_and_offers_no_empty_export(shown):
    from amorpha.engine.order.angles import AngleParams, compute_angles
    from amorpha.gui.panels.order_panel import ANGLES

    panel = distribution_panel(shown, alpha_quartz())
    panel.show_distribution(ANGLES, compute_angles(alpha_quartz(), AngleParams(("O", "Si", "O"))))
    assert panel.export_csv_button.isEnabled()
    panel.show_distribution(ANGLES, compute_angles(alpha_quartz(), AngleParams(("O", "O", "O"))))
    assert panel.dist_note.text() == ("No O–O–O angles (no such bonds): no O atom has two bonded O "
                                      "neighbours at the Structure panel's cutoffs (O–O < 1.584 Å).")
    assert "nan" not in panel.dist_note.text()
    assert plot_notes(panel.dist_plot) == ["No O–O–O angles (no such bonds)."]
    assert panel.curves is None and not panel.export_csv_button.isEnabled()
    assert not panel.export_plot_button.isEnabled()


@pytest.mark.skipif(not HAVE_DISTRIBUTIONS, reason="pairs/angles/structure_factor engine absent")
def test_structure_factor_inputs_are_checked_in_the_panel(shown):
    from ase.build import bulk

    atoms = alpha_quartz((2, 2, 2))  # smallest cell height 8.5 Å
    panel = distribution_panel(shown, atoms)
    panel.kind.setCurrentIndex(1)
    assert panel.sq_r_max.value() == 4.2 and panel.input_note.isHidden()
    panel.sq_r_max.setValue(6.0)
    assert panel.input_note.isVisible()
    assert ("From g(r) up to 6.0 Å is more than half the cell's smallest height (4.26 Å): the "
            "model's own periodic images give spurious peaks at low q.") == panel.input_note.text()
    panel.sq_r_max.setValue(4.0)
    assert panel.input_note.isHidden()
    panel.q_max.setValue(40.0)
    panel.weighting.setCurrentIndex(panel.weighting.findData("xray"))
    assert panel.q_max.value() == panel.q_max.maximum() == 25.1  # the Cromer–Mann fits' range
    assert "X-ray form factors hold up to q = 25.1 Å⁻¹" in panel.input_note.text()
    panel.weighting.setCurrentIndex(panel.weighting.findData("neutron"))
    assert panel.q_max.maximum() == 60.0 and panel.input_note.isHidden()

    nickel = distribution_panel(shown, bulk("Ni", cubic=True))
    nickel.kind.setCurrentIndex(1)
    nickel.weighting.setCurrentIndex(nickel.weighting.findData("xray"))
    assert nickel.q_max.maximum() == 60.0  # one element: the weights cancel, any q

    einsteinium_oxide = bulk("NaCl", "rocksalt", a=5.0)
    einsteinium_oxide.numbers = [99, 8]
    unknown = distribution_panel(shown, einsteinium_oxide)
    unknown.kind.setCurrentIndex(1)
    unknown.weighting.setCurrentIndex(unknown.weighting.findData("xray"))
    assert unknown.input_note.text() == ("No X-ray form factor for Es in the built-in tables: "
                                         "choose another weighting.")


@pytest.mark.skipif(not HAVE_DISTRIBUTIONS, reason="pairs/angles/structure_factor engine absent")
def test_a_molecule_is_told_it_has_no_pair_distribution(shown, qtbot, window):
    from ase import Atoms

    water = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    panel = distribution_panel(shown, water, height=None)
    for kind in (0, 1):
        panel.kind.setCurrentIndex(kind)
        assert not panel.distribution_button.isEnabled() and panel.input_note.isVisible()
        assert panel.input_note.text().startswith("This model has no periodic cell: g(r) and S(q) need one")
    panel.kind.setCurrentIndex(2)
    assert panel.distribution_button.isEnabled() and panel.input_note.isHidden()

    boxed = water.copy()  # a cell but no periodic boundaries: the engine's sentence, shown as it is
    boxed.center(vacuum=5.0)
    show(qtbot, window, boxed)
    order = window.order_panel
    order.tabs.setCurrentIndex(1)
    order.kind.setCurrentIndex(0)
    order.distribution_button.click()
    qtbot.waitUntil(lambda: window.last_error != "", timeout=30000)
    assert "cell: g(r) and S(q) need a model periodic in x, y and z" in window.last_error
    assert "ValueError" not in window.last_error and "pbc=True" not in window.last_error


@pytest.mark.skipif(not HAVE_DISTRIBUTIONS, reason="pairs/angles/structure_factor engine absent")
def test_xray_structure_factor_of_fcc_nickel(qtbot, window):
    from ase.build import bulk

    show(qtbot, window, bulk("Ni", "fcc", cubic=True).repeat(4))
    order = window.order_panel
    order.tabs.setCurrentIndex(1)
    order.kind.setCurrentIndex(1)
    order.weighting.setCurrentIndex(order.weighting.findData("xray"))
    run(qtbot, window, order.distribution_button)
    assert set(order.curves[2]) == {"total", "Ni–Ni"} and "X-ray weighting" in order.dist_note.text()

"""The ring and path tables answer at once with 10⁵ rows.

A user audit of a tiled a-SiO2 found the GUI frozen for seconds to minutes showing a ring search
(4.2 s at 15k rings, 60 s at 338k), sorting it by roundness (21 s), selecting all rows (2.5 s),
restoring a project's highlighted rings (101 s) and showing 8,720 hop paths (3.1 s): the
tables sorted and filtered through Qt's proxy, which asks the models' Python data() for every
comparison, and selections went row by row.
"""
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from amorpha.engine.diffusion.paths import Paths
from amorpha.engine.order.rings import RingResult
from amorpha.gui.panels.diffusion_panel import DiffusionPanel
from amorpha.gui.panels.rings_panel import RingsPanel
from amorpha.gui.panels.widgets import selected_rows

N_RINGS = 70_000
N_PATHS = 50_000
#: Seconds one step may hold the GUI thread (each takes about 0.1 s; the audit's took 2.5–101 s).
LIMIT = 0.5


def synthetic_rings(n: int, seed: int = 0) -> RingResult:
    """``n`` random rings of 6–24 atoms (3–12 Si) over n/3 atoms, 2 % through the boundary."""
    rng = np.random.default_rng(seed)
    sizes = 2 * rng.integers(3, 13, n)
    indptr = np.concatenate([[0], np.cumsum(sizes)])
    n_atoms = n // 3
    wraps = rng.random(n) < 0.02
    size_axis = np.arange(13)
    per_cell = np.bincount(sizes[~wraps] // 2, minlength=13).astype(float)
    zeros = np.zeros(13)
    return RingResult(
        definition="primitive", max_size=24, count_element="Si", include_wrapping=False, indptr=indptr,
        atoms=rng.integers(0, n_atoms, indptr[-1]), images=np.zeros((indptr[-1], 3), np.int64),
        sizes=sizes, sizes_counted=sizes // 2, wraps=wraps, net_shift=np.zeros((n, 3), np.int64),
        roundness=rng.random(n), roughness=rng.random(n), n_nodes=n_atoms // 3, size_axis=size_axis,
        rings_per_cell=per_cell, rings_per_node=per_cell / (n_atoms // 3), p_n=zeros, p_max=zeros,
        p_min=zeros, ring_count=np.zeros(n_atoms, np.int64), ring_min_size=np.zeros(n_atoms, np.int64))


def synthetic_paths(n: int, seed: int = 0) -> Paths:
    """``n`` random hop paths of 7 images between n/4 sites."""
    rng = np.random.default_rng(seed)
    energies = rng.random((n, 7))
    return Paths(edges=rng.integers(0, n // 4, (n, 2)), shifts=np.zeros((n, 3), np.int64),
                 saddles=energies.max(axis=1), images=np.cumsum(rng.random((n, 7, 3)), axis=1),
                 energies=energies, converged=rng.random(n) < 0.9)


def seconds(action) -> float:
    """How long ``action`` and the repaint it asks for hold the GUI thread."""
    start = time.perf_counter()
    action()
    QApplication.processEvents()
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def rings():
    return synthetic_rings(N_RINGS)


@pytest.fixture
def panel(shown, rings):
    """A Rings panel showing the 70k rings, in a dock's size."""
    panel = shown(RingsPanel(), 450, 900)
    panel.set_elements(np.full(10, 14))
    assert seconds(lambda: panel.show_result(rings)) < LIMIT
    return panel


def shown_rings(panel) -> np.ndarray:
    """The rings of the table's rows, top to bottom."""
    return panel.proxy.source_rows(np.arange(panel.proxy.rowCount()))


def test_70k_rings_show_and_sort_by_each_column_at_once(panel, rings):
    closed = np.flatnonzero(~rings.wraps)
    assert np.array_equal(shown_rings(panel), closed)  # by ring index, the boundary's cycles hidden
    for order in (Qt.AscendingOrder, Qt.DescendingOrder):
        assert seconds(lambda: panel.table.sortByColumn(3, order)) < LIMIT  # Roundness
        roundness = rings.roundness[shown_rings(panel)]
        assert (np.diff(roundness) >= 0).all() if order == Qt.AscendingOrder else (np.diff(roundness) <= 0).all()
        assert panel.proxy.index(0, 3).data() == f"{roundness[0]:.3f}"
    # equal sizes keep the ring order both ways, as Qt's own sort does
    for order, sign in ((Qt.AscendingOrder, 1), (Qt.DescendingOrder, -1)):
        assert seconds(lambda: panel.table.sortByColumn(1, order)) < LIMIT
        assert np.array_equal(shown_rings(panel), closed[np.lexsort((closed, sign * rings.sizes_counted[closed]))])
    panel.table.sortByColumn(6, Qt.DescendingOrder)  # First atoms: by ring index
    assert np.array_equal(shown_rings(panel), closed[::-1])
    assert seconds(lambda: panel.show_wrapping.setChecked(True)) < LIMIT
    assert panel.proxy.rowCount() == rings.n_rings
    assert seconds(lambda: panel.table.sortByColumn(5, Qt.DescendingOrder)) < LIMIT  # Wraps: those first
    assert rings.wraps[shown_rings(panel)[:int(rings.wraps.sum())]].all()


def test_select_all_70k_rings_at_once(panel, rings):
    panel.table.sortByColumn(4, Qt.DescendingOrder)
    assert seconds(panel.table.selectAll) < LIMIT
    closed = np.flatnonzero(~rings.wraps)
    assert np.array_equal(panel.selected_rings, closed)
    owner = np.repeat(np.arange(rings.n_rings), np.diff(rings.indptr))  # the ring of each ring atom
    assert np.array_equal(panel.selected_atoms, np.unique(rings.atoms[~rings.wraps[owner]]))
    assert f"{len(closed):,} rings" in panel.selection_note.text()


def test_10k_rings_selected_by_index_at_once_and_kept_through_a_sort(panel, rings, qtbot):
    """As a project's highlighted rings are restored; the rings stay selected when the rows move,
    and a ring the table hides is left out."""
    closed = np.flatnonzero(~rings.wraps)
    picked = np.random.default_rng(1).choice(closed, 10_000, replace=False)
    hidden = np.flatnonzero(rings.wraps)[:3]
    with qtbot.waitSignal(panel.selection_changed) as signal:
        assert seconds(lambda: panel.select_rings([*picked.tolist(), *hidden.tolist()])) < LIMIT
    assert np.array_equal(panel.selected_rings, np.sort(picked))
    owner = np.repeat(np.arange(rings.n_rings), np.diff(rings.indptr))
    assert np.array_equal(signal.args[0], np.unique(rings.atoms[np.isin(owner, picked)]))
    assert seconds(lambda: panel.table.sortByColumn(3, Qt.DescendingOrder)) < LIMIT
    rows = selected_rows(panel.table.selectionModel())
    assert np.array_equal(np.sort(panel.proxy.source_rows(rows)), np.sort(picked))
    assert seconds(lambda: panel.table.selectRow(0)) < LIMIT  # a click replaces them
    assert np.array_equal(panel.selected_rings, shown_rings(panel)[:1])
    panel.select_rings([])
    assert len(panel.selected_rings) == 0 and panel.selection_note.text() == "No rings highlighted."


def test_50k_paths_show_sort_and_pick_at_once(shown, qtbot):
    panel = shown(DiffusionPanel(), 450, 900)
    paths = synthetic_paths(N_PATHS)
    assert seconds(lambda: panel.set_landscape(paths, f"{N_PATHS:,} paths")) < LIMIT
    assert panel.proxy.rowCount() == N_PATHS
    assert seconds(lambda: panel.table.sortByColumn(4, Qt.DescendingOrder)) < LIMIT  # Barrier →
    order = panel.proxy.source_rows(np.arange(N_PATHS))
    assert (np.diff(paths.barriers[order, 0]) <= 0).all()
    assert panel.proxy.index(0, 4).data() == f"{paths.barriers[order[0], 0]:.3f}"
    k = 31_337
    with qtbot.waitSignal(panel.path_selected) as signal:
        assert seconds(lambda: panel.select_path(k)) < LIMIT
    assert signal.args == [k]
    (row,) = panel.table.selectionModel().selectedRows()
    assert panel.proxy.mapToSource(row).row() == k

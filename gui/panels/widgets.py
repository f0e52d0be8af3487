"""Small widget factories and table helpers the panels share."""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import (QAbstractItemModel, QAbstractTableModel, QItemSelection, QItemSelectionModel,
                            QModelIndex, Qt)
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QGroupBox, QLabel, QSpinBox, QTableView, QWidget)

from amorpha.engine.ranges import distinct, spans  # noqa: F401  (the ring panel's highlights use them too)


def double_spin(lo: float, hi: float, value: float, suffix: str = "", decimals: int = 2) -> QDoubleSpinBox:
    """A float spin box with its range, start value and unit in one call."""
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setValue(value)
    if suffix:
        box.setSuffix(suffix)
    return box


def int_spin(lo: int, hi: int, value: int, suffix: str = "") -> QSpinBox:
    """An integer spin box with its range, start value and unit in one call."""
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(value)
    if suffix:
        box.setSuffix(suffix)
    return box


def checked_ok_buttons(dialog: QDialog, accept) -> tuple[QLabel, QDialogButtonBox]:
    """A red, word-wrapped error line and OK/Cancel buttons; OK calls ``accept`` (which checks the
    input and shows why in the label, or accepts), Cancel rejects."""
    error = QLabel("")
    error.setStyleSheet("color: #b00020")
    error.setWordWrap(True)
    buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    buttons.accepted.connect(accept)
    buttons.rejected.connect(dialog.reject)
    return error, buttons


def form_page(rows: list[tuple[str, QWidget]]) -> QWidget:
    """A margin-less widget holding a label/field form, e.g. one page of a QStackedWidget."""
    page = QWidget()
    form = QFormLayout(page)
    form.setContentsMargins(0, 0, 0, 0)
    for label, field in rows:
        form.addRow(label, field)
    return page


def form_box(title: str, rows: list) -> QGroupBox:
    """A titled group of form rows, each a (label, field) pair or a lone widget across the row;
    ``box.layout()`` is the QFormLayout (to hide rows later)."""
    box = QGroupBox(title)
    form = QFormLayout(box)
    for row in rows:
        if isinstance(row, tuple):
            form.addRow(*row)
        else:
            form.addRow(row)
    return box


#: Qt's names a table model's data() compares with, looked up once: PySide6 takes ~4 µs for each
#: ``Qt.X``, and a view asks about ten roles of every cell it draws or fits.
DISPLAY_ROLE, ALIGNMENT_ROLE = Qt.DisplayRole, Qt.TextAlignmentRole
ALIGN_RIGHT = int(Qt.AlignRight | Qt.AlignVCenter)

#: Rows a table reads to fit its columns to their contents: Qt's default (1000) calls the
#: models' Python data() for a thousand rows of every column at each reset and sort.
FIT_ROWS = 40


def stable_order(keys, descending: bool = False) -> np.ndarray:
    """Indices that sort ``keys``; ties keep their order both ways and NaN goes last, as a
    table's user expects of a second click on the same header."""
    keys = np.asarray(keys, dtype=float)
    return np.argsort(-keys if descending else keys, kind="stable")


#: The overload of layout(AboutToBe)Changed that carries a hint (PySide emits the bare one).
_LAYOUT_SIGNATURE = ("QList<QPersistentModelIndex>", "QAbstractItemModel::LayoutChangeHint")


class SortedRows(QAbstractTableModel):
    """A table model's rows sorted and filtered with numpy, for tables of 10⁵ rows.

    QSortFilterProxyModel compares rows through the source's Python ``data()`` (n log n calls,
    seconds at 10⁴ rows) and filters row by row; here a sort is one argsort of the source's
    ``sort_key(column)`` array and a filter one boolean mask (:meth:`row_mask`). ``rows`` maps
    view rows to source rows. The source must change by resets only, as the ring and path
    tables do.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._source: Optional[QAbstractItemModel] = None
        self.rows = np.zeros(0, np.int64)
        self._where: Optional[np.ndarray] = None
        self._column, self._descending = -1, False
        self._n_columns = 0

    def setSourceModel(self, source) -> None:  # noqa: N802 (Qt name)
        """Show ``source``; its resets reset this model (sorted and filtered again)."""
        self.beginResetModel()
        self._source = source
        source.modelAboutToBeReset.connect(self.beginResetModel)
        source.modelReset.connect(self._end_reset)
        self._arrange()
        self.endResetModel()

    def sourceModel(self):  # noqa: N802
        return self._source

    def row_mask(self) -> Optional[np.ndarray]:
        """Which source rows show (None: all); subclasses hide rows here."""
        return None

    def refilter(self) -> None:
        """Apply :meth:`row_mask` again (after what it depends on changed)."""
        self.beginResetModel()
        self._end_reset()

    def _end_reset(self) -> None:
        self._arrange()
        self.endResetModel()

    def _arrange(self) -> None:
        """``rows`` from the mask and the sort column (source order when unsorted)."""
        n = 0 if self._source is None else self._source.rowCount()
        mask = self.row_mask() if n else None
        rows = np.arange(n, dtype=np.int64) if mask is None else np.flatnonzero(mask).astype(np.int64)
        if self._column >= 0 and len(rows):
            rows = rows[stable_order(self._source.sort_key(self._column)[rows], self._descending)]
        self.rows = rows
        self._where = None
        self._n_columns = 0 if self._source is None else self._source.columnCount()

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        """Sort by ``column`` (−1: source order); selected rows stay selected. A sort as the rows
        stand is skipped (QTableView.sortByColumn asks twice)."""
        if (int(column), order == Qt.DescendingOrder) == (self._column, self._descending):
            return
        hint = QAbstractItemModel.LayoutChangeHint.VerticalSortHint
        self.layoutAboutToBeChanged[_LAYOUT_SIGNATURE].emit([], hint)
        old = self.rows
        self._column, self._descending = int(column), order == Qt.DescendingOrder
        self._arrange()
        self._move_persistent(old)
        self.layoutChanged[_LAYOUT_SIGNATURE].emit([], hint)

    def _move_persistent(self, old_rows: np.ndarray) -> None:
        """Point the views' persistent indexes (selected rows, current row) at their rows' new
        places (a sort hides none)."""
        before = self.persistentIndexList()
        if not before:
            return
        places = self.view_rows(old_rows[np.array([i.row() for i in before])]).tolist()
        self.changePersistentIndexList(before, [self.index(r, i.column()) for r, i in zip(places, before)])

    def source_rows(self, view_rows) -> np.ndarray:
        """The source rows shown at these view rows."""
        return self.rows[np.asarray(view_rows, dtype=np.int64)]

    def view_rows(self, source_rows) -> np.ndarray:
        """Where these source rows show (−1: hidden or out of range)."""
        if self._where is None:
            self._where = np.full(0 if self._source is None else self._source.rowCount(), -1, np.int64)
            self._where[self.rows] = np.arange(len(self.rows))
        source_rows = np.asarray(source_rows, dtype=np.int64)
        inside = (source_rows >= 0) & (source_rows < len(self._where))
        return np.where(inside, self._where[np.where(inside, source_rows, 0)], -1)

    def mapToSource(self, index: QModelIndex) -> QModelIndex:  # noqa: N802
        if not index.isValid():
            return QModelIndex()
        return self._source.index(int(self.rows[index.row()]), index.column())

    def mapFromSource(self, index: QModelIndex) -> QModelIndex:  # noqa: N802
        row = int(self.view_rows([index.row()])[0]) if index.isValid() else -1
        return self.index(row, index.column()) if row >= 0 else QModelIndex()

    def index(self, row: int, column: int, parent=QModelIndex()) -> QModelIndex:
        """Qt's own index() checks the place by calling rowCount() and columnCount(): two more
        calls into Python for each of the many indexes a view and its selection make."""
        if parent.isValid() or not (0 <= row < len(self.rows) and 0 <= column < self._n_columns):
            return QModelIndex()
        return self.createIndex(row, column)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else self._n_columns

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        return None if self._source is None else self._source.headerData(section, orientation, role)

    def data(self, index, role=Qt.DisplayRole):
        return self._source.data(self.mapToSource(index), role) if index.isValid() else None


def selected_rows(selection_model: QItemSelectionModel) -> np.ndarray:
    """Sorted view rows of a selection, read from its ranges: ``selectedRows()`` would make a
    Python index of each of 10⁵ rows."""
    ranges = np.array([(r.top(), r.bottom() + 1) for r in selection_model.selection()], np.int64)
    if not len(ranges):
        return np.zeros(0, np.int64)
    return distinct(spans(ranges[:, 0], ranges[:, 1]))


def row_runs(rows) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) of each run of consecutive numbers among ``rows`` (any order, repeats)."""
    rows = distinct(rows)
    if not len(rows):
        return rows, rows
    breaks = np.flatnonzero(np.diff(rows) != 1)
    return rows[np.r_[0, breaks + 1]], rows[np.r_[breaks, len(rows) - 1]]


def drop_selection(table: QTableView) -> None:
    """Empty ``table``'s selection without announcing it (the caller says what replaces it)."""
    selection_model = table.selectionModel()
    selection_model.blockSignals(True)
    selection_model.clearSelection()
    selection_model.blockSignals(False)
    table.viewport().update()


def select_rows(table: QTableView, rows) -> None:
    """Select these view rows of ``table`` in place of its selection, one range per run of
    consecutive rows: Qt compares an old and a new selection range by range (quadratic in
    ranges, minutes for a range per row), so the old one is dropped unannounced first."""
    model, selection_model = table.model(), table.selectionModel()
    firsts, lasts = row_runs(rows)
    if not len(firsts):
        selection_model.clearSelection()
        return
    selection = QItemSelection()
    right = model.columnCount() - 1
    for first, last in zip(firsts.tolist(), lasts.tolist()):
        selection.select(model.index(first, 0), model.index(last, right))
    drop_selection(table)
    selection_model.select(selection, QItemSelectionModel.Select)  # Rows would merge range by range


def sorted_row_table(model: SortedRows, selection_mode: QAbstractItemView.SelectionMode) -> QTableView:
    """A compact table of whole rows over ``model``, sorted by its first column ascending and
    columns fitted to :data:`FIT_ROWS` rows: the ring browser and the path table alike."""
    table = QTableView()
    table.setModel(model)
    table.setSortingEnabled(True)
    table.sortByColumn(0, Qt.AscendingOrder)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setSelectionMode(selection_mode)
    for header in (table.horizontalHeader(), table.verticalHeader()):
        header.setResizeContentsPrecision(FIT_ROWS)
    # the header draws a section's edge by whether the whole column is selected, which Qt finds
    # by asking the model about each of its cells (10⁶ Python calls at 10⁵ rows, each repaint
    # while many rows are selected): it looks at a selection of its own that stays empty
    header = table.horizontalHeader()
    header.setSelectionModel(QItemSelectionModel(model, header))
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(20)
    return table


#: the width an empty plot's note wraps at (the narrowest docked plots are ~300 px wide)
NOTE_WIDTH_PX = 230


def note_item(html: str, x: float = 0.5, y: float = 0.5, width: int = NOTE_WIDTH_PX):
    """A grey, centred, wrapped note at (x, y) of a plot: why the plot is empty and what fills it
    (``width`` in pixels, narrower for plots that share a dock's width)."""
    import pyqtgraph as pg

    note = pg.TextItem(html=f"<div style='color:#6e6e6e; text-align:center'>{html}</div>", anchor=(0.5, 0.5))
    note.setTextWidth(width)  # wrapped: a dock's plot is often narrower than one line
    note.setPos(x, y)
    return note


def empty_plot_note(plot, html: str) -> None:
    """Clear ``plot`` (a pyqtgraph PlotWidget) and put :func:`note_item` in its middle; the view
    is set to 0-1 so no stale range shows."""
    plot.clear()
    plot.addItem(note_item(html))
    plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)


def plain_axes(plot) -> None:
    """Tick labels in the axis label's own unit (Å, 1/Å), never rescaled to "(x0.001)": an empty
    map's default view would otherwise read ±700 × 0.001."""
    for side in ("bottom", "left"):
        plot.getAxis(side).enableAutoSIPrefix(False)


def select_data(combo, value) -> None:
    """Make the item holding ``value`` as its data current (nothing when none does): for lists
    that show titles and keep keys behind them."""
    index = combo.findData(value)
    if index >= 0:
        combo.setCurrentIndex(index)

"""Small widget factories the panels share."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QGroupBox, QLabel, QSpinBox, QTableView, QWidget)


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


def sorted_row_table(proxy, selection_mode: QAbstractItemView.SelectionMode) -> QTableView:
    """A compact table of whole rows over ``proxy`` (sorted by its Qt.UserRole, first column
    ascending): the ring browser and the path table look and behave alike."""
    proxy.setSortRole(Qt.UserRole)
    table = QTableView()
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.sortByColumn(0, Qt.AscendingOrder)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setSelectionMode(selection_mode)
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

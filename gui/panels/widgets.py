"""Small widget factories the panels share."""
from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QSpinBox, QWidget


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


def form_page(rows: list[tuple[str, QWidget]]) -> QWidget:
    """A margin-less widget holding a label/field form, e.g. one page of a QStackedWidget."""
    page = QWidget()
    form = QFormLayout(page)
    form.setContentsMargins(0, 0, 0, 0)
    for label, field in rows:
        form.addRow(label, field)
    return page

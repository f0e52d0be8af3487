"""The list of CSL boundaries about one axis (Σ, angle, plane) to pick one from.

Shared by the Build › CSL grain boundary dialog and the GB Search panel, so both offer the same
boundaries from :func:`amorpha.engine.build.csl.csl_boundaries`.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from amorpha.engine.build.csl import CSLBoundary, csl_boundaries, format_indices

#: Largest Σ listed.
MAX_SIGMA = 101


class CslTable(QTableWidget):
    """One row per (Σ, plane) about the axis given to :meth:`set_axis`; one row is selected."""

    def __init__(self, axis=(0, 0, 1), max_sigma: int = MAX_SIGMA, parent=None):
        super().__init__(0, 3, parent)
        self.max_sigma = max_sigma
        self.rows: list[CSLBoundary] = []
        self.kind = "tilt"
        self.setHorizontalHeaderLabels(["Σ", "Angle (°)", "Plane"])
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.set_axis(axis)

    def set_axis(self, axis) -> None:
        """List the boundaries about ``axis`` and select the first (signals blocked while filling)."""
        self.rows = csl_boundaries(tuple(axis), self.max_sigma)
        self.blockSignals(True)
        self.setRowCount(len(self.rows))
        for row, b in enumerate(self.rows):
            for col, text in enumerate((str(b.sigma), f"{b.angle_deg:.2f}", format_indices(self.plane_of(b)))):
                self.setItem(row, col, QTableWidgetItem(text))
        self.blockSignals(False)
        self.selectRow(0)

    def set_kind(self, kind: str) -> None:
        """"tilt" or "twist": a twist boundary's plane is the axis, and the Plane column says so
        (it kept showing the tilt planes, (310) for a Σ5 twist on (001))."""
        self.kind = kind
        for row, b in enumerate(self.rows):
            self.item(row, 2).setText(format_indices(self.plane_of(b)))

    def plane_of(self, b: CSLBoundary) -> tuple:
        """The boundary plane of row ``b`` for the kind shown."""
        return tuple(b.axis) if self.kind == "twist" else tuple(b.plane)

    def select(self, sigma: int, plane) -> None:
        """Select the row of (Σ, plane) for the current axis."""
        for row, b in enumerate(self.rows):
            if b.sigma == sigma and b.plane == tuple(plane):
                self.selectRow(row)
                return
        raise KeyError(f"no Σ{sigma} {plane} row")

    def selected(self) -> Optional[CSLBoundary]:
        rows = self.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None

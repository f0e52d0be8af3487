"""Docked structure panel: what the model is, its bonds and coordination, the picked atom."""
from __future__ import annotations

import html
from typing import Optional

import numpy as np
from ase import Atoms
from ase.data import atomic_masses
from ase.units import _amu
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from amorpha.engine.elements import elements_present, formula_text, symbol
from amorpha.engine.io import unnamed_types


#: Length unit of the panel's numbers (File › Preferences): name → Å per unit.
LENGTH_UNITS = {"Å": 1.0, "nm": 10.0}
_UNIT = {"length": "Å"}


def set_length_unit(unit: str) -> None:
    """Show cell lengths, volumes, positions and distances in ``unit`` (Å or nm)."""
    _UNIT["length"] = unit if unit in LENGTH_UNITS else "Å"


def _length(value: float, power: int = 1) -> float:
    return value / LENGTH_UNITS[_UNIT["length"]] ** power


def describe_cell(atoms: Atoms) -> dict[str, str]:
    """Plain-text facts about a model for the summary form."""
    a, b, c, alpha, beta, gamma = atoms.cell.cellpar()
    facts = {
        "Formula": formula_text(atoms.numbers),
        "PBC": " ".join("yes" if p else "no" for p in atoms.pbc),
    }
    if atoms.cell.rank == 3:
        volume = abs(atoms.cell.volume)
        grams = atomic_masses[atoms.numbers].sum() * _amu * 1e3
        unit = _UNIT["length"]
        facts[f"Cell ({unit})"] = "  ".join(f"{_length(v):.4g}" for v in (a, b, c))
        facts["Angles (°)"] = f"{alpha:.4g}  {beta:.4g}  {gamma:.4g}"
        facts[f"Volume ({unit}³)"] = f"{_length(volume, 3):,.{1 if unit == 'Å' else 4}f}"
        facts["Density (g/cm³)"] = f"{grams / (volume * 1e-24):.4g}"
    else:
        facts["Cell"] = "none (open boundaries)"
    return facts


def _atoms(n) -> str:
    return f"{n} atom" if n == 1 else f"{n} atoms"


#: What builders record in ``atoms.info`` and how the summary names it (in this order): a format
#: string or a function of the value.
BUILD_FACTS = {
    "sigma": ("Σ", "{}"),
    "axis": ("Rotation axis", "{}"),
    "misorientation_deg": ("Misorientation", "{:.2f}°"),
    "plane": ("Boundary plane", "{}"),
    "kind": ("Boundary type", "{}"),
    "boundary_area": ("Boundary area", "{:.2f} Å²"),
    "gb_gamma": ("Boundary energy γ", "{:.4f} J/m²"),
    "n_grains": ("Grains", "{}"),
    "x": ("x in SiOx", "{:.3g}"),
    "form": ("Form", "{}"),
    "quench_rate_K_per_ps": ("Quench rate", "{:g} K/ps"),
    "temperature_end_K": ("Quench ended at", "{:.0f} K"),
    "removed_atoms": ("Overlaps removed", _atoms),
    "inserted_count": ("Inserted in voids", _atoms),
}


def describe_build(info: dict) -> dict[str, str]:
    """The builder's facts about a model (Σ, plane, boundary area, …) as summary rows."""
    facts = {}
    for key, (label, fmt) in BUILD_FACTS.items():
        if key in info:
            try:
                facts[label] = fmt(info[key]) if callable(fmt) else fmt.format(info[key])
            except (TypeError, ValueError):
                facts[label] = str(info[key])
    return facts


#: Å; bonded atoms closer than this overlap (the shortest bond, H–H, is 0.74 Å)
OVERLAP = 0.5


def _placeholder_note(types, can_name: bool) -> str:
    shown = ", ".join(f"type {t.type} → {t.element}" for t in types)
    note = f"The file numbers its atom types without naming the elements; placeholders are shown ({shown})."
    if can_name:
        note += " Name them with File › Name Atom Types… or the button below."
    return note


def _fit_height(table: QTableWidget, max_rows: int) -> None:
    """Size a table to show its rows (up to ``max_rows``) without an empty band below, and with
    room for its horizontal scroll bar when the columns are wider than the table (CN 0…13 of a
    polycrystal's grain-boundary atoms): the bar would otherwise cover the last row."""
    table.resizeRowsToContents()
    rows = min(table.rowCount(), max_rows)
    height = table.horizontalHeader().height() + 2 * table.frameWidth()
    height += sum(table.rowHeight(r) for r in range(rows))
    wide = table.horizontalHeader().length() + table.verticalHeader().width() + 2 * table.frameWidth()
    if wide > table.width():  # the bar is shown
        height += table.horizontalScrollBar().sizeHint().height()
    table.setFixedHeight(height + 2)


class _FittedTable(QTableWidget):
    """A table fitted to its rows (:func:`_fit_height`) again whenever its width or its scroll
    bar's range changes: whether the columns need the bar is known only once the layout has placed
    the table and sized its columns (a column of 1,000,188 Cu atoms widened after the fit, and the
    bar then covered the only row)."""

    def __init__(self, rows: int, columns: int, max_rows: int):
        super().__init__(rows, columns)
        self.max_rows = max_rows
        self.horizontalScrollBar().rangeChanged.connect(lambda *_: _fit_height(self, self.max_rows))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            _fit_height(self, self.max_rows)


class StructurePanel(QWidget):
    """Summary, bond cutoffs, coordination table and the selected atom's neighbourhood."""

    #: {(Z1, Z2): cutoff or 0 for no bond}; object, not dict: Qt converts a dict to a QVariantMap,
    #: whose keys must be strings, and tuple keys arrive as an empty dict
    cutoffs_changed = Signal(object)
    name_types_requested = Signal()  # the "Name atom types…" button beside the placeholder note

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QFormLayout()
        summary_box = QGroupBox("Model")
        summary_box.setLayout(self.summary)

        self.cutoff_table = QTableWidget(0, 3)
        self.cutoff_table.setHorizontalHeaderLabels(["Pair", "Cutoff (Å)", "Bonds"])
        self.cutoff_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.cutoff_table.verticalHeader().setVisible(False)
        apply_button = QPushButton("Apply cutoffs")
        apply_button.setToolTip("Rebuild bonds and coordination with these cutoffs (0 = no bond)")
        apply_button.clicked.connect(self._emit_cutoffs)
        self.bond_note = QLabel("")
        self.bond_note.setWordWrap(True)
        self.defaults_button = QPushButton("Defaults")
        self.defaults_button.setToolTip("Put the default cutoffs (covalent radii, or your Preferences) back "
                                        "and apply them")
        self.defaults_button.clicked.connect(self._emit_defaults)
        self.defaults_button.setVisible(False)
        self._defaults: dict = {}
        row = QHBoxLayout()
        row.addWidget(self.bond_note, 1)
        row.addWidget(self.defaults_button)
        row.addWidget(apply_button)
        bonds_box = QGroupBox("Bonds")
        bonds_layout = QVBoxLayout(bonds_box)
        bonds_layout.addWidget(self.cutoff_table)
        bonds_layout.addLayout(row)

        self.cn_table = _FittedTable(0, 0, max_rows=5)
        self.cn_table.verticalHeader().setDefaultSectionSize(22)
        cn_box = QGroupBox("Coordination (atoms per neighbour count)")
        QVBoxLayout(cn_box).addWidget(self.cn_table)

        self.atom_info = QTextBrowser()
        self.atom_info.setPlaceholderText("Click an atom in the viewer to see its neighbourhood.")
        atom_box = QGroupBox("Selected atom")
        QVBoxLayout(atom_box).addWidget(self.atom_info)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(summary_box)
        layout.addWidget(bonds_box)
        layout.addWidget(cn_box)
        layout.addWidget(atom_box, 1)
        self._pairs: list[tuple[int, int]] = []
        self.name_types_button: Optional[QPushButton] = None

    # -- model summary -------------------------------------------------------------------------
    def show_model(self, atoms: Atoms, source: str, frame: int = 0, n_frames: int = 1,
                   can_name_types: bool = False) -> None:
        """Summarise ``atoms``; ``can_name_types``: its file can be read again with element names."""
        while self.summary.rowCount():
            self.summary.removeRow(0)
        self.name_types_button = None
        source_label = QLabel(source)
        source_label.setWordWrap(True)  # a long name must not widen the dock past the window
        self.summary.addRow("Source", source_label)
        if n_frames > 1:
            self.summary.addRow("Frame", QLabel(f"{frame + 1} of {n_frames}"))
        for key, value in {**describe_cell(atoms), **describe_build(atoms.info)}.items():
            label = QLabel(value)
            label.setWordWrap(True)
            self.summary.addRow(key, label)
        types = unnamed_types(atoms)
        # The reader's note for placeholder types speaks to script users (symbols=[...]).
        warning = _placeholder_note(types, can_name_types) if types else atoms.info.get("warning")
        if warning:
            note = QLabel(f"⚠ {warning}")
            note.setWordWrap(True)
            note.setStyleSheet("color: #a05000")
            self.summary.addRow("Note", note)
        if types and can_name_types:
            self.name_types_button = QPushButton("Name atom types…")
            self.name_types_button.setToolTip("Give each numbered type of the file its element")
            self.name_types_button.clicked.connect(self.name_types_requested)
            self.summary.addRow("", self.name_types_button)
        self.atom_info.clear()

    # -- bonds -------------------------------------------------------------------------------
    def show_bonds(self, cutoffs: dict, counts: dict, overlapping: int = 0, warnings=(),
                   defaults: Optional[dict] = None, kept: bool = False) -> None:
        """Fill the cutoff table; ``counts`` maps the same pairs to their number of bonds;
        ``overlapping``: bonded pairs closer than :data:`OVERLAP` Å, and ``warnings``
        (:func:`~amorpha.engine.bonds.cutoff_warnings`), said in orange. ``defaults``: the
        cutoffs the Defaults button puts back, shown beside those that differ; ``kept``: those
        cutoffs were set for a model shown before, and the note says so (a second glass was
        analysed with the first one's cutoffs without a word)."""
        # Heavier element first, as glass papers write them (Si–O, Si–Si, O–O).
        self._pairs = sorted(cutoffs, key=lambda pair: (-max(pair), -min(pair)))
        self.cutoff_table.setRowCount(len(self._pairs))
        for row, pair in enumerate(self._pairs):
            name = QTableWidgetItem(f"{symbol(max(pair))}–{symbol(min(pair))}")
            self.cutoff_table.setItem(row, 0, name)
            spin = QDoubleSpinBox()
            spin.setRange(0.0, 10.0)
            spin.setDecimals(2)
            spin.setSingleStep(0.05)
            spin.setValue(float(cutoffs[pair] or 0.0))
            self.cutoff_table.setCellWidget(row, 1, spin)
            self.cutoff_table.setItem(row, 2, QTableWidgetItem(f"{counts.get(pair, 0):,}"))
        _fit_height(self.cutoff_table, max_rows=6)
        note = f"{sum(counts.values()):,} bonds"
        orange = "<br><span style='color:#b35900'>⚠ {}</span>"
        if overlapping:  # duplicated atoms (a file written twice into one, a bad merge) bond at ~0 Å
            note += orange.format(f"{overlapping:,} pairs of atoms closer than {OVERLAP:g} Å: duplicated atoms?")
        if warnings:
            note += orange.format(html.escape("; ".join(warnings)) + ". Is this intended?")
        self._defaults = dict(defaults or {})
        changed = [pair for pair in self._pairs
                   if pair in self._defaults and abs(float(cutoffs[pair] or 0.0) - self._defaults[pair]) > 0.005]
        if changed:
            listed = ", ".join(f"{symbol(max(p))}–{symbol(min(p))} {f'{float(cutoffs[p]):g} Å' if cutoffs[p] else 'off'} "
                               f"(default {self._defaults[p]:.3g} Å)" for p in changed)
            note += (orange.format(f"Cutoffs kept from the model before: {listed}") if kept
                     else f"<br>Not the defaults: {listed}")
        self.defaults_button.setVisible(bool(changed))
        self.bond_note.setText(note)

    def clear_bonds(self, note: str) -> None:
        """A new model: no cutoff rows or coordination of the one before until its own bonds come
        (a cancelled search left quartz's Si–O bonds on screen under a copper crystal)."""
        self._pairs = []
        self.cutoff_table.setRowCount(0)
        _fit_height(self.cutoff_table, max_rows=6)
        self.cn_table.setRowCount(0)
        self.cn_table.setColumnCount(0)
        _fit_height(self.cn_table, max_rows=5)
        self.defaults_button.setVisible(False)
        self.bond_note.setText(note)

    def current_cutoffs(self) -> dict:
        return {
            pair: self.cutoff_table.cellWidget(row, 1).value()
            for row, pair in enumerate(self._pairs)
        }

    def _emit_cutoffs(self) -> None:
        self.cutoffs_changed.emit(self.current_cutoffs())

    def _emit_defaults(self) -> None:
        """The default cutoffs in the table, applied."""
        for row, pair in enumerate(self._pairs):
            if pair in self._defaults:
                self.cutoff_table.cellWidget(row, 1).setValue(self._defaults[pair])
        self._emit_cutoffs()

    # -- coordination --------------------------------------------------------------------------
    def show_coordination(self, numbers: np.ndarray, coordination: np.ndarray) -> None:
        elements = elements_present(numbers).tolist()
        top = int(coordination.max()) if len(coordination) else 0
        self.cn_table.setColumnCount(top + 2)
        self.cn_table.setHorizontalHeaderLabels([str(k) for k in range(top + 1)] + ["mean"])
        self.cn_table.setRowCount(len(elements))
        self.cn_table.setVerticalHeaderLabels([symbol(z) for z in elements])
        for row, z in enumerate(elements):
            cn = coordination[numbers == z]
            counts = np.bincount(cn, minlength=top + 1)
            for k, count in enumerate(counts):
                self.cn_table.setItem(row, k, QTableWidgetItem(f"{count:,}" if count else ""))
            self.cn_table.setItem(row, top + 1, QTableWidgetItem(f"{cn.mean():.3f}"))
        self.cn_table.resizeColumnsToContents()
        _fit_height(self.cn_table, max_rows=5)

    # -- selected atom ------------------------------------------------------------------------
    def show_atom(
        self,
        atoms: Atoms,
        index: int,
        neighbors: Optional[tuple[np.ndarray, np.ndarray]] = None,
    ) -> None:
        """Element, index, position, coordination and bonded neighbours with distances."""
        if index < 0:
            self.atom_info.clear()
            return
        z = int(atoms.numbers[index])
        unit = _UNIT["length"]
        x, y, zc = (_length(v) for v in atoms.positions[index])
        lines = [
            f"<b>{symbol(z)}</b> &nbsp; index {index}",
            f"position ({x:.4f}, {y:.4f}, {zc:.4f}) {unit}",
        ]
        for name, values in atoms.arrays.items():
            if name in ("numbers", "positions") or values.ndim != 1:
                continue
            lines.append(f"{html.escape(name)}: {values[index]:.6g}")
        if neighbors is not None:
            idx, dist = neighbors
            order = np.argsort(dist)
            rows = "".join(
                f"<tr><td>{symbol(atoms.numbers[j])}</td><td align=right>{j}</td>"
                f"<td align=right>{_length(d):.4f}</td></tr>"
                for j, d in zip(idx[order], dist[order])
            )
            lines.append(
                f"bonded neighbours: {len(idx)}"
                f"<table cellspacing=6><tr><th>el</th><th>index</th><th>distance ({unit})</th></tr>"
                f"{rows}</table>"
            )
        self.atom_info.setHtml("<br>".join(lines))

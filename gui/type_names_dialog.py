"""File › Name Atom Types: give elements to the numbered types of an RMC++ cfg or LAMMPS file.

Such files open with placeholder elements (type 1 as H, type 2 as He, ...). The dialog lists each
type with its atom count and a field for its element; OK is allowed only when every field names
an element, and then emits the symbols in type order (the window reads the file again with them).
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QLineEdit, QVBoxLayout

from amorpha.engine.errors import ParameterError
from amorpha.engine.io import AtomType, check_symbols
from amorpha.gui.panels.widgets import checked_ok_buttons


class TypeNamesDialog(QDialog):
    """One line per atom type: "Type 1 (1,000 atoms)" and its element symbol."""

    symbols_accepted = Signal(list)  # element symbols for types 1, 2, ... in order

    def __init__(self, types: Sequence[AtomType], source: str = "", parent=None):
        super().__init__(parent)
        self.setObjectName("type-names-dialog")
        self.setWindowTitle("Name atom types")
        intro = QLabel(f"{source or 'This file'} numbers its atom types without naming the elements. "
                       "Give each type its element symbol (in the order of the file); the file is "
                       "then read again with these elements.")
        intro.setWordWrap(True)
        form = QFormLayout()
        self.fields: list[QLineEdit] = []
        for t in types:
            field = QLineEdit(t.element)
            field.setPlaceholderText("element, e.g. Si")
            field.setMaxLength(3)
            field.selectAll()
            form.addRow(f"Type {t.type} ({t.count:,} atom{'s' if t.count != 1 else ''})", field)
            self.fields.append(field)
        self.error, self.buttons = checked_ok_buttons(self, self._accept)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        if self.fields:
            self.fields[0].setFocus()
        self.setMinimumWidth(380)

    def set_symbols(self, symbols: Sequence[str]) -> None:
        for field, text in zip(self.fields, symbols):
            field.setText(text)

    def _accept(self) -> None:
        try:
            symbols = check_symbols([f.text() for f in self.fields], len(self.fields))
        except ParameterError as exc:
            self.error.setText(f"{exc.reason[:1].upper()}{exc.reason[1:]}. Nothing was changed.")
            return
        self.error.setText("")
        self.accept()
        self.symbols_accepted.emit(symbols)

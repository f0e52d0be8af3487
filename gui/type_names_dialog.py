"""File › Name Atom Types: give elements to the numbered types of an RMC++ cfg or LAMMPS file;
File › Rename Elements: give the elements of any single-frame model other names.

Files of numbered types open with placeholder elements (type 1 as H, type 2 as He, ...); some
files name their atoms wrongly (matscipy's aSi.cfg calls its 64 Si atoms H). The dialog lists each
type or element with its atom count and a field for its element; OK is allowed only when every
field names an element, and then emits the symbols in order.
"""
from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QLineEdit, QVBoxLayout

from amorpha.engine.errors import ParameterError
from amorpha.engine.io import AtomType, check_symbols
from amorpha.engine.words import counted
from amorpha.gui.panels.widgets import checked_ok_buttons


class TypeNamesDialog(QDialog):
    """One line per atom type: "Type 1 (1,000 atoms)" and its element symbol."""

    symbols_accepted = Signal(list)  # element symbols for types 1, 2, ... in order

    def __init__(self, types: Sequence[AtomType], source: str = "", parent=None, elements: bool = False):
        """``elements``: ``types`` are the model's elements (:func:`element_types`), renamed in a
        copy of the model, not numbered types of a file read again."""
        super().__init__(parent)
        self.setObjectName("type-names-dialog")
        self.setWindowTitle("Rename elements" if elements else "Name atom types")
        if elements:
            text = (f"Give each element of {source or 'this model'} the element it should be (a file "
                    "may name its atoms wrongly); a renamed copy replaces the model, and its bonds and "
                    "analyses are made again.")
        else:
            text = (f"{source or 'This file'} numbers its atom types without naming the elements. "
                    "Give each type its element symbol (in the order of the file); the file is "
                    "then read again with these elements.")
        intro = QLabel(text)
        intro.setWordWrap(True)
        form = QFormLayout()
        self.fields: list[QLineEdit] = []
        self.names = [t.element if elements else f"type {t.type}" for t in types]
        for t, name in zip(types, self.names):
            field = QLineEdit(t.element)
            field.setPlaceholderText("element, e.g. Si")
            field.setMaxLength(3)
            field.selectAll()
            form.addRow(f"{name[:1].upper()}{name[1:]} ({counted(t.count, 'atom')})", field)
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
            symbols = check_symbols([f.text() for f in self.fields], len(self.fields), self.names)
        except ParameterError as exc:
            self.error.setText(f"{exc.reason[:1].upper()}{exc.reason[1:]}. Nothing was changed.")
            return
        self.error.setText("")
        self.accept()
        self.symbols_accepted.emit(symbols)

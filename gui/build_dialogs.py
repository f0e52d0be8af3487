"""Dialogs that edit a builder's parameter dataclass and check it before any work starts.

One :class:`ParamsDialog` serves every builder: it makes a widget per listed field from the type of
the field's default value (int, float, optional float shown as "auto", text choices, tuples), keeps
a live note (an estimate of the atom count, the chosen boundary) and calls the parameters'
``validate()`` on every change. A :class:`BuildParameterError` is shown in red inside the dialog
and OK stays disabled, so a bad Σ or a negative size never reaches the engine. A field that has no
effect for the other values (the SiOx cluster size at x = 2) is greyed out with a tooltip saying why.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from amorpha.engine.build import BuildParameterError
from amorpha.gui.panels.widgets import checked_ok_buttons

from .panels.widgets import double_spin, int_spin

AUTO = "auto"


@dataclass(frozen=True)
class Field:
    """How one parameter is edited: label, range, unit, or a fixed list of choices."""

    name: str
    label: str
    lo: float = 0.0
    hi: float = 1e6
    decimals: int = 2
    suffix: str = ""
    choices: Optional[tuple[tuple[Any, str], ...]] = None  # (value, shown text)
    tooltip: str = ""
    #: Why the field has no effect with these parameters ("" when it has one): a student changed
    #: the SiOx cluster size at x = 2 and could not tell that nothing would change.
    unused: Optional[Callable[[Any], str]] = None


def _spin(field: Field, value, integer: bool, auto: bool = False):
    if integer:
        box = int_spin(int(field.lo), int(field.hi), int(field.lo), field.suffix)
    else:
        step = 10.0 ** -field.decimals
        lo = field.lo - step if auto else field.lo
        box = double_spin(lo, field.hi, lo, field.suffix, field.decimals)
        if auto:
            box.setSpecialValueText(AUTO)  # shown at the minimum, read back as None
    if value is not None:
        box.setValue(value)
    return box


class _Editor:
    """One field's widget(s) and how to read them back into a Python value."""

    def __init__(self, field: Field, default):
        self.field = field
        self.auto = default is None
        if field.choices is not None:
            # Values stay in Python (Qt would turn tuples into lists); the combo holds the text.
            self.widget = QComboBox()
            self.choices = [value for value, _ in field.choices]
            self.widget.addItems([text for _, text in field.choices])
            self.widget.setCurrentIndex(self.choices.index(default) if default in self.choices else 0)
            self.parts = [self.widget]
        elif isinstance(default, bool):
            self.widget = QCheckBox()
            self.widget.setChecked(default)
            self.parts = [self.widget]
        elif isinstance(default, tuple):
            integer = all(isinstance(v, int) for v in default)
            self.parts = [_spin(field, v, integer) for v in default]
            self.widget = QWidget()
            row = QHBoxLayout(self.widget)
            row.setContentsMargins(0, 0, 0, 0)
            for part in self.parts:
                row.addWidget(part)
        else:
            integer = isinstance(default, int)
            self.widget = _spin(field, default, integer, auto=default is None)
            self.parts = [self.widget]
        if field.tooltip:
            self.widget.setToolTip(field.tooltip)

    def connect(self, slot: Callable[[], None]) -> None:
        for part in self.parts:
            if isinstance(part, QComboBox):
                part.currentIndexChanged.connect(slot)
            elif isinstance(part, QCheckBox):
                part.toggled.connect(slot)
            else:
                part.valueChanged.connect(slot)

    def value(self):
        if isinstance(self.widget, QComboBox):
            return self.choices[self.widget.currentIndex()]
        if isinstance(self.widget, QCheckBox):
            return self.widget.isChecked()
        values = [part.value() for part in self.parts]
        if len(self.parts) > 1:
            return tuple(values)
        if self.auto and values[0] == self.widget.minimum():
            return None
        return values[0]

    def set_value(self, value) -> None:
        if isinstance(self.widget, QComboBox):
            self.widget.setCurrentIndex(self.choices.index(value))
        elif isinstance(self.widget, QCheckBox):
            self.widget.setChecked(bool(value))
        elif len(self.parts) > 1:
            for part, v in zip(self.parts, value):
                part.setValue(v)
        else:
            self.widget.setValue(self.widget.minimum() if value is None else value)


class ParamsDialog(QDialog):
    """Edit a frozen parameter dataclass; ``params_accepted`` carries the valid result."""

    params_accepted = Signal(object)

    def __init__(self, title: str, defaults, fields: list[Field],
                 note: Optional[Callable[[Any], str]] = None, intro: str = "", parent=None,
                 action: str = "Build"):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WA_DeleteOnClose)
        self.setMinimumWidth(420)  # room for the intro and for units such as "g/cm³" in the fields
        self._defaults = defaults
        self._note = note
        self.editors: dict[str, _Editor] = {}
        layout = QVBoxLayout(self)
        if intro:
            text = QLabel(intro)
            text.setWordWrap(True)
            layout.addWidget(text)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        for field in fields:
            editor = _Editor(field, getattr(defaults, field.name))
            self.editors[field.name] = editor
            self.form.addRow(field.label, editor.widget)
            editor.connect(self.refresh)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setTextFormat(Qt.RichText)
        layout.addWidget(self.note_label)
        self.error_label, self.buttons = checked_ok_buttons(self, self._accept)
        self.buttons.button(QDialogButtonBox.Ok).setText(action)  # what OK starts
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    # Subclasses add values that are not plain form fields (a row chosen in a table).
    def extra_values(self) -> dict:
        return {}

    def params(self):
        """The parameters as edited (not yet validated)."""
        values = {name: editor.value() for name, editor in self.editors.items()}
        values.update(self.extra_values())
        return dataclasses.replace(self._defaults, **values)

    def refuse(self, params) -> None:
        """Raise :class:`BuildParameterError` for values the engine builds (scripts and tests make
        them on purpose) that no one means to build from a dialog; subclasses say which."""

    def check(self):
        """Validated parameters, or None with the reason shown in the dialog."""
        try:
            params = self.params()
            params.validate()
            self.refuse(params)
            note = self._note(params) if self._note is not None else ""
        except BuildParameterError as exc:
            self.error_label.setText(str(exc))
            self.note_label.setText("")
            self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)
            self._grow()
            return None
        self.error_label.setText("")
        self.note_label.setText(note)
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(True)
        self._grow()
        return params

    def _grow(self) -> None:
        """Grow to fit a longer note or refusal (a wrapped label's height depends on the width),
        rather than squeeze the form's rows."""
        layout = self.layout()
        needed = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else self.sizeHint().height()
        if needed > self.height():
            self.resize(self.width(), needed)

    def refresh(self, *_) -> None:
        self._grey_unused()
        self.check()

    def _grey_unused(self) -> None:
        """Disable the fields that have no effect with the other values, the tooltip saying why."""
        params = self.params()
        for editor in self.editors.values():
            field = editor.field
            why = field.unused(params) if field.unused is not None else ""
            editor.widget.setEnabled(not why)
            editor.widget.setToolTip(f"No effect: {why}" if why else field.tooltip)
            label = self.form.labelForField(editor.widget)
            if label is not None:
                label.setEnabled(not why)

    def showEvent(self, event) -> None:
        self.refresh()
        super().showEvent(event)

    def _accept(self) -> None:
        params = self.check()
        if params is not None:
            self.params_accepted.emit(params)
            self.accept()


def spin_of(dialog: ParamsDialog, name: str) -> QSpinBox | QDoubleSpinBox:
    """The spin box editing field ``name`` (for tests and for subclasses' wiring)."""
    return dialog.editors[name].widget

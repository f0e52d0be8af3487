"""Analyse › Per-atom energy (EMT model): colour a Cu structure by each atom's excess energy.

The shipped model (:mod:`amorpha.engine.gb.atomic_energy`) predicts ASE-EMT energies from
radial descriptors, fast enough for 10⁶ atoms; the result, in eV/atom above the perfect crystal,
becomes the per-atom array ``energy_excess`` and the colouring. Runs through the window's
analysis runner: progress and Cancel in the status bar, applied only to the model it was
computed for; a structure the model does not know (other elements) gets a dialog.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QAction

from amorpha.engine.gb.atomic_energy import gb_energy_per_atom

LABEL = "Per-atom energy (EMT model)"
COLUMN = "energy_excess"


def add_atomic_energy_action(window, menu) -> QAction:
    """Put the action in ``menu``; it runs :func:`compute_atomic_energy` on ``window``."""
    action = QAction(LABEL, window)
    action.setStatusTip("Excess energy of every atom over the perfect crystal (eV/atom), "
                        "predicted from a model of ASE's EMT for Cu; colours the atoms by it")
    action.triggered.connect(lambda _=False: compute_atomic_energy(window))
    menu.addAction(action)
    return action


def compute_atomic_energy(window) -> None:
    """Predict ``energy_excess`` for the shown structure in the background, then colour by it."""
    if window.atoms is None:
        window.show_error(LABEL, "Open or build a structure first.")
        return

    def compute(atoms, cutoffs, bonded, progress, cancel):
        return gb_energy_per_atom(atoms, progress=progress, cancel=cancel)

    def apply(atoms, excess):
        window._add_columns(atoms, {COLUMN: excess})
        window.view_panel.set_color_key(COLUMN)
        window.statusBar().showMessage(
            f"Excess energy: mean {1e3 * float(np.mean(excess)):.1f} meV/atom, "
            f"{float(np.mean(excess > 0.05)):.1%} of atoms above 50 meV (EMT model)", 15000)

    window._analyse(LABEL, compute, apply, lambda state: None)

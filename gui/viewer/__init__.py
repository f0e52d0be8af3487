"""3D structure viewer (vispy in Qt): atoms, half-bonds, cell, colour bar, slab, picking."""
from .structure_viewer import (  # noqa: F401
    FLAT_THRESHOLD,
    PreparedAtoms,
    StructureViewer,
    prepare_atoms_arrays,
)

__all__ = ["StructureViewer", "PreparedAtoms", "prepare_atoms_arrays", "FLAT_THRESHOLD"]

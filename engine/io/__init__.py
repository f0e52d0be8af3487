"""Structure file input/output: ASE formats plus sovapy xyz and RMC++ cfg, read lazily.

The GUI and scripts use only the names below; every reader failure is a StructureReadError.
"""
from .atom_types import (AtomType, check_symbols, element_types, memory_types, named_types, parse_symbols,
                         unnamed_types, with_elements_renamed, with_type_names)
from .errors import StructureReadError
from .structures import (
    FILE_FILTERS,
    FORMATS,
    LARGE_FILE_BYTES,
    SUPPORTED_EXTENSIONS,
    Trajectory,
    open_structure,
    read_structure,
    size_warning,
    sniff_format,
    validate_atoms,
    write_extxyz,
)

__all__ = [
    "AtomType",
    "FILE_FILTERS",
    "FORMATS",
    "LARGE_FILE_BYTES",
    "SUPPORTED_EXTENSIONS",
    "StructureReadError",
    "check_symbols",
    "element_types",
    "memory_types",
    "named_types",
    "parse_symbols",
    "Trajectory",
    "open_structure",
    "read_structure",
    "size_warning",
    "sniff_format",
    "unnamed_types",
    "validate_atoms",
    "with_elements_renamed",
    "with_type_names",
    "write_extxyz",
]

"""Structure builders: crystals, CSL bicrystals, polycrystals and amorphous networks.

Every builder is a function ``build_*(params, progress=None, cancel=None) -> ase.Atoms`` whose
parameters are a frozen dataclass with ``validate()``. ``validate()`` raises
:class:`BuildParameterError` naming the parameter, before any work starts, so the GUI can show the
message and keep the user's model. What the builder made (Σ, misorientation, density, …) goes into
``atoms.info`` so panels can show it and extxyz keeps it.
"""
from .common import BuildParameterError, require

__all__ = ["BuildParameterError", "require"]

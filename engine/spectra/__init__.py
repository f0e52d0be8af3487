"""Spectra: types, readers and (later) preprocessing, comparison and unmixing."""
from amorpha.engine.spectra.columns import Spectrum, read_columns

__all__ = ["Spectrum", "read_columns"]

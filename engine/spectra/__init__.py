"""Spectra: types, readers and (later) preprocessing, comparison and unmixing."""
from amorpha.engine.spectra.columns import read_columns
from amorpha.engine.spectra.spectrum import SiteSpectra, Spectrum, SpectrumError, check_grid

__all__ = ["SiteSpectra", "Spectrum", "SpectrumError", "check_grid", "read_columns"]

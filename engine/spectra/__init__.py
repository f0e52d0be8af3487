"""Spectra: types, readers and writers (text columns, FEFF, folders of structure + spectrum pairs)."""
from amorpha.engine.spectra.columns import read_columns, write_columns
from amorpha.engine.spectra.feff import read_feff_inp, read_feff_site, read_feff_xmu
from amorpha.engine.spectra.folders import (SiteRecord, SpectrumFolder, common_grid, read_spectrum_folder,
                                            site_spectra)
from amorpha.engine.spectra.spectrum import SiteSpectra, Spectrum, SpectrumError, check_grid

__all__ = [
    "SiteRecord", "SiteSpectra", "Spectrum", "SpectrumError", "SpectrumFolder", "check_grid",
    "common_grid", "read_columns", "read_feff_inp", "read_feff_site", "read_feff_xmu",
    "read_spectrum_folder", "site_spectra", "write_columns",
]

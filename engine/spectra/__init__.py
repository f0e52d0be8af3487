"""Spectra: types, readers and writers (text columns, microscope files, FEFF, folders of structure +
spectrum pairs); preparation (prepare), comparison (compare) and unmixing (unmix) are submodules."""
from amorpha.engine.spectra.columns import read_columns, write_columns
from amorpha.engine.spectra.feff import read_feff_inp, read_feff_site, read_feff_xmu
from amorpha.engine.spectra.folders import (SeveralEdgesError, SiteRecord, SpectrumFolder, common_grid,
                                            read_spectrum_folder, site_spectra)
from amorpha.engine.spectra.microscope import SpectrumData, read_microscope
from amorpha.engine.spectra.spectrum import SiteSpectra, Spectrum, SpectrumError, check_grid

__all__ = [
    "SeveralEdgesError", "SiteRecord", "SiteSpectra", "Spectrum", "SpectrumData", "SpectrumError",
    "SpectrumFolder", "check_grid", "common_grid", "read_columns", "read_feff_inp", "read_feff_site", "read_feff_xmu",
    "read_microscope", "read_spectrum_folder", "site_spectra", "write_columns",
]

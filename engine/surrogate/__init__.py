"""Site spectra from structure: reference calculators, surrogate models, active learning."""
from amorpha.engine.surrogate.broadening import broaden_curve, broaden_spectrum, broaden_sticks, voigt_fwhm
from amorpha.engine.surrogate.cache import SiteCache, default_cache_dir
from amorpha.engine.surrogate.calculator import ReferenceCalculator
from amorpha.engine.surrogate.cluster import Cluster, build_cluster
from amorpha.engine.surrogate.model import ModelMismatchError, SpectrumModel, SurrogateParams
from amorpha.engine.surrogate.xtb import XtbCalculator, XtbError, XtbParams

__all__ = [
    "Cluster", "ModelMismatchError", "ReferenceCalculator", "SiteCache", "SpectrumModel",
    "SurrogateParams", "XtbCalculator", "XtbError", "XtbParams", "broaden_curve", "broaden_spectrum",
    "broaden_sticks", "build_cluster", "default_cache_dir", "voigt_fwhm",
]

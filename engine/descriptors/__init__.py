"""Per-site descriptors of local structure (ACSF, weighted ACSF, SOAP, interpretable features;
any of them grouped by the first shell), numba kernels.

One entry point for models: :func:`compute` takes any of the parameter types and returns an
(n_centres, n_features) array; :func:`params_from_dict` rebuilds parameters from their
``to_dict()`` (which carries a ``"kind"``), and :func:`feature_names` labels the columns.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import ParameterError
from ..tasks import CancelFn, ProgressFn
from . import acsf as _acsf
from . import grouped as _grouped
from . import local as _local
from . import soap as _soap
from . import wacsf as _wacsf
from .acsf import AcsfParams, compute_acsf
from .grouped import GroupedParams, compute_grouped
from .local import LocalFeatureParams, local_features
from .soap import SoapParams, compute_soap
from .wacsf import WacsfParams, compute_wacsf

#: kind -> (parameter class, compute function, feature-name function)
KINDS = {
    _soap.KIND: (SoapParams, compute_soap, _soap.feature_names),
    _acsf.KIND: (AcsfParams, compute_acsf, _acsf.feature_names),
    _local.KIND: (LocalFeatureParams, local_features, _local.feature_names),
    _wacsf.KIND: (WacsfParams, compute_wacsf, _wacsf.feature_names),
    _grouped.KIND: (GroupedParams, compute_grouped, _grouped.feature_names),
}
DescriptorParams = SoapParams | AcsfParams | LocalFeatureParams | WacsfParams | GroupedParams


def _kind_of(params) -> str:
    for kind, (cls, _, _) in KINDS.items():
        if isinstance(params, cls):
            return kind
    raise ParameterError("params", f"{type(params).__name__} is not a descriptor's parameters; "
                         f"use one of {', '.join(c.__name__ for c, _, _ in KINDS.values())}")


def compute(atoms, params, centers=None, progress: Optional[ProgressFn] = None,
            cancel: Optional[CancelFn] = None) -> np.ndarray:
    """Descriptor ``params`` describes, for each centre (atom indices; all atoms if None)."""
    return KINDS[_kind_of(params)][1](atoms, params, centers=centers, progress=progress,
                                      cancel=cancel)


def params_from_dict(d: dict):
    """Parameters from ``to_dict()`` output (its ``"kind"`` picks the class)."""
    kind = d.get("kind") if isinstance(d, dict) else None
    if kind not in KINDS:
        raise ParameterError("kind", f"unknown descriptor kind {kind!r}; known: {', '.join(KINDS)}")
    try:
        return KINDS[kind][0].from_dict(d)
    except TypeError as exc:
        raise ParameterError(kind, f"cannot read these settings: {exc}") from None


def feature_names(params, atoms=None) -> list[str]:
    """Column names of :func:`compute`'s output (local features need ``atoms`` unless their
    ``elements`` are fixed)."""
    kind = _kind_of(params)
    if kind in (_local.KIND, _grouped.KIND):
        return KINDS[kind][2](params, atoms)
    return KINDS[kind][2](params)


def warm_up() -> None:
    """Compile every descriptor kernel on tiny inputs."""
    _soap.warm_up()
    _acsf.warm_up()
    _local.warm_up()


__all__ = [
    "AcsfParams", "DescriptorParams", "GroupedParams", "KINDS", "LocalFeatureParams", "SoapParams", "compute",
    "WacsfParams", "compute_acsf", "compute_soap", "compute_wacsf", "feature_names", "local_features",
    "params_from_dict",
]

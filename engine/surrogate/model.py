"""Surrogate spectrum models: descriptor → site spectrum, by arithmetic once trained.

The targets are compressed by PCA first (a few components carry nearly all the variation between
site spectra, and the regressor then predicts a handful of smooth numbers instead of hundreds of
correlated intensities); features are standardised. Four regressors from scikit-learn: ridge
(fast, linear), kernel ridge (RBF), a Gaussian process (Matérn ν = 5/2 + white noise, the only one
with a predictive uncertainty, which active learning needs) and an MLP. With a grouped descriptor
(:mod:`amorpha.engine.descriptors.grouped`: sites sorted by their first shell) each group of at
least :data:`MIN_GROUP` training sites gets its own scaler, PCA and regressor, and one fitted on all
sites predicts the others.

A model remembers what it was trained with (descriptor settings, energy grid, element, edge, the
reference calculator) and refuses, with a message, to predict from features made another way.
Saved models are a zip of ``meta.json``, the training data (``training.npz``) and, for ridge,
kernel ridge and MLP, the fitted scikit-learn objects in skops' format (:mod:`..model_zip`: no
pickle, so opening a model file from someone else cannot run code). They are used only when
written by the scikit-learn version now installed; otherwise the model is refitted from its
training data (same seed, same result), so a model file outlives library upgrades. A Gaussian
process needs no fitted objects: its hyperparameters in ``meta.json`` and the training data
rebuild it exactly.
"""
from __future__ import annotations

import os
import reprlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from amorpha.engine.errors import ParameterError, ReadError, require
from amorpha.engine.model_zip import check_fitted, read_fitted_zip, restore_fitted, write_fitted_zip
from amorpha.engine.spectra.spectrum import SiteSpectra, Spectrum, check_grid
from amorpha.engine.surrogate.metrics import spectrum_metrics
from amorpha.engine.tasks import check_cancel, report, sub_progress

REGRESSORS = ("ridge", "kernel_ridge", "gp", "mlp")
MODEL_FORMAT = "amorpha-spectrum-model"
MODEL_VERSION = 2  # 2: Gaussian processes saved without a pickle (meta "gp_theta")


class ModelMismatchError(ValueError):
    """Features or a structure do not match what the model was trained on."""


@dataclass(frozen=True)
class SurrogateParams:
    """How to learn spectra from descriptors."""

    regressor: str = "gp"
    # PCA components kept of the target spectra: 12 already capped the cosine of sharp first-
    # principles S K spectra at 0.94 (reconstruction alone); 30 reach 0.98 and cost the GP nothing.
    n_components: int = 30
    alpha: float = 1e-3  # ridge / kernel-ridge regularisation, MLP weight decay
    hidden: tuple[int, ...] = (64, 64)  # MLP layer sizes
    seed: int = 0

    def validate(self) -> "SurrogateParams":
        require(self.regressor in REGRESSORS, "regressor", f"one of {', '.join(REGRESSORS)}")
        require(1 <= self.n_components <= 200, "n_components", "between 1 and 200")
        require(np.isfinite(self.alpha) and self.alpha > 0, "alpha", "a positive number")
        require(len(self.hidden) >= 1 and all(1 <= h <= 4096 for h in self.hidden), "hidden",
                "one or more layer sizes between 1 and 4096")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SurrogateParams":
        d = dict(d)
        d["hidden"] = tuple(d.get("hidden", (64, 64)))
        return cls(**d)


def _typical_distance(x: np.ndarray) -> float:
    """The median distance between distinct rows of ``x`` (1 when all rows are equal)."""
    from scipy.spatial.distance import pdist

    d2 = pdist(x, "sqeuclidean")
    return float(np.sqrt(np.median(d2[d2 > 0]))) if np.any(d2 > 0) else 1.0


def _regressor(params: SurrogateParams, x: np.ndarray, theta=None):
    """A fresh scikit-learn estimator for standardised features ``x``; with ``theta`` (a fitted
    Gaussian process's log-hyperparameters, ``kernel_.theta``) a GP that keeps them as they are."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import Ridge
    from sklearn.neural_network import MLPRegressor

    if params.regressor == "ridge":
        return Ridge(alpha=params.alpha * len(x))
    if params.regressor == "mlp":
        return MLPRegressor(hidden_layer_sizes=params.hidden, alpha=params.alpha, max_iter=3000,
                            early_stopping=len(x) >= 50, random_state=params.seed, tol=1e-6)
    # The typical distance between standardised samples sets the kernel width to start from
    # (fitted hyperparameters given: only the kernel's form is needed).
    scale = 1.0 if theta is not None else _typical_distance(x[:: max(1, len(x) // 200)])
    if params.regressor == "kernel_ridge":
        return KernelRidge(kernel="rbf", gamma=1.0 / scale**2, alpha=params.alpha)
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(scale, (scale * 1e-2, scale * 1e2), nu=2.5) \
        + WhiteKernel(1e-3, (1e-8, 1e0))
    if theta is not None:
        theta = np.asarray(theta, dtype=np.float64)
        # fitted values lie within the kernel's bounds, |log| < 20; beyond 50 exp() overflows to NaN
        require(theta.shape == kernel.theta.shape and np.all(np.abs(theta) <= 50), "gp_theta",
                f"{len(kernel.theta)} finite kernel hyperparameters (logarithms within ±50)")
        return GaussianProcessRegressor(kernel.clone_with_theta(theta), optimizer=None,
                                        random_state=params.seed)
    return GaussianProcessRegressor(kernel, random_state=params.seed)


#: training sites a group of a grouped descriptor needs for a regressor of its own
MIN_GROUP = 15


#: a feature's spread, relative to its size, below which it is rounding noise, not variation
FEATURE_NOISE = 1e-9


def _fit_part(params: SurrogateParams, x: np.ndarray, y: np.ndarray, theta=None) -> dict:
    """Scaler, PCA of the spectra and regressor on the PCA scores, fitted on ``x``, ``y``
    (a Gaussian process with the hyperparameters ``theta`` when given, see :func:`_regressor`)."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    # A feature that varies by rounding alone (1e-15 between a crystal's equivalent sites) would
    # be scaled up to unit spread, and its noise would part sites that are the same.
    scaler.scale_[scaler.scale_ <= FEATURE_NOISE * np.maximum(np.abs(scaler.mean_), 1.0)] = 1.0
    xs = scaler.transform(x)
    k = min(params.n_components, len(x) - 1, y.shape[1])
    pca = PCA(n_components=k, random_state=params.seed).fit(y)
    scores = pca.transform(y)
    # One scale for all scores (not one per score): the leading components, which carry the
    # spectrum, then dominate the fit, and the predicted variances add up in intensity units.
    unit = float(scores[:, 0].std()) or 1.0
    regressor = _regressor(params, xs, theta).fit(xs, scores / unit)
    return {"scaler": scaler, "pca": pca, "regressor": regressor, "unit": unit}


def _predict_part(part: dict, x: np.ndarray, with_std: bool):
    """Spectra of ``x`` by one fitted part; with ``with_std`` also each site's predictive standard
    deviation of one normalised PCA score (None without). The scores share one kernel and one
    scale (``unit``; ``normalize_y`` is off), so scikit-learn gives every score the same one; their
    root mean square keeps the sum of the variances exact should that ever not hold."""
    xs = part["scaler"].transform(x)
    regressor, pca, unit = part["regressor"], part["pca"], part["unit"]
    if with_std:
        scores, std = regressor.predict(xs, return_std=True)
        std = np.sqrt(np.mean(np.asarray(std).reshape(len(xs), -1) ** 2, axis=1))
    else:
        scores, std = regressor.predict(xs), None
    return pca.inverse_transform(unit * np.asarray(scores).reshape(len(xs), -1)), std


def _score_variance(part: dict) -> float:
    """Intensity² per unit of a part's normalised score variance, summed over its PCA scores
    (they share one kernel, so each has the same normalised variance)."""
    return part["unit"] ** 2 * part["pca"].n_components_


def _energy_spread(part: dict) -> np.ndarray:
    """Intensity per unit of a part's normalised score standard deviation, at each energy: the
    scores are independent with one variance, so Var[I(E)] = unit² σ² Σ_k components_[k, E]².
    The components are orthonormal, so the squares of this sum to :func:`_score_variance`."""
    return part["unit"] * np.sqrt(np.sum(part["pca"].components_ ** 2, axis=0))


def _relative_std(spectra: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """Whole-spectrum standard deviations relative to the spectra's own root sums of squares
    (infinite for a spectrum of zeros)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return whole / np.sqrt(np.einsum("ij,ij->i", spectra, spectra))


def _part_name(key) -> str:
    """A fitted part's name in saved files: "all" for the one fitted on every site, else its group."""
    return "all" if key is None else str(key)


def _part_key(name):
    """The part key (None: all sites, else the group) of a name :func:`_part_name` gave, or of a key."""
    return None if name in (None, "all") else int(name)


def _white_noise(kernel) -> float:
    """The noise level of a kernel's white-noise leaf (the kernel is a tree of sums and products)."""
    from sklearn.gaussian_process.kernels import WhiteKernel

    parts = [kernel]
    while parts:
        k = parts.pop()
        if isinstance(k, WhiteKernel):
            return float(k.noise_level)
        parts.extend(getattr(k, name) for name in ("k1", "k2") if hasattr(k, name))
    return 0.0


def _check_metrics(metrics) -> dict:
    """``metrics`` read from a model file, refused (:class:`ParameterError` naming the key) unless
    each entry the window reads has the type it is read as: the window reads them on the GUI
    thread (the summary, the stored learning curve, the calculator settings new xTB runs take),
    where an edited one was an uncaught TypeError or AttributeError."""
    from .xtb import XtbParams

    def numbers(values) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)

    require(isinstance(metrics, dict), "metrics", f"a table of named scores, got {type(metrics).__name__}")
    if "r2" in metrics:  # the summary shows the three together
        for key in ("r2", "cosine_mean", "peak_error_ev"):
            require(numbers([metrics.get(key)]), f"metrics.{key}", f"a number, got {metrics.get(key)!r}")
    for key, kind in (("measured_on", str), ("descriptor_cv", dict), ("learning_curve_of", str)):
        require(isinstance(metrics.get(key, kind()), kind), f"metrics.{key}",
                f"a {kind.__name__}, got {metrics.get(key)!r}")
    curve = metrics.get("learning_curve")  # the window draws LearningCurve("stored", **curve)
    require(curve is None or (isinstance(curve, dict) and sorted(curve) == ["calls", "rmse"]
                              and all(isinstance(v, list) and numbers(v) for v in curve.values())
                              and len(curve["calls"]) == len(curve["rmse"])),
            "metrics.learning_curve", "two lists of numbers of the same length, 'calls' and 'rmse'")
    calculator = metrics.get("calculator")
    require(calculator is None or isinstance(calculator, dict), "metrics.calculator",
            f"the reference calculator's settings, got {calculator!r}")
    if calculator and "cluster_radius" in calculator:  # xTB's, which the window runs again
        try:
            XtbParams.from_dict(calculator).validate()
        except (ValueError, TypeError, AttributeError) as exc:
            raise ParameterError("metrics.calculator", str(exc)) from None
    return metrics


def _begins_as_zip(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _energy_grid(values) -> np.ndarray:
    """``meta["energy"]`` as the model's grid: a JSON list of numbers, then the checks every grid
    gets (:func:`check_grid`: finite, increasing). numpy reads numeric strings ("0.2") and
    booleans as numbers, so an edited grid of them loaded without a word."""
    def number(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    require(isinstance(values, list) and all(map(number, values)), "energy",
            f"a list of numbers in eV, got {reprlib.repr(values)}")
    energy, _ = check_grid(values, None, "energy, the model's energy grid")
    return energy


def _check_names(meta: dict) -> None:
    """``axis`` and ``reference`` as names (absent: ""): read as anything, ``axis`` became the
    scale "None" or "[1, 2]" that every prediction carried, and ``reference`` was shown as is."""
    for key, what in (("axis", "the name of the energy scale"), ("reference", "the name of the calculator or code")):
        value = meta.get(key, "")
        require(isinstance(value, str), key, f"{what}, got {reprlib.repr(value)}")



#: Sites predicted per call of :meth:`SpectrumModel.predict_structure` (0.35-0.5 s with the
#: Largest shift (eV) a tie to a measured peak may give the model's axis: a calculator's energy
#: reference sits a few eV from the edge (xTB's O K: 10 eV), a typo or another edge hundreds.
MAX_TIE_OFFSET = 30.0

#: distances for the built-in Si K model of 450 training sites here): Cancel is answered between.
PREDICT_CHUNK = 10_000

@dataclass
class SpectrumModel:
    """A fitted surrogate with everything needed to check and describe its predictions."""

    params: SurrogateParams
    descriptor: dict  # the descriptor settings (``params.to_dict()`` of engine.descriptors)
    energy: np.ndarray
    element: str = ""
    edge: str = ""
    reference: str = ""  # the calculator or code the training spectra came from
    metrics: dict = field(default_factory=dict)
    n_train: int = 0
    #: where the edge's tabulated onset lies on this model's energy axis (eV), and the measured peak
    #: that says so (:meth:`calibrate_onset`), or the training spectra's own (OptaDOS's Fermi
    #: level); None: at 0, the calculator's own reference
    onset_at: dict | None = None
    #: the scale of the energy axis when it is a code's own (``SiteSpectra.meta["axis"]``,
    #: "CASTEP/OptaDOS"); "": relative to the edge, or absolute energies
    axis: str = ""
    _fitted: dict | None = field(default=None, repr=False)
    _training: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    #: why the model read from a file was refitted from its training data ("": it was not)
    refitted: str = field(default="", repr=False)
    #: when it was fitted (ISO 8601, UTC; "": a file written before this was stored)
    trained_at: str = ""
    #: the file it was read from and the Amorpha version that wrote it ("": trained in this process):
    #: a model trained here and one loaded otherwise looked alike in the window
    source_path: str = field(default="", repr=False)
    written_by: str = field(default="", repr=False)
    #: per fitted part (by group; None: the part of all sites): its standardised training rows and
    #: domain radius (:mod:`.domain`), once asked
    _domains: dict = field(default_factory=dict, repr=False)

    # -- training ---------------------------------------------------------------------------
    @classmethod
    def train(cls, features: np.ndarray, spectra: SiteSpectra, descriptor: dict,
              params: SurrogateParams | None = None, reference: str = "") -> "SpectrumModel":
        """Fit on ``features`` (n_sites, n_features) and their site spectra."""
        params = (params or SurrogateParams()).validate()
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(spectra.intensity, dtype=np.float64)
        require(x.ndim == 2 and len(x) == len(y), "features", f"one row per spectrum ({len(y)})")
        require(len(x) >= 3, "training set", "at least three site spectra")
        require(np.all(np.isfinite(x)), "features", "finite numbers (a descriptor returned NaN)")
        meta = spectra.meta
        onset_at = {"ev": float(meta["onset_at_ev"]), "from": str(meta.get("onset_at_from", ""))} \
            if "onset_at_ev" in meta else None  # the spectra's own (CASTEP's Fermi level)
        model = cls(params, dict(descriptor), np.array(spectra.energy), spectra.element, spectra.edge,
                    reference or spectra.source, n_train=len(x), onset_at=onset_at, axis=meta.get("axis", ""))
        model._fit(x, y)
        model.trained_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return model

    @property
    def grouped(self) -> bool:
        """Fitted one regressor per group of a grouped descriptor (its first feature column)."""
        return self.descriptor.get("kind") == "grouped"

    def _fit(self, x: np.ndarray, y: np.ndarray, thetas: dict | None = None) -> None:
        """Fit every part; ``thetas`` (part name → a Gaussian process's fitted hyperparameters,
        as :meth:`gp_thetas` gives) skips the hyperparameter search and rebuilds the same model."""
        # A grouped descriptor's first column is the site's group; every group with enough sites
        # gets its own scaler, PCA and regressor, and one fitted on all sites serves the rest.
        thetas = thetas or {}
        rows = x[:, 1:] if self.grouped else x
        parts = {None: _fit_part(self.params, rows, y, thetas.get(_part_name(None)))}
        if self.grouped:
            for key in np.unique(np.rint(x[:, 0]).astype(np.int64)):
                mine = self._part_mask(x, int(key))
                if np.sum(mine) >= MIN_GROUP:
                    parts[int(key)] = _fit_part(self.params, rows[mine], y[mine], thetas.get(_part_name(int(key))))
        require(not thetas or set(thetas) == {_part_name(k) for k in parts}, "gp_theta",
                "one set of hyperparameters per fitted part")
        self._fitted = {"parts": parts, "n_features": x.shape[1]}
        self._training = (x, y)
        self._domains = {}

    def gp_thetas(self) -> dict[str, list[float]]:
        """Each part's fitted Gaussian-process log-hyperparameters by part name: with the training
        data, all a saved GP model needs (refitting with them is one Cholesky factorisation)."""
        return {_part_name(key): part["regressor"].kernel_.theta.tolist()
                for key, part in self._fitted["parts"].items()}

    def _part_mask(self, x: np.ndarray, key: int | None) -> np.ndarray:
        """Which rows of ``x`` (a grouped model's features, group first) part ``key`` learns
        from: its group's, or all for the part of all sites (``None``)."""
        return np.ones(len(x), dtype=bool) if key is None else np.rint(x[:, 0]).astype(np.int64) == key

    def _routes(self, x: np.ndarray):
        """(part key, fitted part, the rows of ``x`` it predicts, their features) for each part in use."""
        parts = self._fitted["parts"]
        if not self.grouped:
            return [(None, parts[None], np.arange(len(x)), x)]
        keys = np.rint(x[:, 0]).astype(np.int64)
        chosen = np.array([k if int(k) in parts else -1 for k in keys] if len(x) else [], np.int64)
        out = []
        for key in np.unique(chosen):
            rows = np.flatnonzero(chosen == key)
            name = int(key) if key >= 0 else None
            out.append((name, parts[name], rows, x[rows, 1:]))
        return out

    # -- prediction -------------------------------------------------------------------------
    @property
    def has_uncertainty(self) -> bool:
        return self.params.regressor == "gp"

    def check_descriptor(self, descriptor: dict) -> None:
        """Raise :class:`ModelMismatchError` when ``descriptor`` settings differ from training."""
        if dict(descriptor) == self.descriptor:
            return
        keys = sorted(set(descriptor) | set(self.descriptor))
        diff = [f"{k}: model {self.descriptor.get(k)!r}, given {descriptor.get(k)!r}"
                for k in keys if descriptor.get(k) != self.descriptor.get(k)]
        raise ModelMismatchError(
            "this model was trained with other descriptor settings (" + "; ".join(diff) + ")"
        )

    def _checked(self, features: np.ndarray) -> np.ndarray:
        """``features`` as rows of the width the model was trained on."""
        if self._fitted is None:
            raise ModelMismatchError("the model has not been trained")
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        if x.shape[1] != self._fitted["n_features"]:
            raise ModelMismatchError(
                f"{x.shape[1]} features per site, the model was trained on {self._fitted['n_features']}"
            )
        return x

    def predict(self, features: np.ndarray, descriptor: dict | None = None, return_std: bool = False):
        """Spectra (n, n_energies) for ``features``; with ``return_std`` also a per-site uncertainty.

        The uncertainty is the predicted standard deviation of the whole spectrum (root of the summed
        variances of the PCA scores, whose axes are orthonormal), in intensity units; None unless
        the regressor is a Gaussian process. :meth:`predict_band` spreads it over the energies.
        """
        spectra, sigma, part_of = self._predict(features, descriptor, return_std and self.has_uncertainty)
        if not return_std:
            return spectra
        return spectra, None if sigma is None else sigma * self._whole_scales()[part_of]

    def predict_band(self, features: np.ndarray, descriptor: dict | None = None):
        """Spectra and their predictive standard deviation at each energy, both (n, n_energies),
        in intensity units: the band a site's predicted spectrum lies in, with the white noise the
        Gaussian process fitted (what a new reference spectrum of the site would scatter by). Its
        root sum of squares over the energies is :meth:`predict`'s whole-spectrum one."""
        require(self.has_uncertainty, "regressor",
                f"the Gaussian-process regressor for a predictive uncertainty; this model's is {self.params.regressor}")
        spectra, sigma, part_of = self._predict(features, descriptor, True)
        return spectra, sigma[:, None] * self._energy_spreads()[part_of]

    def _whole_scales(self) -> np.ndarray:
        """Per fitted part, the whole-spectrum std per unit of normalised score std (√
        :func:`_score_variance`; also the root sum of squares of its :func:`_energy_spread`)."""
        return np.sqrt([_score_variance(part) for part in self._fitted["parts"].values()])

    def _energy_spreads(self) -> np.ndarray:
        """:func:`_energy_spread` of each fitted part, one row each in the order of the parts."""
        return np.array([_energy_spread(part) for part in self._fitted["parts"].values()])

    def _predict(self, features: np.ndarray, descriptor: dict | None, with_std: bool):
        """Spectra of ``features``; per site, with ``with_std``, the standard deviation of one
        normalised PCA score (:func:`_predict_part`; None without), and the index of the fitted
        part that predicted it, to scale that by (parts of a grouped model differ in both)."""
        if descriptor is not None:
            self.check_descriptor(descriptor)
        x = self._checked(features)
        spectra = np.empty((len(x), len(self.energy)))
        sigma = np.empty(len(x)) if with_std else None
        part_of = np.empty(len(x), dtype=np.int64)
        names = list(self._fitted["parts"])
        for key, part, rows, xp in self._routes(x):
            spectra[rows], part_sigma = _predict_part(part, xp, with_std)
            part_of[rows] = names.index(key)
            if with_std:
                sigma[rows] = part_sigma
        return spectra, sigma, part_of

    def distance_from_training(self, features: np.ndarray, cancel=None) -> np.ndarray:
        """Each site's distance to the nearest training site of the part that predicts it, in the
        standardised features that part's regressor sees, in units of its domain radius
        (:mod:`~amorpha.engine.surrogate.domain`): above 1, unlike the sites the model learnt from.
        NaN where a part learnt from fewer than two distinct sites."""
        from amorpha.engine.surrogate.domain import domain_radius, nearest_distances

        x = self._checked(features)
        out = np.empty(len(x))
        for group, part, rows, xp in self._routes(x):
            if group not in self._domains:  # the part's own training sites, as its regressor sees them
                train = self._training[0]
                mine = train[self._part_mask(train, group), 1:] if self.grouped else train
                seen = part["scaler"].transform(mine)
                self._domains[group] = (seen, domain_radius(seen))
            seen, radius = self._domains[group]
            out[rows] = nearest_distances(part["scaler"].transform(xp), seen, cancel=cancel) / radius
        return out

    def posterior_covariance(self, features: np.ndarray, latent: bool = False) -> np.ndarray:
        """The Gaussian process's predictive covariance between sites (n, n) of the whole spectrum:
        summed over the PCA scores (orthonormal axes), in intensity² units. Sites predicted by
        different parts of a grouped model are independent (0).

        With ``latent`` the fitted noise (:meth:`noise_variances`) is left off the diagonal: the
        covariance of the noise-free spectra, the part that more reference spectra can lower.
        """
        from scipy.linalg import solve_triangular

        require(self.has_uncertainty, "regressor", "a covariance needs the Gaussian-process regressor")
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        cov = np.zeros((len(x), len(x)))
        for _, part, rows, xp in self._routes(x):
            gp = part["regressor"]
            xs = part["scaler"].transform(xp)
            v = solve_triangular(gp.L_, gp.kernel_(gp.X_train_, xs), lower=True)
            block = gp.kernel_(xs) - v.T @ v
            if latent:
                block[np.diag_indices_from(block)] -= _white_noise(gp.kernel_)
            cov[np.ix_(rows, rows)] = block * _score_variance(part)
        return cov

    def noise_variances(self, features: np.ndarray) -> np.ndarray:
        """The white-noise variance the Gaussian process fitted for each site's part, in the units
        of :meth:`posterior_covariance`: what no further reference spectrum can remove."""
        require(self.has_uncertainty, "regressor", "only the Gaussian-process regressor has a noise level")
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        out = np.empty(len(x))
        for _, part, rows, _ in self._routes(x):
            out[rows] = _white_noise(part["regressor"].kernel_) * _score_variance(part)
        return out

    def sites_of(self, atoms) -> np.ndarray:
        """Indices of the absorbing element's atoms in ``atoms``."""
        sites = np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == self.element)
        if len(sites) == 0:
            raise ModelMismatchError(
                f"this model predicts {self.element} {self.edge} spectra and the structure has no "
                f"{self.element}"
            )
        return sites

    def unknown_elements(self, atoms) -> str:
        """Why the model's descriptor cannot describe ``atoms`` ("" when it can): elements beside
        its species, whose neighbours it has no features for."""
        from amorpha.engine.descriptors import params_from_dict
        from amorpha.engine.elements import present_symbols

        species = getattr(params_from_dict(self.descriptor), "species", None)
        missing = set(present_symbols(atoms.numbers)) - set(species or ())
        if species is None or not missing:
            return ""
        return (f"the model's descriptors know {', '.join(species)}; this structure also "
                f"has {', '.join(sorted(missing))}")

    def fits(self, atoms) -> bool:
        """Whether the model can predict ``atoms``: it has the absorbing element, and no element
        the descriptor does not know."""
        from amorpha.engine.elements import present_symbols

        return self.element in present_symbols(atoms.numbers) and not self.unknown_elements(atoms)

    def predict_structure(self, atoms, sites=None, progress=None, cancel=None,
                          uncertainty: bool = False) -> SiteSpectra:
        """Descriptors (with the model's own settings) and predicted spectra of ``sites``, each
        with its distance from the training sites (:meth:`distance_from_training`); with
        ``uncertainty`` and a Gaussian process, each with its predictive uncertainty too
        (:attr:`SiteSpectra.uncertainty` and the shape of its band, :meth:`SiteSpectra.std`).
        Asked for, not always: it costs half as much again as the spectra (the built-in Si K model
        on a-SiO's 2592 Si sites: 0.37 s for the spectra, 0.59 s with their uncertainty; the
        triangular solve against every training site is the difference)."""
        from amorpha.engine.descriptors import compute, params_from_dict

        sites = self.sites_of(atoms) if sites is None else np.asarray(sites, dtype=np.int64)
        unknown = self.unknown_elements(atoms)
        if unknown:
            raise ModelMismatchError(unknown)
        descriptor = params_from_dict(self.descriptor)
        features = compute(atoms, descriptor, sites, progress=sub_progress(progress, 0, 0.9), cancel=cancel)
        spectra = np.empty((len(features), len(self.energy)))
        distance = np.empty(len(features))
        with_std = uncertainty and self.has_uncertainty
        relative = np.empty(len(features)) if with_std else None
        part_of = np.empty(len(features), dtype=np.int64)
        shapes, whole = self._band_shapes() if with_std else (None, None)
        # in chunks of sites (each row's prediction is its own): Cancel and progress between them,
        # and the regressor's intermediates (sites × training sites) stay small; 343k Si sites
        # ran 15 s in one call that Cancel could not reach, 1.4 GB above the features
        for lo in range(0, len(features), PREDICT_CHUNK):
            check_cancel(cancel)
            chunk = slice(lo, min(lo + PREDICT_CHUNK, len(features)))
            spectra[chunk], chunk_sigma, part_of[chunk] = self._predict(features[chunk], None, with_std)
            if with_std:  # per chunk: a norm of all the spectra at once made a copy of them
                relative[chunk] = _relative_std(spectra[chunk], chunk_sigma * whole[part_of[chunk]])
            distance[chunk] = self.distance_from_training(features[chunk], cancel)
            report(progress, 0.9 + 0.1 * chunk.stop / len(features), "predicting the sites")
        report(progress, 1.0, "predicted")
        # kept as a shape per part, not a band per site: that would double the spectra's memory
        band = {"uncertainty": relative, "band_shapes": (shapes, part_of)} if with_std else {}
        return SiteSpectra(self.energy, spectra, sites, self.element, self.edge, source="surrogate",
                           meta=self.placement(), distance=distance, **band)

    def _band_shapes(self) -> tuple[np.ndarray, np.ndarray]:
        """Per fitted part, how its predictive standard deviation spreads over the energies (of
        unit root sum of squares: :attr:`SiteSpectra.band_shapes`), and that root sum, the
        whole-spectrum std per unit of normalised score std (:meth:`_whole_scales`)."""
        whole = self._whole_scales()
        return self._energy_spreads() / whole[:, None], whole

    def placement(self) -> dict:
        """What its predictions carry so :func:`~amorpha.engine.spectra.edges.place_at_onset` puts
        them on a measured axis: where the tabulated onset lies on the model's axis, and why; and
        the axis's scale when it is a code's own (a plot labels it so)."""
        axis = {"axis": self.axis} if self.axis else {}
        if self.onset_at is None:
            return axis
        return {"onset_at_ev": float(self.onset_at["ev"]), "onset_at_from": self.onset_at["from"], **axis}

    def calibrate_onset(self, atoms, peak_ev: float, what: str) -> float:
        """:meth:`tie_onset` with the average this model predicts for ``atoms``."""
        return self.tie_onset(self.average(self.predict_structure(atoms)), peak_ev, what)

    def tie_onset(self, average: Spectrum, peak_ev: float, what: str) -> float:
        """Tie the model's energy axis to a measured one: the highest peak of ``average`` (its
        prediction for a structure) is put at ``peak_ev``, measured on ``what`` (e.g. "a-SiO2").
        The calculator's energies count from its own reference (the free atom's ΔSCF edge for
        xTB), which can sit eV away from where measured edges are (O K: 10 eV); a prediction
        placed at the tabulated onset is then off by that much. Returns and stores where that
        onset lies on the axis."""
        from amorpha.engine.spectra.edges import edge_onset

        require(np.isfinite(peak_ev) and peak_ev > 0, "peak_ev", f"a measured energy in eV, got {peak_ev!r}")
        onset, source = edge_onset(self.element, self.edge)
        peak = float(average.energy[np.argmax(average.intensity)])
        at = peak - (float(peak_ev) - onset)
        # a calculator's reference sits eV from the edge (xTB's O K: 10 eV), never hundreds: 99.8 eV
        # (Si L2,3) given for Si K was kept, and placed every later Si K prediction at 86-116 eV
        require(abs(at) <= MAX_TIE_OFFSET, "peak_ev",
                f"{peak_ev:g} eV cannot be this {self.element} {self.edge} peak: the edge starts at {onset:g} eV "
                f"({source}) and the predicted peak lies {peak:+.1f} eV from it on the model's axis, so "
                f"the tie would move the axis by {at:+.0f} eV (at most ±{MAX_TIE_OFFSET:g})")
        self.onset_at = {"ev": at,
                         "from": f"the predicted {what} {self.element} {self.edge} peak at the measured {peak_ev:g} eV; "
                                 f"onset {onset:g} eV, {source}"}
        return self.onset_at["ev"]

    def inherit_tie(self, other: "SpectrumModel | None") -> bool:
        """Take ``other``'s tie (:meth:`tie_onset`) when this model is untied and both predict the
        same edge from the same reference calculator settings (its version aside): the tie corrects
        the calculator's energy reference, which the sites a model learned from do not move. A model
        trained in the window with the built-in model's calculator is then placed like it. True
        when taken."""
        from .calculator import comparable_settings

        def calculator(model):
            return comparable_settings(model.metrics.get("calculator"))

        if other is None or other.onset_at is None or self.onset_at is not None:
            return False
        mine = calculator(self)
        if (self.element, self.edge) != (other.element, other.edge) or not mine or mine != calculator(other):
            return False
        kept, note = other.onset_at["from"], " (kept from the model of the same calculator settings)"
        self.onset_at = {"ev": float(other.onset_at["ev"]), "from": kept if kept.endswith(note) else kept + note}
        return True

    def average(self, site_spectra: SiteSpectra, label: str = "") -> Spectrum:
        return site_spectra.mean(label or f"{self.element} {self.edge} (predicted average)")

    # -- files ------------------------------------------------------------------------------
    def meta(self) -> dict:
        from amorpha import engine
        import sklearn

        return {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "params": self.params.to_dict(),
            "descriptor": self.descriptor,
            "energy": self.energy.tolist(),
            "element": self.element,
            "edge": self.edge,
            "reference": self.reference,
            "metrics": self.metrics,
            "n_train": self.n_train,
            **({"onset_at": self.onset_at} if self.onset_at is not None else {}),
            **({"axis": self.axis} if self.axis else {}),
            **({"trained_at": self.trained_at} if self.trained_at else {}),
            "sklearn": sklearn.__version__,
            "amorpha": getattr(engine, "__version__", ""),
        } | ({"gp_theta": self.gp_thetas()} if self.has_uncertainty else {})

    def save(self, path) -> None:
        """Write atomically: a crash while saving leaves the previous file as it was. A Gaussian
        process is saved as its training data and hyperparameters (``gp_theta``), no pickle: its
        fitted arrays (features again, an n × n Cholesky factor) were most of a file's size."""
        fitted = None if self.has_uncertainty else {  # skops' dictionaries keep names, not None
            "parts": {_part_name(k): part for k, part in self._fitted["parts"].items()},
            "n_features": self._fitted["n_features"]}
        write_fitted_zip(path, self.meta(), fitted, *self._training)

    @classmethod
    def load(cls, path) -> "SpectrumModel":
        import zipfile

        try:
            meta, fitted, x, y = read_fitted_zip(path, MODEL_FORMAT, MODEL_VERSION, "spectrum model")
        except ReadError as exc:  # a zip cut short lacks its directory: "not a zip" misled
            if isinstance(exc.__context__, zipfile.BadZipFile) and _begins_as_zip(path):
                raise ReadError(path, None, "damaged or incomplete model file: it begins as one but its end is "
                                            "missing (a copy or download cut short?)") from None
            raise
        return cls.from_meta(meta, fitted, (x, y), os.fspath(path))

    @classmethod
    def from_meta(cls, meta: dict, fitted: bytes | None, training, path: str = "") -> "SpectrumModel":
        if meta.get("format") != MODEL_FORMAT:
            raise ReadError(path, None, "not an Amorpha spectrum model (format field missing)")
        if int(meta.get("version", 0)) > MODEL_VERSION:
            raise ReadError(path, None, f"made by a newer Amorpha (model version {meta['version']}, "
                                        f"this one reads up to {MODEL_VERSION})")
        from amorpha.engine.descriptors import params_from_dict
        from amorpha.engine.descriptors.settings import as_symbol

        try:
            # the checks a user's settings get (an unknown kind named): refused here, not when predicting
            descriptor = params_from_dict(meta["descriptor"])
            descriptor.validate()
            energy = _energy_grid(meta["energy"])
            _check_names(meta)
            require(all(isinstance(meta.get(k, ""), str) for k in ("element", "edge")), "element and edge",
                    f"names, got {meta.get('element')!r} and {meta.get('edge')!r}")
            model = cls(SurrogateParams.from_dict(meta["params"]).validate(), meta["descriptor"], energy,
                        as_symbol(meta.get("element", ""), "element"), meta.get("edge", ""),
                        meta.get("reference", ""), _check_metrics(meta.get("metrics", {})),
                        int(meta.get("n_train", 0)), meta.get("onset_at"), meta.get("axis", ""))
            model.trained_at, model.written_by = str(meta.get("trained_at", "")), str(meta.get("amorpha", ""))
            model.source_path = path
            if model.onset_at is not None:  # a damaged calibration is refused here, not when placing
                model.onset_at = {"ev": float(model.onset_at["ev"]), "from": str(model.onset_at["from"])}
                require(np.isfinite(model.onset_at["ev"]), "onset_at", "a finite energy in eV")
            x, y = (np.asarray(a, dtype=np.float64) for a in training)
            require(x.ndim == 2 and y.shape == (len(x), len(energy)), "training data",
                    f"{len(energy)} intensities per training spectrum")
            width = getattr(descriptor, "n_features", None)  # an edited n_max loaded, then failed to predict
            require(width is None or width == x.shape[1], "descriptor",
                    f"its settings give {width} features per site, but it was trained on {x.shape[1]}: they "
                    "were edited, or belong to another model")
            if "gp_theta" in meta:
                model._fit(x, y, dict(meta["gp_theta"]))
            else:
                model.refitted = restore_fitted(model, meta, fitted, x, y)
                model._fitted["parts"] = {_part_key(k): part for k, part in model._fitted["parts"].items()}
                check_fitted(model.predict(x[:3]))
        except (KeyError, TypeError, ValueError, AttributeError, ImportError) as exc:
            raise ReadError(path, None, f"the model file is damaged ({exc})") from exc
        return model


def cross_validate(features: np.ndarray, spectra: SiteSpectra, params: SurrogateParams | None = None,
                   folds: int = 5, seed: int = 0, progress=None, cancel=None, descriptor: dict | None = None,
                   by_structure: bool = False) -> dict:
    """K-fold metrics (R², cosine, peak error) of ``params`` on this data; every site predicted once.
    ``descriptor``: the features' settings (a grouped one is fitted per group). ``by_structure``:
    folds of whole structures (``spectra.structures``), so no site is predicted from sites of its
    own crystal (a folder of several sites per structure); one site per structure folds alike."""
    params = (params or SurrogateParams()).validate()
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(spectra.intensity)
    groups = np.asarray(spectra.structures) if by_structure else np.arange(len(x))
    names = np.unique(groups)
    require(2 <= folds <= len(names), "folds", f"between 2 and the number of "
            f"{'structures' if by_structure else 'sites'} ({len(names)})")
    order = np.random.default_rng(seed).permutation(len(names))
    predicted = np.empty_like(y)
    for k in range(folds):
        check_cancel(cancel)
        test = np.flatnonzero(np.isin(groups, names[order[k::folds]]))
        train = np.setdiff1d(np.arange(len(x)), test)
        require(len(train) >= 3, "cross-validation", f"fold {k + 1} of {folds} leaves {len(train)} of "
                f"{len(x)} sites to train on; a model needs three (fewer folds, or more sites)")
        subset = SiteSpectra(spectra.energy, y[train], spectra.sites[train], spectra.element, spectra.edge)
        model = SpectrumModel.train(x[train], subset, descriptor or {}, params)
        predicted[test] = model.predict(x[test])
        report(progress, (k + 1) / folds, f"cross-validation fold {k + 1}/{folds}")
    return spectrum_metrics(spectra.energy, y, predicted) | {"folds": folds}


"""Spectra as descriptors: predict a property from a spectrum, with and without the composition.

A spectrum's shape encodes local structure, so a regressor on the (normalised) intensity vector
can predict structural or physical quantities; adding the composition fixes what a normalised
spectrum cannot know, such as extensive or stoichiometry-driven quantities. Two models are
cross-validated on the same folds and compared, as in the C K-edge work: **Model A** sees the
spectrum only, **Model B** the spectrum plus the composition columns, and the **baseline** the
composition columns alone (same regressor), so Model B against it is what the spectrum adds.

Table format (one CSV file, one row per sample, a header row), read by :func:`read_table`:

* columns whose header is a number are intensities at that energy (eV, strictly increasing);
* columns whose header starts with ``composition:`` (``composition:x``, ``composition:O``) are the
  composition inputs of Model B;
* a column ``name`` (optional) names the samples;
* every other column is a numeric target (``mean Si coordination``, ``fraction Si4+``, …).

Learning (scikit-learn, every step fitted inside each training fold, so nothing of the test fold
leaks): each spectrum normalised to unit area (``normalise``), features standardised, an optional
PCA of the spectrum part, then ridge (its α by inner cross-validation), kernel ridge (RBF, α and γ
by inner cross-validation), a Gaussian process (RBF + white noise, hyperparameters by marginal
likelihood) or a random forest. Out-of-fold predictions give the parity plot and R². With fewer
than :data:`MIN_PER_FOLD` samples per fold the comparison carries a caveat (:func:`fold_caveat`).

:func:`builtin_dataset` makes the built-in task: many small a-SiOx models from the project's own
builder (random-bonding and mixture forms, x from 0.3 to 2), the predicted average Si K spectrum of
each from a surrogate model, and their structural quantities as targets.
"""
from __future__ import annotations

import csv
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from amorpha.engine.atomic import atomic_write
from amorpha.engine.errors import ParameterError, ReadError, is_number, require
from amorpha.engine.spectra.spectrum import SpectrumError, check_grid
from amorpha.engine.tasks import check_cancel, report, sub_progress
from amorpha.engine.words import counted

REGRESSORS = {"ridge": "ridge (linear)", "kernel_ridge": "kernel ridge (RBF)",
              "gp": "Gaussian process", "random_forest": "random forest"}
NORMALISATIONS = (None, "area", "max")
COMPOSITION_PREFIX = "composition:"
# Fewer held-out samples per fold than this and R² is mostly the draw of the folds: on the built-in
# task 6 per fold (30 models, 5 folds) moves R² by tenths between seeds; 10 is the round number above.
MIN_PER_FOLD = 10
# Each training set must hold this many: kernel ridge tunes itself by an inner 3-fold cross-validation.
MIN_TRAINING = 3


# --------------------------------------------------------------------------- the table


@dataclass
class SpectrumTable:
    """Spectra on one energy grid (n, n_E) with named targets and composition columns."""

    energy: np.ndarray
    spectra: np.ndarray
    targets: dict[str, np.ndarray]
    composition: np.ndarray
    composition_names: list[str]
    names: list[str] = field(default_factory=list)

    def __post_init__(self):
        try:
            self.energy, self.spectra = check_grid(self.energy, np.atleast_2d(self.spectra), "spectrum table")
        except SpectrumError as exc:
            raise ParameterError("spectra", str(exc)) from None
        n = len(self.spectra)
        self.composition = np.asarray(self.composition, np.float64).reshape(n, -1)
        require(self.composition.shape[1] == len(self.composition_names), "composition",
                f"{len(self.composition_names)} names for {self.composition.shape[1]} columns")
        self.targets = {str(k): np.asarray(v, np.float64) for k, v in self.targets.items()}
        for k, v in self.targets.items():
            require(v.shape == (n,), "targets", f"{k!r} has {v.size} values for {n} spectra")
            require(bool(np.all(np.isfinite(v))), "targets", f"{k!r} has a NaN or infinite value")
        require(bool(np.all(np.isfinite(self.composition))), "composition", "a NaN or infinite value")
        if not self.names:
            self.names = [f"sample {i + 1}" for i in range(n)]

    def __len__(self) -> int:
        return len(self.spectra)

    def target(self, name: str) -> np.ndarray:
        require(name in self.targets, "target", f"one of {', '.join(self.targets) or '(none)'}; got {name!r}")
        return self.targets[name]


def write_table(path, table: SpectrumTable) -> None:
    """Write ``table`` as the CSV :func:`read_table` reads (atomically)."""
    header = (["name"] + list(table.targets) + [COMPOSITION_PREFIX + c for c in table.composition_names]
              + [repr(float(e)) for e in table.energy])
    with atomic_write(os.fspath(path), "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for i in range(len(table)):
            writer.writerow([table.names[i]] + [repr(float(v[i])) for v in table.targets.values()]
                            + [repr(float(v)) for v in table.composition[i]]
                            + [repr(float(v)) for v in table.spectra[i]])


def read_table(path) -> SpectrumTable:
    """Read a spectrum table (see the module notes); :class:`ReadError` names line and column."""
    path = os.fspath(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise ReadError(path, None, f"cannot read the file ({exc})") from None
    if len(rows) < 2:
        raise ReadError(path, None, "needs a header row and at least one sample row")
    header = [h.strip() for h in rows[0]]
    energy_cols = [k for k, h in enumerate(header) if is_number(h)]
    if len(energy_cols) < 2:
        raise ReadError(path, 1, "no energy columns: the header needs at least two columns named by "
                                 "their energy in eV (e.g. 0.0, 0.1, …)")
    comp_cols = [k for k, h in enumerate(header) if h.lower().startswith(COMPOSITION_PREFIX)]
    name_col = next((k for k, h in enumerate(header) if h.lower() == "name"), None)
    target_cols = [k for k in range(len(header)) if k not in energy_cols and k not in comp_cols and k != name_col]
    values = np.empty((len(rows) - 1, len(header)))
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ReadError(path, line, f"{len(row)} columns, the header has {len(header)}")
        for k, cell in enumerate(row):
            if k == name_col:
                continue
            try:
                values[line - 2, k] = float(cell)
            except ValueError:
                raise ReadError(path, line, f"column {header[k]!r}: {cell!r} is not a number") from None
            if not np.isfinite(values[line - 2, k]):
                raise ReadError(path, line, f"column {header[k]!r}: {cell!r} is not a finite number")
    energy = np.array([float(header[k]) for k in energy_cols])
    try:
        check_grid(energy, None, "energy columns")
    except SpectrumError as exc:
        raise ReadError(path, 1, str(exc)) from None
    return SpectrumTable(energy, values[:, energy_cols], {header[k]: values[:, k] for k in target_cols},
                         values[:, comp_cols], [header[k][len(COMPOSITION_PREFIX):].strip() for k in comp_cols],
                         [r[name_col] for r in rows[1:]] if name_col is not None else [])


# --------------------------------------------------------------------------- learning


@dataclass(frozen=True)
class RegressionParams:
    """How to learn: ``n_pca`` 0 keeps every energy point; ``alpha`` is the kernel-ridge / ridge
    starting regularisation (both tuned by inner cross-validation around it)."""

    regressor: str = "ridge"
    n_pca: int = 0
    normalise: str | None = "area"
    folds: int = 5
    alpha: float = 1e-2
    n_trees: int = 200
    seed: int = 0

    def validate(self, n_samples: int | None = None) -> "RegressionParams":
        require(self.regressor in REGRESSORS, "regressor", f"one of {', '.join(REGRESSORS)}, got {self.regressor!r}")
        require(self.normalise in NORMALISATIONS, "normalise", f"None, 'area' or 'max', got {self.normalise!r}")
        require(isinstance(self.n_pca, (int, np.integer)) and 0 <= self.n_pca <= 500, "n_pca",
                f"0 (no PCA) to 500 components, got {self.n_pca!r}")
        require(np.isfinite(self.alpha) and self.alpha > 0, "alpha", f"a positive number, got {self.alpha!r}")
        require(isinstance(self.n_trees, (int, np.integer)) and 10 <= self.n_trees <= 5000, "n_trees",
                f"10 to 5000 trees, got {self.n_trees!r}")
        require(isinstance(self.folds, (int, np.integer)) and self.folds >= 2, "folds",
                f"at least 2 folds, got {self.folds!r}")
        if n_samples is not None:
            need = min_samples(self.folds)
            require(n_samples >= need, "samples", f"{counted(n_samples, 'sample')} "
                    f"{'is' if n_samples == 1 else 'are'} too few for {self.folds}-fold cross-validation "
                    f"(at least {need} needed)")
        return self


def min_samples(folds: int) -> int:
    """The fewest samples ``folds``-fold cross-validation can run on: one per test fold, at least
    five in all, and :data:`MIN_TRAINING` in every training set (n - ceil(n/k) ≥ 3)."""
    return max(int(folds), 5, -(-MIN_TRAINING * int(folds) // (int(folds) - 1)))


def fold_caveat(n_samples: int, folds: int) -> str:
    """Why R² from this many samples per fold is not to be trusted ('' when there are enough)."""
    per_fold = n_samples // folds
    if per_fold >= MIN_PER_FOLD:
        return ""
    fewer = n_samples // MIN_PER_FOLD
    return (f"only {counted(per_fold, 'sample')} per fold ({n_samples} samples in {folds} folds): R² then "
            f"depends mostly on which samples fall in which fold; use at least {MIN_PER_FOLD} per fold "
            f"({MIN_PER_FOLD * folds} samples for {folds} folds"
            + (f", or at most {fewer} folds for these {n_samples})" if fewer >= 2 else ")"))


def varying_targets(table: SpectrumTable) -> list[str]:
    """The targets a regressor can learn: a target with one value for every sample has nothing."""
    return [k for k, v in table.targets.items() if float(np.ptp(v)) > 0]


def check_table(table: SpectrumTable, params: RegressionParams) -> SpectrumTable:
    """``table`` if a fit with ``params`` can use it, else :class:`ParameterError` saying why, so a
    caller can refuse it before it replaces one that works (targets are finite by construction)."""
    require(bool(table.targets), "targets", "the table has no target columns: add a numeric column to "
            "predict (any column not named by an energy, 'composition:…' or 'name')")
    params.validate(len(table))
    require(bool(varying_targets(table)), "targets",
            f"{', '.join(map(repr, table.targets))}: the same value for every sample; nothing to learn")
    normalised(table.spectra, table.energy, params.normalise)  # a zero-area spectrum fails every fit
    return table


def normalised(spectra: np.ndarray, energy: np.ndarray, how: str | None) -> np.ndarray:
    """Each spectrum divided by its area (trapezoid over ``energy``) or its maximum."""
    s = np.asarray(spectra, np.float64)
    if how is None:
        return s
    scale = np.trapezoid(s, energy, axis=1) if how == "area" else s.max(axis=1)
    bad = np.flatnonzero(~(np.abs(scale) > 0))
    if len(bad):
        raise ParameterError("spectra", f"spectrum {bad[0] + 1} has zero {how}; it cannot be normalised")
    return s / scale[:, None]


def _estimator(params: RegressionParams, n_spectrum: int, n_composition: int):
    """The pipeline: standardise, PCA of the spectrum part (optional), regressor."""
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    spectrum_steps = [StandardScaler()]
    if params.n_pca:
        spectrum_steps.append(PCA(n_components=params.n_pca, random_state=params.seed))
    parts = [("spectrum", make_pipeline(*spectrum_steps), list(range(n_spectrum)))] if n_spectrum else []
    if n_composition:
        parts.append(("composition", StandardScaler(), list(range(n_spectrum, n_spectrum + n_composition))))
    features = ColumnTransformer(parts)
    alphas = params.alpha * np.logspace(-4, 4, 17)
    # typical distance between standardised samples: the square root of the feature count
    width = np.sqrt((params.n_pca if n_spectrum else 0) or n_spectrum + n_composition)
    if params.regressor == "ridge":
        regressor = RidgeCV(alphas=alphas)
    elif params.regressor == "kernel_ridge":
        regressor = GridSearchCV(KernelRidge(kernel="rbf"), {"alpha": alphas[::4],
                                 "gamma": 1.0 / (width * np.array([0.25, 0.5, 1, 2, 4])) ** 2}, cv=3)
    elif params.regressor == "gp":
        # Far below the typical distance the kernel between any two samples vanishes and the
        # fit is white noise about the mean (R² < 0 on Si coordination with a 1e-2 bound).
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(width, (width * 1e-1, width * 1e2)) \
            + WhiteKernel(1e-2, (1e-8, 1e1))
        regressor = GaussianProcessRegressor(kernel, normalize_y=True, random_state=params.seed)
    else:
        return Pipeline([("features", features), ("regressor", RandomForestRegressor(
            n_estimators=params.n_trees, random_state=params.seed, n_jobs=1))])
    return TransformedTargetRegressor(Pipeline([("features", features), ("regressor", regressor)]),
                                      transformer=StandardScaler())


@dataclass
class ParityResult:
    """Out-of-fold predictions of one model against the truth."""

    name: str
    true: np.ndarray
    predicted: np.ndarray
    r2: float
    mae: float
    rmse: float

    @classmethod
    def of(cls, name: str, true, predicted) -> "ParityResult":
        from sklearn.metrics import r2_score

        true, predicted = np.asarray(true, np.float64), np.asarray(predicted, np.float64)
        err = predicted - true
        return cls(name, true, predicted, float(r2_score(true, predicted)), float(np.mean(np.abs(err))),
                   float(np.sqrt(np.mean(err ** 2))))


@dataclass
class RegressionComparison:
    """Model A (spectrum only) and, when the table has composition, Model B (spectrum + composition)
    and the baseline (composition only) that shows what the spectrum adds."""

    target: str
    params: RegressionParams
    model_a: ParityResult
    model_b: ParityResult | None
    names: list[str]
    baseline: ParityResult | None = None

    @property
    def results(self) -> list[ParityResult]:
        return [r for r in (self.model_a, self.model_b, self.baseline) if r is not None]

    @property
    def caveat(self) -> str:
        """Why these R² may not mean much ('' when each fold holds enough samples)."""
        return fold_caveat(len(self.names), self.params.folds)

    def rows(self) -> list[dict]:
        """One row per sample: name, true value and each model's out-of-fold prediction."""
        out = []
        for i, name in enumerate(self.names):
            row = {"name": name, f"true {self.target}": float(self.model_a.true[i])}
            for r in self.results:
                row[f"predicted by {r.name}"] = float(r.predicted[i])
            out.append(row)
        return out

    def summary(self) -> dict:
        return {r.name: {"r2": r.r2, "mae": r.mae, "rmse": r.rmse} for r in self.results} | {
            "target": self.target, "regressor": self.params.regressor, "folds": self.params.folds,
            "n_pca": self.params.n_pca, "samples": len(self.names), "caveat": self.caveat}

    def write_csv(self, path) -> None:
        """The parity table, then the metrics as comment lines (``# Model A: R² …``)."""
        rows = self.rows()
        with atomic_write(os.fspath(path), "w") as fh:
            for r in self.results:
                fh.write(f"# {r.name}: R2 {r.r2:.6g}, MAE {r.mae:.6g}, RMSE {r.rmse:.6g} "
                         f"({self.params.regressor}, {self.params.folds}-fold cross-validation)\n")
            if self.caveat:
                fh.write(f"# caveat: {self.caveat}\n")
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


MODEL_A = "Model A (spectrum only)"
MODEL_B = "Model B (spectrum + composition)"
BASELINE = "Baseline (composition only)"


def _relabelled(progress, label):
    """``progress`` with each message replaced by ``label(message)``: the steps inside one model or
    fold ("melting at kT …") mean nothing to someone waiting for model 7 of 100."""
    if progress is None:
        return None
    return lambda fraction, message="": progress(fraction, label(message))


def cross_validated(x: np.ndarray, y: np.ndarray, params: RegressionParams, n_composition: int = 0,
                    progress=None, cancel=None) -> np.ndarray:
    """Out-of-fold predictions of ``y`` from ``x`` (the last ``n_composition`` columns composition)."""
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold

    estimator = _estimator(params, x.shape[1] - n_composition, n_composition)
    predicted = np.empty(len(y))
    splits = list(KFold(params.folds, shuffle=True, random_state=params.seed).split(x))
    for k, (train, test) in enumerate(splits):
        check_cancel(cancel)
        with warnings.catch_warnings():  # a GP length scale at its bound is reported by the R² anyway
            warnings.simplefilter("ignore", ConvergenceWarning)
            predicted[test] = clone(estimator).fit(x[train], y[train]).predict(x[test])
        report(progress, (k + 1) / len(splits), f"fold {k + 1} of {len(splits)}")
    return predicted


def compare_models(table: SpectrumTable, target: str, params: RegressionParams = RegressionParams(),
                   window=None, progress=None, cancel=None) -> RegressionComparison:
    """Cross-validate Model A and, if the table has composition columns, Model B and the
    composition-only baseline on ``target``, all on the same folds.

    ``window`` (low, high) in eV limits the spectrum to part of the energy axis.
    """
    require(isinstance(table, SpectrumTable), "table", "a SpectrumTable (read_table or builtin_dataset)")
    y = table.target(target)
    params.validate(len(y))
    require(float(np.ptp(y)) > 0, "target", f"{target!r} has the same value for every sample; nothing to learn")
    keep = np.ones(len(table.energy), bool)
    if window is not None:
        lo, hi = (float(v) for v in window)
        keep = (table.energy >= lo) & (table.energy <= hi)
        require(keep.sum() >= 2, "window", f"{lo:g}–{hi:g} eV holds fewer than two energy points of the table "
                                           f"({table.energy[0]:g}–{table.energy[-1]:g} eV)")
    spectra = normalised(table.spectra[:, keep], table.energy[keep], params.normalise)
    n_comp = table.composition.shape[1]
    # (name, inputs, composition columns, share of the time): the baseline has a few features only
    runs = [(MODEL_A, spectra, 0, 1.0)]
    if n_comp:
        runs = [(MODEL_A, spectra, 0, 0.5), (MODEL_B, np.hstack([spectra, table.composition]), n_comp, 0.45),
                (BASELINE, table.composition, n_comp, 0.05)]
    results, start = {}, 0.0
    for name, x, n_x_comp, share in runs:
        part = _relabelled(sub_progress(progress, start, start + share), lambda m, name=name: f"{name}: {m}")
        results[name] = ParityResult.of(name, y, cross_validated(x, y, params, n_x_comp, part, cancel))
        start += share
    return RegressionComparison(target, params, results[MODEL_A], results.get(MODEL_B), list(table.names),
                                results.get(BASELINE))


# --------------------------------------------------------------------------- the built-in task


@dataclass(frozen=True)
class BuiltinParams:
    """Many small a-SiOx models: ``n_models`` of ``n_si`` Si, x spread over ``x_range``, the two
    builder forms alternating; ``switches_per_atom`` trades network quality for speed. 100 models
    (about 80 s): with 30, each of 5 folds tests 6 and R² moves by tenths with the draw."""

    n_models: int = 100
    n_si: int = 64
    x_range: tuple = (0.3, 2.0)
    switches_per_atom: float = 0.5
    seed: int = 0

    def validate(self) -> "BuiltinParams":
        require(isinstance(self.n_models, (int, np.integer)) and 5 <= self.n_models <= 2000, "n_models",
                f"5 to 2000 models, got {self.n_models!r}")
        lo, hi = (float(v) for v in self.x_range)
        require(0 < lo < hi <= 2.0, "x_range", f"0 < low < high ≤ 2 (SiOx), got {self.x_range!r}")
        require(isinstance(self.n_si, (int, np.integer)) and 64 <= self.n_si <= 4096, "n_si",
                f"64 to 4096 Si per model, got {self.n_si!r}")
        return self

    def compositions(self) -> np.ndarray:
        """x of each model: evenly spread over the range, in a shuffled order."""
        lo, hi = (float(v) for v in self.x_range)
        x = np.linspace(lo, hi, int(self.n_models))
        return np.random.default_rng(self.seed).permutation(x)


TARGETS = ("mean Si coordination", "mean O neighbours per Si", "fraction Si0", "fraction Si1+",
           "fraction Si2+", "fraction Si3+", "fraction Si4+", "mean Si-O-Si angle (deg)")


def structural_targets(atoms) -> dict[str, float]:
    """The structural quantities of one model (bonds by the project's default cutoffs)."""
    from amorpha.engine.bonds import compute_coordination
    from amorpha.engine.order.angles import AngleParams, compute_angles
    from amorpha.engine.spectra.site_classes import classify

    si = np.flatnonzero(atoms.numbers == 14)
    require(len(si) > 0, "structure", "has no Si")
    cn = compute_coordination(atoms).coordination[si]
    ox = classify(atoms, si)
    fractions = np.bincount(np.minimum(ox, 4), minlength=5) / len(si)
    angles = compute_angles(atoms, AngleParams(triplet=("Si", "O", "Si")))
    return dict(zip(TARGETS, [float(cn.mean()), float(ox.mean()), *fractions.tolist(), angles.mean]))


def builtin_dataset(model, params: BuiltinParams = BuiltinParams(), progress=None, cancel=None) -> SpectrumTable:
    """The built-in task's table: predicted average spectra of many a-SiOx models with their
    structural targets; the composition x = O/Si is Model B's extra input."""
    from amorpha.engine.build.silica import SilicaParams, build_silica

    params.validate()
    xs = params.compositions()
    spectra, targets, comp, names = [], {t: [] for t in TARGETS}, [], []
    for i, x in enumerate(xs):
        check_cancel(cancel)
        form = "mixture" if i % 2 else "random-bonding"
        which = f"model {i + 1} of {len(xs)}"
        part = sub_progress(progress, i / len(xs), (i + 1) / len(xs))
        atoms = build_silica(SilicaParams(n_si=int(params.n_si), x=float(x), form=form, seed=int(params.seed) + i,
                                          switches_per_atom=params.switches_per_atom),
                             progress=_relabelled(sub_progress(part, 0, 0.8), lambda _: f"{which}: building"),
                             cancel=cancel)
        predicted = model.predict_structure(atoms, progress=_relabelled(
            sub_progress(part, 0.8, 0.95), lambda _: f"{which}: predicting its spectrum"), cancel=cancel)
        spectra.append(predicted.intensity.mean(axis=0))
        for k, v in structural_targets(atoms).items():
            targets[k].append(v)
        n_si = int(np.sum(atoms.numbers == 14))
        comp.append([float(np.sum(atoms.numbers == 8)) / n_si])
        names.append(f"SiO{atoms.info['x']:.2f} {form} seed {int(params.seed) + i}")
        report(progress, (i + 1) / len(xs), f"{which} done: {names[-1]}")
    return SpectrumTable(model.energy, np.array(spectra), targets, np.array(comp), ["x (O/Si)"], names)

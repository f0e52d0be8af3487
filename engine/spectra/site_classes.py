"""Components for "Explain": the predicted average spectrum of each class of absorbing sites.

A model's predicted average spectrum is exactly Σ_k f_k·C_k, where C_k is the mean predicted
spectrum of the sites of class k and f_k their share of the sites. Fitting a measured spectrum with
the C_k as components (:func:`amorpha.engine.spectra.unmix.fit_components`) therefore asks "in what
proportions would these kinds of site explain it?", and on the model's own average returns its
own f_k: the check that the components, the fit and the classification agree.

Classes (:data:`SCHEMES`), all from the project's interpretable local features
(:func:`amorpha.engine.descriptors.local.local_features`, bonds of :mod:`amorpha.engine.bonds`):

* ``"oxidation"``: number of O neighbours, Si0 … Si4+ (Si0–Si4+ are always listed, so a class the
  model lacks is reported as absent rather than silently missing);
* ``"ring"``: size of the smallest (primitive) ring through the site, 0 = none up to the limit,
  counted in atoms of every element ("ring of 10 atoms" in silica is the 5-Si ring of glass
  papers and of the Rings panel's Si count) unless ``ring_count_element`` says otherwise;
* ``"coordination"``: number of bonded neighbours.

Two things make a fit meaningless and are reported instead of fractions that look precise:
a class with no site (no component can be made: listed in ``absent``) and components that the
spectrum cannot tell apart. :func:`conditioning` measures, for each component, how far it lies
from the span of the others (and the background): its *distinctness*, the sine of that angle
(1 = orthogonal, 0 = a mixture of the others). Below ``min_distinct`` :func:`explain` merges the
class into its most similar neighbour (the merged component is the exact mean spectrum of the
union) and says so, or raises :class:`IllConditionedError` when merging is switched off.

The bootstrap uncertainties cover noise, not the choice of model: a class's mean spectrum also
depends on the second shell, so components taken from one model fit another model's spectrum with
a bias (components of the interface-cluster a-SiO example fitted to a random-bonding a-SiO gave
Si0 0.22 for a true 0.05 at R² 0.986). Components from models like the sample are the remedy.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from amorpha.engine.errors import ParameterError, require
from amorpha.engine.spectra.spectrum import SiteSpectra, Spectrum
from amorpha.engine.spectra.unmix import UnmixFit, bootstrap, fit_components
from amorpha.engine.tasks import report, sub_progress

SCHEMES = {
    "oxidation": "number of O neighbours (oxidation state)",
    "ring": "smallest ring through the site",
    "coordination": "coordination number",
}
#: Components closer than this to a mixture of the others (sine of the angle) are merged.
MIN_DISTINCT = 0.01
#: A fitted fraction with a bootstrap standard deviation above this is called undetermined.
MAX_STD = 0.1


class IllConditionedError(ParameterError):
    """Component spectra the fit cannot tell apart (nearly identical or a mixture of others)."""


@dataclass(frozen=True)
class ClassParams:
    """How to sort sites into classes; ``cutoffs`` override bond cutoffs as in
    :func:`amorpha.engine.bonds.bond_cutoffs` (``{("Si", "O"): 2.0}``); the ring settings only
    matter for the ``"ring"`` scheme (sizes in network nodes, or in atoms of
    ``ring_count_element``)."""

    scheme: str = "oxidation"
    cutoffs: tuple = ()
    ring_max_size: int = 16
    ring_definition: str = "primitive"
    ring_count_element: Optional[str] = None
    min_sites: int = 5

    def validate(self) -> "ClassParams":
        require(self.scheme in SCHEMES, "scheme", f"one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        require(isinstance(self.min_sites, (int, np.integer)) and self.min_sites >= 1, "min_sites",
                f"a whole number of at least 1, got {self.min_sites!r}")
        return self

    def features(self, atoms):
        """The local-feature settings with the ring column (and its index), for the ring scheme."""
        from amorpha.engine.descriptors.local import LocalFeatureParams, feature_names

        elements = tuple(sorted(set(atoms.get_chemical_symbols()) | {"O"}))
        params = LocalFeatureParams(cutoffs=self.cutoffs, elements=elements, rings=True,
                                    ring_max_size=self.ring_max_size, ring_definition=self.ring_definition,
                                    ring_count_element=self.ring_count_element)
        params.validate()
        return params, len(feature_names(params, atoms)) - 1


def classify(atoms, sites, params: ClassParams = ClassParams(), progress=None, cancel=None) -> np.ndarray:
    """The class key (int) of each site in ``sites``: O neighbours, smallest ring or CN."""
    from amorpha.engine.descriptors.local import bonded_counts, local_features

    params.validate()
    if params.scheme != "ring":
        return bonded_counts(atoms, "O" if params.scheme == "oxidation" else "", params.cutoffs,
                             np.asarray(sites, np.int64), progress=progress, cancel=cancel)
    features, column = params.features(atoms)
    values = local_features(atoms, features, np.asarray(sites, np.int64), progress=progress, cancel=cancel)
    return np.rint(values[:, column]).astype(np.int64)


def class_label(scheme: str, key: int, element: str = "Si", counted: str | None = None) -> str:
    """Si0, Si1+ … Si4+ (then "Si (5 O)") for O neighbours; "ring of 10 atoms" (of ``counted``
    atoms only: "ring of 5 Si") / "no ring"; "Si CN 4"."""
    if scheme == "oxidation":
        if key > 4:  # over-coordinated by O: not an oxidation state
            return f"{element} ({key} O)"
        return f"{element}{key}+" if key else f"{element}0"
    if scheme == "ring":  # "ring 10" read as ten Si where it counted Si and O alike
        return (f"ring of {key} {counted}" if counted else f"ring of {key} atoms") if key else "no ring"
    return f"{element} CN {key}"


@dataclass
class SiteClasses:
    """Component spectra of the site classes of one model and the truth about them.

    ``components[k]`` is the mean predicted spectrum of the ``counts[k]`` sites of class ``keys[k]``
    (labels ``labels[k]``); ``fractions[k]`` = counts / all sites, the model's own share.
    ``site_class[i]`` is the row in ``components`` of site ``sites[i]``.
    ``absent`` names classes expected but without any site; ``merged`` says which classes were
    joined and why; ``distance[i]``: site ``sites[i]``'s distance from the surrogate's training
    sites (:mod:`amorpha.engine.surrogate.domain`), when the spectra were predicted.
    """

    scheme: str
    element: str
    keys: list
    labels: list[str]
    counts: np.ndarray
    components: list[Spectrum]
    sites: np.ndarray
    site_class: np.ndarray
    absent: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    distance: np.ndarray | None = None

    @property
    def fractions(self) -> np.ndarray:
        return self.counts / self.counts.sum()

    @property
    def average(self) -> Spectrum:
        """The model's predicted average spectrum, Σ f_k·C_k (identical to the mean of all sites)."""
        y = self.fractions @ np.array([c.intensity for c in self.components])
        first = self.components[0]
        return replace(first, intensity=y, label=f"{self.element} predicted average ({self.counts.sum()} sites)",
                       site=None, meta={})

    def merge(self, a: str, b: str, why: str = "") -> "SiteClasses":
        """A copy with classes ``a`` and ``b`` joined: the component is the mean of the union."""
        require(a in self.labels and b in self.labels and a != b, "merge",
                f"two different classes of {', '.join(self.labels)}; got {a!r} and {b!r}")
        i, j = sorted((self.labels.index(a), self.labels.index(b)))
        n = self.counts[i] + self.counts[j]
        y = (self.counts[i] * self.components[i].intensity + self.counts[j] * self.components[j].intensity) / n
        label = f"{self.labels[i]} + {self.labels[j]}"
        keep = [k for k in range(len(self.labels)) if k != j]
        remap = np.full(len(self.labels), -1, np.int64)
        remap[keep] = np.arange(len(keep))
        remap[j] = remap[i]
        components = [replace(self.components[i], intensity=y, label=label) if k == i else self.components[k]
                      for k in keep]
        keys = [(self.keys[i], self.keys[j]) if k == i else self.keys[k] for k in keep]
        counts = self.counts.copy()
        counts[i] = n
        return replace(self, keys=keys, labels=[label if k == i else self.labels[k] for k in keep],
                       counts=counts[keep], components=components, site_class=remap[self.site_class],
                       merged=self.merged + [f"merged {a} into {b}" + (f": {why}" if why else "")])

    @property
    def notes(self) -> list[str]:
        """What a microscopist must know about the classes before trusting a fit with them."""
        out = [f"{lab}: no site of this class in the model, so no component" for lab in self.absent]
        out += self.merged
        if self.distance is not None:  # a class of sites unlike the model's training sites: a guessed component
            from amorpha.engine.surrogate.domain import outside_note

            for k, label in enumerate(self.labels):
                note = outside_note(self.distance[self.site_class == k], self.element)
                out += [f"{label}: {note}"] if note else []
        if len(self.labels) == 1:
            others = " or ".join(f"{k} ({v})" for k, v in schemes_for(self.element).items() if k != self.scheme)
            out.append(f"one class only ({self.labels[0]}: all {int(self.counts[0])} sites), so there is "
                       f"nothing to tell apart and its fraction is 1 by construction"
                       + (f"; another scheme, {others}, may sort the sites" if others else ""))
        return out

    def rows(self) -> list[dict]:
        return [{"class": lab, "sites": int(n), "model_fraction": float(f)}
                for lab, n, f in zip(self.labels, self.counts, self.fractions)]


def schemes_for(element: str) -> dict[str, str]:
    """The schemes that can class sites of ``element`` (not oxidation for O: no O neighbours)."""
    return {k: v for k, v in SCHEMES.items() if not (k == "oxidation" and element == "O")}


def default_scheme(element: str) -> str:
    """The classes that explain an edge of ``element`` first: the oxidation state of a cation;
    for O, which has no O neighbours to count, its coordination (bonded Si in SiOx: 1 non-bridging,
    2 bridging, 3 three-fold)."""
    return "coordination" if element == "O" else "oxidation"


def scheme_order(element: str) -> list[str]:
    """The schemes for ``element`` in the order they are tried: :func:`default_scheme` first."""
    first = default_scheme(element)
    return [first] + [k for k in schemes_for(element) if k != first]


def splitting_scheme(atoms, element: str, params: ClassParams = ClassParams(), progress=None,
                     cancel=None) -> str:
    """The first scheme of :func:`scheme_order` that sorts the ``element`` sites of ``atoms`` into
    at least two classes of ``params.min_sites`` sites or more (the default scheme when none does).
    Every O of the shipped a-SiO2 and a-SiO is two-fold, so "coordination" gave one class and a fit
    whose fraction is 1 by construction; their rings split them."""
    sites = np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == element)
    order = scheme_order(element)
    for k, scheme in enumerate(order):
        if len(sites) == 0:
            break
        keys = classify(atoms, sites, replace(params, scheme=scheme),
                        progress=sub_progress(progress, k / len(order), (k + 1) / len(order)), cancel=cancel)
        if int(np.sum(np.bincount(keys - keys.min()) >= params.min_sites)) >= 2:
            return scheme
    return order[0]


def _expected_keys(scheme: str, element: str) -> list[int]:
    """Classes listed even when empty: the Si0 … Si4+ ladder for Si; nothing for the others."""
    return list(range(5)) if scheme == "oxidation" and element == "Si" else []


def site_classes(atoms, spectra: SiteSpectra, params: ClassParams = ClassParams(), progress=None,
                 cancel=None) -> SiteClasses:
    """Class each site of ``spectra`` (site indices into ``atoms``) and average its predicted spectra."""
    require(isinstance(spectra, SiteSpectra) and len(spectra) > 0, "spectra",
            "the predicted site spectra of the model (SiteSpectra)")
    require(int(spectra.sites.max()) < len(atoms) and int(spectra.sites.min()) >= 0, "spectra",
            f"site indices of this structure ({len(atoms)} atoms)")
    element = spectra.element or atoms.get_chemical_symbols()[int(spectra.sites[0])]
    require(params.scheme in schemes_for(element), "scheme",
            "coordination or ring for O sites: they have no O neighbours to count (oxidation)")
    keys = classify(atoms, spectra.sites, params, progress=progress, cancel=cancel)
    present = np.unique(keys)
    listed = sorted(set(present.tolist()) | set(_expected_keys(params.scheme, element)))
    absent = [class_label(params.scheme, k, element, params.ring_count_element) for k in listed if k not in present]
    rows = np.searchsorted(present, keys)
    counts = np.bincount(rows, minlength=len(present)).astype(np.int64)
    components = []
    for r, key in enumerate(present.tolist()):
        label = class_label(params.scheme, key, element, params.ring_count_element)
        components.append(Spectrum(spectra.energy, spectra.intensity[rows == r].mean(axis=0), label=label,
                                   source=spectra.source or "surrogate", element=spectra.element,
                                   edge=spectra.edge,
                                   meta={**spectra.meta, "sites": int(counts[r]), "scheme": params.scheme}))
    out = SiteClasses(params.scheme, element, present.tolist(), [c.label for c in components], counts,
                      components, spectra.sites.copy(), rows, absent, distance=spectra.distance)
    return _merge_small(out, int(params.min_sites))


def _merge_small(classes: SiteClasses, min_sites: int) -> SiteClasses:
    """Join each class of fewer than ``min_sites`` sites to the class whose spectrum is most like
    its own: a component made of one or two sites is that site's spectrum, not a class average,
    and would absorb any misfit of a measured spectrum."""
    while len(classes.labels) > 1 and classes.counts.min() < min_sites:
        k = int(np.argmin(classes.counts))
        columns = np.column_stack([c.intensity for c in classes.components])
        near = conditioning(columns, np.ones((len(columns), 1)), classes.labels).nearest[k][0]
        n = int(classes.counts[k])
        classes = classes.merge(classes.labels[k], near, f"only {n} site{'s' * (n != 1)} "
                                f"(fewer than {min_sites}); {near} has the most similar spectrum")
    return classes


def predicted_classes(atoms, model, params: ClassParams = ClassParams(), progress=None, cancel=None) -> SiteClasses:
    """Predict every absorbing site of ``atoms`` with the surrogate ``model`` and class them."""
    predicted = model.predict_structure(atoms, progress=sub_progress(progress, 0, 0.7), cancel=cancel)
    out = site_classes(atoms, predicted, params, progress=sub_progress(progress, 0.7, 1.0), cancel=cancel)
    report(progress, 1.0, f"{len(out.labels)} {params.scheme} classes")
    return out


@dataclass(frozen=True)
class Conditioning:
    """How well each component is told from the others on the fitted points.

    ``distinctness[k]``: sine of the angle between component k and the span of the other
    components and the background columns (1 = independent, 0 = a mixture of the others);
    ``nearest[k]``: the other component most like it (largest |cosine| after the background is
    projected out) and that cosine; ``condition``: condition number of the column-normalised design.
    """

    labels: list[str]
    distinctness: np.ndarray
    nearest: list[tuple[str, float]]
    condition: float

    def worst(self) -> int:
        return int(np.argmin(self.distinctness))

    def describe(self, k: int) -> str:
        other, cos = self.nearest[k]
        return (f"{self.labels[k]} differs from a mixture of the other components by only "
                f"{100 * self.distinctness[k]:.2g} % of its shape (closest: {other}, cosine {cos:.4f})")


def conditioning(columns: np.ndarray, background: np.ndarray, labels: list[str]) -> Conditioning:
    """:class:`Conditioning` of component ``columns`` (n_points, K) with ``background`` (n_points, m)
    projected out, the same design :func:`fit_components` solves."""
    a = np.asarray(columns, np.float64)
    if background.shape[1]:
        a = a - background @ (np.linalg.pinv(background) @ a)
    norms = np.linalg.norm(a, axis=0)
    a = a / np.where(norms > 0, norms, 1.0)
    k = a.shape[1]
    distinct = np.empty(k)
    for j in range(k):
        others = np.delete(a, j, axis=1)
        rest = a[:, j] - others @ np.linalg.lstsq(others, a[:, j], rcond=None)[0] if k > 1 else a[:, j]
        distinct[j] = np.linalg.norm(rest) if norms[j] > 0 else 0.0
    cos = a.T @ a
    np.fill_diagonal(cos, 0.0)
    nearest = [(labels[int(np.argmax(np.abs(row)))], float(row[int(np.argmax(np.abs(row)))])) if k > 1
               else ("", 0.0) for row in cos]
    s = np.linalg.svd(a, compute_uv=False)
    condition = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    return Conditioning(list(labels), distinct, nearest, condition)


@dataclass
class Explanation:
    """The Explain fit with its components, the model's own fractions and what to trust."""

    classes: SiteClasses
    fit: UnmixFit
    conditioning: Conditioning
    notes: list[str]

    @property
    def undetermined(self) -> list[str]:
        """Classes whose bootstrap standard deviation exceeds :data:`MAX_STD`."""
        return undetermined_labels(self.fit)

    def rows(self) -> list[dict]:
        """One row per class: sites, model fraction, fitted fraction (± std), distinctness."""
        std = self.fit.fraction_std if self.fit.fraction_std is not None else np.full(len(self.fit.labels), np.nan)
        return [{"class": lab, "sites": int(n), "model_fraction": float(f), "fitted_fraction": float(p),
                 "fitted_std": float(s), "distinctness": float(d)}
                for lab, n, f, p, s, d in zip(self.classes.labels, self.classes.counts, self.classes.fractions,
                                              self.fit.fractions, std, self.conditioning.distinctness)]


def explain(measured: Spectrum, classes: SiteClasses, window=None, background: str | None = "linear",
            n_bootstrap: int = 200, noise: str = "residual", seed=None, min_distinct: float = MIN_DISTINCT,
            merge: bool = True) -> Explanation:
    """Fit ``measured`` with the class components; merge (or refuse) classes it cannot tell apart.

    Bootstrap (``n_bootstrap`` resamples, 0 for none; ``noise`` as in
    :func:`amorpha.engine.spectra.unmix.bootstrap`) gives the fractions' uncertainties.
    """
    require(isinstance(classes, SiteClasses) and classes.components, "classes",
            "site classes with at least one component (site_classes)")
    require(0 <= min_distinct < 1, "min_distinct", f"between 0 and 1, got {min_distinct!r}")
    while True:
        fit = fit_components(measured, classes.components, window, background)
        cond = conditioning(fit._columns, fit._bg_columns, fit.labels)
        k = cond.worst()
        if len(classes.labels) == 1 or cond.distinctness[k] >= min_distinct:
            break
        if not merge:
            raise IllConditionedError("components", cond.describe(k) + "; the fit cannot tell them apart. "
                                      "Merge these classes (merge=True) or choose another scheme.")
        classes = classes.merge(classes.labels[k], cond.nearest[k][0], cond.describe(k))
    notes = classes.notes
    if n_bootstrap:
        bootstrap(fit, int(n_bootstrap), seed=seed, noise=noise)
    notes.extend(undetermined_notes(fit))
    return Explanation(classes, fit, cond, notes)


def undetermined_labels(fit: UnmixFit) -> list[str]:
    """Components whose fitted fraction has a bootstrap standard deviation above :data:`MAX_STD`."""
    if fit.fraction_std is None:
        return []
    return [lab for lab, s in zip(fit.labels, fit.fraction_std) if s > MAX_STD]


def undetermined_notes(fit: UnmixFit) -> list[str]:
    """A note for each of :func:`undetermined_labels`: site classes and candidate models alike
    (models read "63 % α-quartz" where the spectrum left 0.63 ± 0.39)."""
    return [f"{lab}: fraction undetermined by this spectrum (bootstrap std > {MAX_STD:g})"
            for lab in undetermined_labels(fit)]

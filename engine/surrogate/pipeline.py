"""The surrogate workflow in a few calls, shared by the window, the model-building script and the
benchmarks: the pool of absorbing sites of some models, their descriptors, and active learning
against a reference calculator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amorpha.engine.errors import ParameterError, require
from amorpha.engine.surrogate.active import ActiveLearner, ActiveParams
from amorpha.engine.tasks import check_cancel, report, sub_progress


def default_descriptor(species, periodic: bool = True):
    """SOAP settings for site spectra: 5 Å reaches the second shell of Si in silica, where the
    spectra still change; n_max 6, l_max 4 keep the vector short enough for a GP on few samples."""
    from amorpha.engine.descriptors import SoapParams

    return SoapParams(species=tuple(sorted(set(species))), r_cut=5.0, n_max=6, l_max=4, sigma=0.5,
                      periodic=periodic)


def training_descriptor(species, element: str, periodic: bool = True, cluster_radius: float = 5.0):
    """The descriptor a surrogate learns from reference spectra with (the window's "Train on this
    model" and ``make models``): :func:`default_descriptor` with

    * the cutoff at the reference's cluster radius: atoms beyond it never reached the calculation;
    * narrower atom Gaussians (σ 0.3 Å instead of 0.5): sub-oxide sites differ in a second shell
      that wider ones blur;
    * in an oxide, cation sites grouped by their number of bonded O (their formal oxidation state:
      the edge steps with it), each group fitted apart.

    packaging/train_models.py (``si_k_descriptor``, ``o_k_descriptor``) has the measurements.
    """
    from dataclasses import replace

    from amorpha.engine.descriptors import GroupedParams

    soap = replace(default_descriptor(species, periodic), sigma=0.3, r_cut=float(cluster_radius))
    return GroupedParams(soap, element="O") if "O" in set(species) and element != "O" else soap


def default_calculator(settings: dict | None = None, cache=True):
    """The reference calculator the window and ``make models`` use: GFN1-xTB with the full Z+1 core
    hole (the cation: no excited electron to settle on a dangling bond nearby, see
    :mod:`~amorpha.engine.surrogate.xtb`) and the delta-SCF edge energy, the only choice that keeps
    the chemical shift between sites (Si⁰ … Si⁴⁺ edges spread over ~8 eV in SiOx), at about 3× the
    cost of the ground state alone; each spectrum the mean over clusters of 4.8, 5 and 5.2 Å
    (``radius_spread``: a 5 Å cluster's edge moves by tenths of an eV with the atoms at its
    boundary, which no descriptor sees; packaging/train_models.py has the numbers), ~3x again.
    ``settings`` (a model's stored calculator settings) override it, so references match a model.
    """
    from amorpha.engine.surrogate.xtb import XtbCalculator, XtbParams

    if settings:
        return XtbCalculator(XtbParams.from_dict(settings), cache=cache)
    return XtbCalculator(XtbParams(core_hole=True, core_hole_model="full", energy_reference="delta-scf",
                                   radius_spread=0.2), cache=cache)


@dataclass
class SitePool:
    """Every absorbing site of ``structures`` with its descriptor row: ``sites[k] = (model, atom)``."""

    structures: list
    element: str
    descriptor: object
    features: np.ndarray
    sites: np.ndarray

    def atoms_and_indices(self, rows):
        """Group pool rows by model: yields (atoms, atom indices, positions of those rows)."""
        rows = np.asarray(rows, dtype=np.int64)
        for model in np.unique(self.sites[rows, 0]):
            mine = np.flatnonzero(self.sites[rows, 0] == model)
            yield self.structures[model], self.sites[rows[mine], 1], mine


def site_pool(structures, element: str, descriptor=None, progress=None, cancel=None) -> SitePool:
    """Descriptors of all ``element`` sites of ``structures`` (one settings for all models)."""
    from amorpha.engine.descriptors import compute

    structures = list(structures)
    species = {s for atoms in structures for s in atoms.get_chemical_symbols()}
    require(element in species, "element", f"one of the loaded elements ({', '.join(sorted(species))})")
    if descriptor is None:
        descriptor = default_descriptor(species, all(atoms.pbc.all() for atoms in structures))
    rows, sites = [], []
    for k, atoms in enumerate(structures):
        check_cancel(cancel)
        index = np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == element)
        if len(index) == 0:
            continue
        part = sub_progress(progress, k / len(structures), (k + 1) / len(structures))
        rows.append(compute(atoms, descriptor, index, progress=part, cancel=cancel))
        sites.append(np.column_stack([np.full(len(index), k), index]))
    return SitePool(structures, element, descriptor, np.vstack(rows), np.vstack(sites))


def calculator_oracle(pool: SitePool, calculator, cancel=None):
    """A function pool rows → (rows done, their SiteSpectra), computed by ``calculator``.

    A site the calculator cannot do (an SCF that does not converge on a strained cluster) is left
    out and named in ``failures`` instead of ending the run; active learning then never asks again.
    It reports each site (``progress``: "site 3 of 8"; an xTB site takes seconds to a minute), and
    a Cancel in the middle of a round raises :class:`~.active.RoundCancelled` with the sites
    finished before it, which the learner keeps.
    """
    from amorpha.engine.spectra.spectrum import SiteSpectra
    from amorpha.engine.surrogate.active import RoundCancelled
    from amorpha.engine.tasks import Cancelled

    failures: list[tuple[int, str]] = []

    def answer(rows, done, spectra):
        """(done rows in the order asked, their SiteSpectra or None)."""
        order = np.argsort([np.flatnonzero(rows == r)[0] for r in done]) if done else []
        done = np.asarray(done, dtype=np.int64)[order]
        if len(done) == 0:
            return done, None
        out = SiteSpectra.from_spectra([spectra[k] for k in order])
        out.source = calculator.label
        return done, out

    def oracle(rows, progress=None):
        rows = np.asarray(rows, dtype=np.int64)
        done, spectra, k = [], [], -1
        try:
            for atoms, indices, where in pool.atoms_and_indices(rows):
                context = calculator.prepare(atoms)
                for index, row in zip(indices, rows[where]):
                    check_cancel(cancel)
                    k += 1
                    said = f"site {k + 1} of {len(rows)}"
                    site = sub_progress(progress, k / len(rows), (k + 1) / len(rows))
                    report(site, 0.0, said)
                    try:
                        spectra.append(calculator.site_spectrum(
                            atoms, int(index), cancel=cancel, context=context,
                            progress=None if site is None else lambda f, m="", s=site: s(f, f"{said}: {m}")))
                    except RuntimeError as exc:  # the calculator's own failure, not a programming error
                        failures.append((int(row), str(exc)))
                        continue
                    done.append(int(row))
                    report(site, 1.0, f"{said} done")
        except Cancelled:
            raise RoundCancelled(*answer(rows, done, spectra)) from None
        return answer(rows, done, spectra)

    oracle.failures = failures
    oracle.reports_progress = True
    return oracle


def learn(pool: SitePool, calculator, params: ActiveParams | None = None, learner: ActiveLearner | None = None,
          progress=None, cancel=None) -> ActiveLearner:
    """Active learning on ``pool`` with ``calculator`` as the oracle; pass ``learner`` to continue.

    The learner is returned (and, when given, updated in place) so that a cancelled run keeps
    every spectrum computed so far. Its model keeps the calculator's settings (``metrics
    ["calculator"]``), so further references for it are computed the same way.
    """
    if learner is None:
        learner = ActiveLearner(pool.features, params or ActiveParams(), pool.descriptor.to_dict())
    settings = calculator.settings()
    if learner.calculator is not None and learner.calculator != settings:
        differ = sorted(k for k in learner.calculator.keys() | settings.keys()
                        if learner.calculator.get(k) != settings.get(k))
        raise ParameterError("calculator", (
            f"this learner's spectra were computed with other calculator settings ({', '.join(differ)} "
            f"differ): one model cannot learn from both (a periodic cell puts the Si K edge ~1.8 eV "
            f"lower than a cluster); start a new run"))
    learner.calculator = settings
    oracle = calculator_oracle(pool, calculator, cancel=cancel)
    try:
        learner.run(oracle, progress=progress, cancel=cancel)
    finally:  # a cancelled run keeps its reasons, and its model how its references were made
        learner.failures.extend(oracle.failures)
        stamp_calculator(learner.model, calculator)
    return learner


def stamp_calculator(model, calculator) -> None:
    """Say in ``model`` (if any) how its references were made, as make models does: the
    calculator's label and settings (``metrics["calculator"]``), which further references for it
    use. A cancelled run's model lacked them, and the next xTB run took the Preferences'."""
    if model is not None:
        model.reference = getattr(calculator, "label", model.reference)
        model.metrics["calculator"] = calculator.settings()


def measured_model(learner: ActiveLearner, calculator, progress=None, cancel=None):
    """The learner's model (None below :data:`~.active.MIN_SPECTRA` spectra) with what make
    models stores beside its model: how the references were made (:func:`stamp_calculator`),
    the learning curve (``metrics["learning_curve"]``, and in ``"learning_curve_of"`` what its
    points measure) and scores on sites it was not trained on. Those are k-fold
    cross-validated on its own spectra: a held-out set would cost more calculator calls, and
    each site is predicted by a model that did not learn it. Seconds for a grouped GP: call it
    in a worker thread."""
    from amorpha.engine.spectra.spectrum import SiteSpectra
    from amorpha.engine.surrogate.active import MIN_SPECTRA
    from amorpha.engine.surrogate.model import cross_validate

    model = learner.model
    if model is None:
        return None
    stamp_calculator(model, calculator)
    if learner.curve.calls:
        model.metrics["learning_curve"] = learner.curve.to_dict()
        model.metrics["learning_curve_of"] = CURVE_OF_HELD_OUT if learner.test is not None else CURVE_OF_NEXT
    x, y = model._training
    if len(x) > MIN_SPECTRA:  # every fold leaves three to train on
        data = SiteSpectra(model.energy, y, np.arange(len(y)), model.element, model.edge)
        folds = min(5, len(x))
        model.metrics.update(cross_validate(x, data, model.params, folds, progress=progress, cancel=cancel,
                                            descriptor=model.descriptor))
        model.metrics["measured_on"] = (f"{folds}-fold cross-validation on its {len(x)} training sites; "
                                        "active learning chose them: harder than a typical site")
    return model


def training_spectra(model, sites):
    """The reference spectra ``model`` learnt from, as site spectra of the atoms ``sites`` (one
    per training row, in its order: an ActiveLearner's ``pool.sites[labelled, 1]``), placed as
    its predictions are so the two can be laid over each other. The model keeps them (and a
    saved model or project with it), so no calculator runs again; None when ``sites`` do not
    match its training rows (a model trained on something else)."""
    from amorpha.engine.spectra.spectrum import SiteSpectra

    training = getattr(model, "_training", None)
    sites = np.asarray(sites, dtype=np.int64)
    if training is None or sites.ndim != 1 or len(sites) != len(training[1]):
        return None
    return SiteSpectra(model.energy, training[1], sites, model.element, model.edge, model.reference,
                       meta=model.placement())


#: what the points of a learning curve measure: the newest round's sites before they were learnt
#: (a run on the shown structure), or a fixed set of held-out sites (make models, Compare)
CURVE_OF_NEXT = "the next sites, before learning them"
CURVE_OF_HELD_OUT = "held-out sites"


#: (cutoff Å, atom Gaussian σ Å) of the SOAP settings :func:`train_from_folder` chooses among:
#: 3 Å holds a molecule's first shell and little else, 5 Å silica's second Si shell; σ 0.3 Å
#: tells sub-oxide shells apart, 0.5 Å is smoother on few samples. On XANESNET's S K training
#: split the cross-validated cosine spans 0.937-0.947 over these, the default alone 0.944.
FOLDER_CANDIDATES = ((3.0, 0.3), (3.0, 0.5), (4.0, 0.3), (4.0, 0.5), (5.0, 0.3), (5.0, 0.5))


def _folder_rows(records, descriptor, cancel=None, progress=None) -> np.ndarray:
    """One descriptor row per record: its absorber's."""
    from amorpha.engine.descriptors import compute

    rows = []
    for k, r in enumerate(records):
        check_cancel(cancel)
        rows.append(compute(r.atoms, descriptor, [r.absorber])[0])
        if progress is not None:
            progress((k + 1) / len(records), f"descriptors {k + 1}/{len(records)}")
    return np.array(rows)


def folder_folds(y_train) -> dict:
    """Cross-validation keywords for a folder's training sites: folds of whole structures when
    some structure holds several sites (FEFF: several Cu sites of one crystal would otherwise be
    predicted from each other), up to 5."""
    structures = len(np.unique(y_train.structures))
    by_structure = 2 <= structures < len(y_train.intensity)
    return {"folds": min(5, structures if by_structure else len(y_train.intensity)),
            "by_structure": by_structure}


def choose_folder_descriptor(records, y_train, params, progress=None, cancel=None):
    """The SOAP settings of :data:`FOLDER_CANDIDATES` with the best cross-validated mean cosine
    on ``records`` (the training split only; folds by :func:`folder_folds`), each candidate's
    score, and the winner's descriptor rows and cross-validation metrics (not computed again)."""
    from dataclasses import replace

    from amorpha.engine.surrogate.model import cross_validate

    species = {s for r in records for s in r.atoms.get_chemical_symbols()}
    base = default_descriptor(species, all(r.atoms.pbc.all() for r in records))
    scores, best = {}, None
    for k, (r_cut, sigma) in enumerate(FOLDER_CANDIDATES):
        part = sub_progress(progress, k / len(FOLDER_CANDIDATES), (k + 1) / len(FOLDER_CANDIDATES))
        candidate = replace(base, r_cut=r_cut, sigma=sigma)
        x = _folder_rows(records, candidate, cancel, sub_progress(part, 0, 0.2))
        cv = cross_validate(x, y_train, params, cancel=cancel, progress=sub_progress(part, 0.2, 1),
                            descriptor=candidate.to_dict(), **folder_folds(y_train))
        scores[f"r_cut {r_cut:g} Å, σ {sigma:g} Å"] = cv["cosine_mean"]
        if best is None or cv["cosine_mean"] > best[1]["cosine_mean"]:
            best = (candidate, cv, x)
    candidate, cv, x = best
    return candidate, scores, x, cv


def train_from_folder(folder, descriptor=None, params=None, progress=None, cancel=None, kind=None):
    """A surrogate trained on a folder of structure + spectrum pairs (engine.spectra.folders), on
    its spectra of ``kind`` ("Si K"; needed only when it holds several: ``SeveralEdgesError``).

    The folder's own split is kept: trained on "train" (or everything), measured on "test" when
    there is one, otherwise by cross-validation (:func:`folder_folds`). Molecules (no periodic cell) get a
    non-periodic SOAP around the absorber. Without ``descriptor`` the SOAP cutoff and width are
    chosen by cross-validation on the training records (:func:`choose_folder_descriptor`); the
    scores are kept in ``metrics["descriptor_cv"]``.
    """
    from amorpha.engine.spectra import site_spectra
    from amorpha.engine.surrogate.metrics import spectrum_metrics
    from amorpha.engine.surrogate.model import SpectrumModel, SurrogateParams, cross_validate

    folder = folder.one_kind(kind)
    records = folder.records
    splits = folder.splits
    train = folder.subset("train") if splits.get("train") and splits.get("test") else records
    test = folder.subset("test") if train is not records else []
    require(len(train) >= 4, "folder", f"at least four sites to train on ({len(train)} "
            f"{'in its train split' if test else 'read'}): cross-validation holds one out, and a "
            f"model learns from three or more")
    y_train = site_spectra(train)
    params = params or SurrogateParams()
    choice, cv = {}, None
    if descriptor is None:
        descriptor, choice, x, cv = choose_folder_descriptor(train, y_train, params,
                                                             sub_progress(progress, 0, 0.7), cancel)
    else:
        x = _folder_rows(train, descriptor, cancel, sub_progress(progress, 0, 0.7))
    model = SpectrumModel.train(x, y_train, descriptor.to_dict(), params,
                                reference=f"{folder.layout} folder {folder.path}")
    if test:
        y_test = site_spectra(test, y_train.energy)
        x_test = _folder_rows(test, descriptor, cancel, sub_progress(progress, 0.7, 0.8))
        model.metrics = spectrum_metrics(y_test.energy, y_test.intensity, model.predict(x_test))
        model.metrics["measured_on"] = "the folder's test split"
    else:
        folds = folder_folds(y_train)
        model.metrics = cv or cross_validate(x, y_train, params, cancel=cancel,
                                             descriptor=descriptor.to_dict(), **folds)
        model.metrics["measured_on"] = f"{folds['folds']}-fold cross-validation" + (
            " by structure" if folds["by_structure"] else "") + (
            " (the same folds chose the descriptor: slightly optimistic)" if choice else "")
    if choice:
        model.metrics["descriptor_cv"] = choice
    return model

"""Learning curves of active learning against random sampling on one pool, as the window draws them.

The issue's claim "active learning needs fewer calculator calls" is shown by running both on the
same sites with the same held-out set: error on the held-out sites against calls. Two sources:

* a pool of sites whose spectra the reference calculator makes on demand (:func:`calculator_curves`).
  Every site is computed at most once for both runs (:class:`MemoOracle`), and with the
  calculator's disk cache a second comparison costs nothing;
* a folder of already computed site spectra (:func:`folder_curves`): every answer is known, so
  the comparison is arithmetic only.

Both start from the same random sites (one seed), so the curves differ only by the strategy.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from amorpha.engine.errors import require
from amorpha.engine.surrogate.active import ActiveParams, LearningCurve, compare_strategies
from amorpha.engine.tasks import check_cancel, report, sub_progress


@dataclass(frozen=True)
class CompareParams(ActiveParams):
    """The active strategy's settings (run again with ``strategy="random"``), a small default
    budget, and how many random sites are held out to measure the error on."""

    n_initial: int = 6
    batch: int = 3
    max_calls: int = 24
    n_test: int = 12

    def active(self, strategy: str) -> ActiveParams:
        """The settings of one run: these with ``strategy``."""
        values = {f.name: getattr(self, f.name) for f in fields(ActiveParams)}
        return ActiveParams(**{**values, "strategy": strategy})

    def validate(self, pool_size: int | None = None) -> "CompareParams":
        require(self.strategy != "random", "strategy", "an active strategy (random is the baseline)")
        require(self.n_test >= 2, "n_test", "at least 2 held-out sites")
        super().validate()
        self.active("random").validate()
        if pool_size is not None:
            require(self.n_test + self.max_calls <= pool_size, "max_calls",
                    f"budget + held-out sites at most the {pool_size} sites of the pool")
        return self


class MemoOracle:
    """An oracle (pool rows → (rows done, SiteSpectra)) that asks ``oracle`` once per row."""

    def __init__(self, oracle):
        self.oracle = oracle
        self.known: dict[int, np.ndarray] = {}
        self.failed: set[int] = set()
        self.grid = None  # the first SiteSpectra answered: energy, element, edge, source

    def __call__(self, rows):
        from amorpha.engine.spectra.spectrum import SiteSpectra

        rows = np.asarray(rows, dtype=np.int64)
        new = np.array([r for r in rows if int(r) not in self.known and int(r) not in self.failed], np.int64)
        if len(new):
            done, spectra = self.oracle(new)
            done = np.asarray(done, dtype=np.int64)
            self.failed.update(int(r) for r in np.setdiff1d(new, done))
            for k, r in enumerate(done):
                self.known[int(r)] = spectra.intensity[k]
            if len(done) and self.grid is None:
                self.grid = spectra
        done = np.array([r for r in rows if int(r) in self.known], np.int64)
        if len(done) == 0:
            return done, None
        g = self.grid
        return done, SiteSpectra(g.energy, np.array([self.known[int(r)] for r in done]), done,
                                 g.element, g.edge, g.source)


def compare(pool: np.ndarray, oracle, params: CompareParams, descriptor: dict | None = None,
            curves: dict | None = None, progress=None, cancel=None) -> dict[str, LearningCurve]:
    """Held-out error against calls for ``params.strategy`` and random on one pool.

    ``n_test`` random sites are asked first and held out; both runs then draw from the rest.
    ``curves`` (a dict) is filled while the runs go, so a window can draw them live; Cancel keeps
    the points made so far there.
    """
    pool = np.asarray(pool, dtype=np.float64)
    params = params.validate(len(pool))
    memo = oracle if isinstance(oracle, MemoOracle) else MemoOracle(oracle)
    rng = np.random.default_rng(params.seed + 1)
    test_rows, test_spectra = memo(rng.choice(len(pool), params.n_test, replace=False))
    require(len(test_rows) >= 2, "pool", "the calculator could not do the held-out sites")
    report(progress, 0.1, f"{len(test_rows)} held-out reference spectra")
    train = np.setdiff1d(np.arange(len(pool)), test_rows)

    def answer(rows):
        done, spectra = memo(train[rows])
        return np.searchsorted(train, done), spectra

    return compare_strategies(pool[train], answer, (pool[test_rows], test_spectra.intensity),
                              params.active(params.strategy), (params.strategy, "random"), descriptor,
                              curves, sub_progress(progress, 0.1, 1.0), cancel)


def calculator_curves(pool, calculator, params: CompareParams, curves: dict | None = None,
                      progress=None, cancel=None) -> dict[str, LearningCurve]:
    """:func:`compare` on a :class:`~amorpha.engine.surrogate.pipeline.SitePool` with ``calculator``
    making the spectra (the sites it cannot do are left out, as in training)."""
    from amorpha.engine.surrogate.pipeline import calculator_oracle

    oracle = calculator_oracle(pool, calculator, cancel=cancel)
    return compare(pool.features, oracle, params, pool.descriptor.to_dict(), curves, progress, cancel)


def folder_curves(folder, params: CompareParams, descriptor=None, curves: dict | None = None,
                  progress=None, cancel=None, kind=None) -> dict[str, LearningCurve]:
    """:func:`compare` on the site spectra of a folder (:func:`amorpha.engine.spectra.read_spectrum_folder`)
    of ``kind`` ("Si K"; needed only when it holds several): every spectrum is known, so only
    the descriptors take time."""
    from amorpha.engine.descriptors import compute
    from amorpha.engine.spectra.spectrum import SiteSpectra
    from amorpha.engine.surrogate.pipeline import default_descriptor

    folder = folder.one_kind(kind)
    records = folder.records
    require(len(records) >= params.n_test + params.n_initial, "folder",
            f"at least {params.n_test + params.n_initial} site spectra for {params.n_test} held-out "
            f"and {params.n_initial} starting sites ({len(records)} read)")
    if descriptor is None:
        species = {s for r in records for s in r.atoms.get_chemical_symbols()}
        descriptor = default_descriptor(species, all(r.atoms.pbc.all() for r in records))
    part = sub_progress(progress, 0, 0.5)
    rows = []
    for k, r in enumerate(records):
        check_cancel(cancel)
        rows.append(compute(r.atoms, descriptor, [r.absorber])[0])
        report(part, (k + 1) / len(records), f"descriptors {k + 1}/{len(records)}")
    spectra = folder.site_spectra()
    params = replace(params, max_calls=min(params.max_calls, len(records) - params.n_test))

    def oracle(asked):
        asked = np.asarray(asked, dtype=np.int64)
        return asked, SiteSpectra(spectra.energy, spectra.intensity[asked], asked, spectra.element,
                                  spectra.edge, spectra.source)

    return compare(np.array(rows), oracle, params, descriptor.to_dict(), curves,
                   sub_progress(progress, 0.5, 1), cancel)

"""Grain-boundary structure search: candidates of a CSL bicrystal, energy oracles, search
strategies (exhaustive, random, Bayesian optimisation, virtual screening) and a per-atom energy
model for boundaries too large for the oracles. Units: Å, eV; boundary energies in J/m².

The pieces, in the order a search uses them:

* :class:`GbSearchParams` (a :class:`GbBoundary` + grid sizes; the boundaries to offer come from
  :func:`amorpha.engine.build.csl.csl_boundaries`) → :func:`candidate_grid` gives a
  :class:`CandidateSet`; ``len()`` (or ``params.count``) is known before anything runs, and each
  :class:`Candidate` has a stable ``key`` for caches (:mod:`.candidates`);
* :func:`make_oracle` (``"emt"``, ``"asap"``, ``"eam"`` or ``"fastest"``; :func:`available_oracles`)
  relaxes a candidate at fixed cell and returns γ = (E − N·e_bulk)/(2A) (:mod:`.oracles`);
* :func:`run_search` (or :class:`GbSearch`, an iterator of evaluations) with a strategy from
  :data:`STRATEGIES`; evaluations are cached on disk, run in ``workers`` processes or on Dask
  (``dask=True`` for a local cluster, ``scheduler="tcp://host:8786"`` for a running one), report
  ``progress`` and stop on ``cancel`` keeping what was found (``result.stopped``); a failed
  evaluation or a lost cluster raises :class:`SearchFailed` whose ``.result`` keeps the rest;
  bad input (unknown element, empty grid, a scheduler that does not answer within 3 s) raises
  :class:`~amorpha.engine.errors.ParameterError` before anything runs (:mod:`.search`);
* :class:`SearchResult`: ``evaluations`` (candidate, γ, per-atom energies, relaxed positions),
  ``best_so_far()`` for the live plot, ``energy_map()`` over (dx, dy), ``best_atoms()`` with
  ``arrays["site_energy"]`` for the viewer;
* :class:`ScreeningModel` (virtual screening): descriptors of unrelaxed candidates → γ, trained on
  other boundaries, ranks a new boundary's candidates (:mod:`.screening`).

Example::

    from amorpha.engine.gb import GbBoundary, GbSearchParams, candidate_grid, make_oracle, run_search

    params = GbSearchParams(GbBoundary("Cu", sigma=5, plane=(2, 1, 0)), nx=12, ny=24,
                            dz=(0.0, 0.2, 0.4, 0.6), removal=(0.5, 0.7, 0.9))
    candidates = candidate_grid(params)            # 3456 candidates, nothing computed yet
    oracle = make_oracle("fastest")                # LAMMPS EAM if installed, else ASAP / ASE EMT
    result = run_search(candidates, oracle, "bo", n_evals=60, acquisition="ei",
                        on_evaluation=lambda e: print(e.candidate.index, e.gamma))
    print(result.best.gamma, result.best_so_far()[-1])
    atoms = result.best_atoms()                    # colour by atoms.arrays["site_energy"]

In the GUI, run :func:`run_search` through the TaskRunner with ``on_evaluation`` posting each
evaluation to the GUI thread: a cancelled task's return value is dropped by the runner, but the
evaluations already posted (and the disk cache) keep what was found.
"""
from .candidates import (Candidate, CandidateSet, GbBoundary, GbSearchParams, candidate_grid,
                         in_plane_periods)
from .oracles import (EMT_ELEMENTS, Evaluation, Oracle, Reference, asap_available,
                      available_oracles, lammps_available, make_oracle)
from .screening import ScreeningModel
from .search import (ACQUISITIONS, STRATEGIES, GbSearch, SearchFailed, SearchResult, make_strategy,
                     run_search)

__all__ = ["ACQUISITIONS", "EMT_ELEMENTS", "STRATEGIES", "Candidate", "CandidateSet", "Evaluation",
           "GbBoundary", "GbSearch", "GbSearchParams", "Oracle", "Reference", "ScreeningModel",
           "SearchFailed",
           "SearchResult", "asap_available", "available_oracles", "candidate_grid",
           "in_plane_periods", "lammps_available", "make_oracle", "make_strategy", "run_search"]

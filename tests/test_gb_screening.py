"""Virtual screening: a model trained on two searched boundaries ranks a third one's candidates.

Labels come from the benchmark's stored LAMMPS-EAM table (tests/benchmarks/data/gb_cu_eam.npz,
every candidate of three Cu [001] tilt boundaries relaxed); only descriptors of unrelaxed
structures are computed here, so no oracle runs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.gb import GbSearchParams, candidate_grid
from amorpha.engine.gb.screening import FEATURE_NAMES, ScreeningModel, candidate_descriptors

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from bench_gb_search import BOUNDARIES, DATA  # noqa: E402

A_EAM = 3.61493  # Mishin Cu a₀, the lattice constant the table was computed at


@pytest.fixture(scope="module")
def table():
    if not DATA.is_file():
        pytest.skip("the benchmark table is not there (python tests/benchmarks/bench_gb_search.py)")
    with np.load(DATA) as data:
        return {k: data[k] for k in data.files}


def _sub_grid(name, nx, ny, dz, removal, table):
    """A coarser grid inside a benchmark grid, with its γ looked up by candidate key."""
    full = candidate_grid(BOUNDARIES[name])
    gammas = dict(zip((c.key for c in full), table[name]))
    sub = candidate_grid(GbSearchParams(BOUNDARIES[name].boundary, nx, ny, dz, removal))
    return sub, np.array([gammas[c.key] for c in sub])


def test_screening_finds_a_new_boundarys_minimum_in_its_top_20(table):
    train = [_sub_grid("sigma5_310", 4, 6, (0.0, 0.4), (0.5, 0.8), table),
             _sub_grid("sigma13_320", 3, 10, (0.0, 0.4), (0.5, 0.8), table)]
    model = ScreeningModel(n_estimators=200).fit([c for c, _ in train], [g for _, g in train], a=A_EAM)
    new, gammas = _sub_grid("sigma5_210", 6, 12, (0.15, 0.3, 0.45), (0.5,), table)
    order = model.rank(new, a=A_EAM)
    top = gammas[order[:20]]
    assert top.min() <= gammas.min() + 0.005, (top.min(), gammas.min())
    assert top.mean() < np.median(gammas)  # the ranking is better than chance, not only lucky


def test_descriptors_see_overlaps_and_open_space(table):
    cs = candidate_grid(GbSearchParams(BOUNDARIES["sigma5_210"].boundary, 1, 2, (0.0, 0.6), (0.0, 0.7)))
    d = [dict(zip(FEATURE_NAMES, candidate_descriptors(c, A_EAM))) for c in cs]
    # Zero translation, nothing removed: pairs across the boundary closer than 0.75 d_nn.
    assert d[0]["min_distance"] < 0.7 and d[0]["pairs_0_0.75"] > 0 and d[0]["overlap"] > 0
    # Removing below 0.7 d_nn leaves none, and the removed atoms are counted.
    assert d[1]["min_distance"] >= 0.7 and d[1]["pairs_0_0.75"] == 0 and d[1]["removed"] > 0
    # Opening both boundaries by dz = 0.6 Å adds 0.6 Å of excess volume per unit area (2 boundaries
    # of area A and a cell 2·dz taller: 2·A·dz / (2·A)), in units of d_nn = a/√2.
    nn = A_EAM / np.sqrt(2.0)
    assert d[2]["excess_volume"] - d[0]["excess_volume"] == pytest.approx(0.6 / nn, abs=1e-9)
    # The same candidate at another lattice constant has the same descriptors (dz = 0: an offset
    # in Å is a different fraction of another lattice).
    assert np.allclose(candidate_descriptors(cs[1], 3.59), candidate_descriptors(cs[1], A_EAM))


def test_untrained_model_is_a_clear_error(table):
    with pytest.raises(ParameterError, match="train the model"):
        ScreeningModel().rank(candidate_grid(BOUNDARIES["sigma5_310"]))


def test_screening_search_relaxes_the_best_ranked_first(table, tmp_path):
    from amorpha.engine.gb import make_oracle, run_search

    cs, g = _sub_grid("sigma5_310", 4, 6, (0.0, 0.4), (0.5, 0.8), table)
    model = ScreeningModel(n_estimators=50).fit([cs], [g], a=A_EAM)
    new = candidate_grid(GbSearchParams(BOUNDARIES["sigma5_210"].boundary, 2, 4, (0.3,), (0.5,)))
    oracle = make_oracle("fastest")
    ref = oracle.reference("Cu")
    fractions = []
    result = run_search(new, oracle, "screening", n_evals=3, screening_model=model, cache_dir=tmp_path,
                        progress=lambda f, m: fractions.append(f))
    assert result.indices.tolist() == model.rank(new, a=ref.a)[:3].tolist()
    assert fractions[-1] == pytest.approx(1.0) and np.all(np.diff(fractions) >= 0)

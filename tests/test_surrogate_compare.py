"""Active against random on one pool (engine/surrogate/compare.py): both runs share the held-out
sites and the starting sites, each site is asked of the calculator once, and bad settings are
refused before any calculation."""
from dataclasses import replace

import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.spectra import SiteSpectra
from amorpha.engine.surrogate.active import ActiveLearner, ActiveParams, compare_strategies
from amorpha.engine.surrogate.compare import CompareParams, MemoOracle, compare
from amorpha.engine.tasks import Cancelled

ENERGY = np.linspace(0, 10, 51)


@pytest.fixture(scope="module")
def pool():
    """Sites in 4-D with spectra = Gaussians centred by a smooth function of the position."""
    x = np.random.default_rng(0).normal(size=(150, 4))
    centre = 5 + np.tanh(x[:, 0]) + 0.5 * np.sin(x[:, 1])
    return x, np.exp(-0.5 * (ENERGY[None, :] - centre[:, None]) ** 2 / 0.6)


def counting_oracle(y, asked):
    def oracle(rows):
        rows = np.asarray(rows)
        asked.extend(int(r) for r in rows)
        keep = rows[rows % 37 != 5]  # the calculator "fails" on some sites
        return keep, SiteSpectra(ENERGY, y[keep], keep, "Si", "K", "test")
    return oracle


def test_both_strategies_share_held_out_and_start_and_ask_each_site_once(pool):
    x, y = pool
    asked = []
    params = CompareParams(strategy="farthest", n_initial=5, batch=5, max_calls=30, n_test=20,
                           regressor="kernel_ridge", seed=2)
    curves = compare(x, counting_oracle(y, asked), params)
    assert list(curves) == ["farthest", "random"]
    assert len(asked) == len(set(asked))  # memo: never asked twice, failures included
    for curve in curves.values():
        assert curve.calls[0] == 5 and curve.calls[-1] <= 30 and len(curve.rmse) == len(curve.calls)
    # the first point (same random start, same held-out sites) is the same for both
    assert curves["farthest"].rmse[0] == pytest.approx(curves["random"].rmse[0])
    # the error measured is the held-out RMSE of a model trained on what was learnt: recompute it
    rng = np.random.default_rng(params.seed + 1)
    test = rng.choice(len(x), params.n_test, replace=False)
    test = test[test % 37 != 5]
    train = np.setdiff1d(np.arange(len(x)), test)
    learner = ActiveLearner(x[train], params.active("random"), test=(x[test], y[test]))

    def answer(rows):
        ok = rows[train[rows] % 37 != 5]
        return ok, y[train[ok]]

    learner.run(answer)
    assert learner.curve.rmse == pytest.approx(curves["random"].rmse)


def test_known_spectra_curves_are_single_runs_and_cancel_keeps_the_points(pool):
    """compare_strategies (which compare builds on) with every spectrum known, as the benchmark
    runs it: each curve is that strategy's own run; Cancel leaves the points made so far."""
    x, y = pool
    train, test = np.arange(30, 150), (x[:30], y[:30])
    params = ActiveParams(n_initial=5, batch=5, max_calls=25, regressor="kernel_ridge", seed=1)
    curves = compare_strategies(x[train], y[train], test, params, ("farthest", "random"))
    for strategy, curve in curves.items():
        learner = ActiveLearner(x[train], replace(params, strategy=strategy), test=test)
        learner.run(lambda rows: y[train][rows])
        assert curve.calls == learner.curve.calls == [5, 10, 15, 20, 25]
        assert curve.rmse == pytest.approx(learner.curve.rmse)
    assert curves["farthest"].rmse[-1] < curves["farthest"].rmse[0]
    live, seen = {}, []
    with pytest.raises(Cancelled):
        compare_strategies(x[train], y[train], test, params, ("farthest", "random"), curves=live,
                           progress=lambda f, m: seen.append(m), cancel=lambda: len(seen) >= 7)
    assert list(live) == ["farthest", "random"] and live["farthest"].calls == [5, 10, 15, 20, 25]
    assert live["random"].calls == [5, 10] and seen[0].startswith("farthest: ")


def test_memo_oracle_returns_rows_in_order_asked(pool):
    x, y = pool
    asked = []
    memo = MemoOracle(counting_oracle(y, asked))
    done, spectra = memo([3, 42, 7])  # 42 % 37 == 5 fails
    assert list(done) == [3, 7] and np.array_equal(spectra.intensity, y[[3, 7]])
    done, spectra = memo([7, 42, 3, 8])
    assert list(done) == [7, 3, 8] and np.array_equal(spectra.intensity, y[[7, 3, 8]])
    assert asked == [3, 42, 7, 8]


@pytest.mark.parametrize("change, words", [
    ({"strategy": "random"}, "an active strategy"),
    ({"n_test": 1}, "at least 2 held-out"),
    ({"max_calls": 145}, "at most the 150 sites"),
    ({"strategy": "variance", "regressor": "ridge"}, "Gaussian-process"),
])
def test_bad_settings_are_refused_before_any_calculation(pool, change, words):
    x, y = pool
    asked = []
    with pytest.raises(ParameterError, match=words):
        compare(x, counting_oracle(y, asked), CompareParams(**change))
    assert asked == []

"""Benchmark: what the surrogate buys.

1. Speed. Predicting and averaging every Si site of the ~5000-atom a-SiO example with the shipped
   Si K model (``make models``), after the descriptors, against the xTB calculator per site (cache
   off). The issue asks < 1 s for the prediction and ≥ 10⁴× per site.
2. Active learning against random sampling (calculator calls to reach random's final error), on
   a pool whose spectra are all known, so the curves cost no calculator time: the XANESNET V K set
   of ../shared/data (1439 first-principles spectra with their descriptors), 12 splits by
   default: one split's ratio ranges from 0.25 to 0.83 (session 30), so 3 splits gave a median of
   0.47 and 6 of 0.54. The issue asks at most half the calls.

   Other choices, median on splits 0-5 (variance reduction, the shipped strategy: 0.54). Largest
   uncertainty 0.75; farthest first 0.74; variance reduction averaged over the fitted length
   scale ×0.5, 1, 2 (hyperparameters unsure early on) 0.58; one random pick in each batch 0.61;
   the variance scaled by the leave-one-out error near each site (where spectra vary faster than
   the stationary GP thinks) 0.56. GP hyperparameters fitted to the leading 5 or 3 PCA scores
   instead of all 30: 0.51, 0.60. To the first score alone 0.35, but only because random sampling
   got worse (final RMSE 0.11-0.13 against 0.10): a worse model, not a better strategy.

Run ``python tests/benchmarks/bench_surrogate.py`` (``--seeds N``, ``--sites N`` for the xTB timing).
"""
from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from amorpha.engine.examples import load_example
from amorpha.engine.surrogate.active import ActiveParams, compare_strategies
from amorpha.engine.surrogate.model import SpectrumModel
from amorpha.engine.surrogate.pipeline import default_calculator

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MODEL = Path(__file__).resolve().parents[2] / "resources" / "models" / "Si-K-xtb.amodel"


def speed(n_sites: int) -> None:
    from amorpha.engine.descriptors import compute, params_from_dict

    if not MODEL.is_file():
        print(f"no {MODEL.name}: run 'make models' first")
        return
    model = SpectrumModel.load(MODEL)
    atoms = load_example("a-SiO")
    sites = model.sites_of(atoms)
    t0 = time.perf_counter()
    features = compute(atoms, params_from_dict(model.descriptor), sites)
    t_desc = time.perf_counter() - t0
    best = np.inf
    for _ in range(5):
        t0 = time.perf_counter()
        average = model.predict(features).mean(axis=0)
        best = min(best, time.perf_counter() - t0)
    assert np.all(np.isfinite(average))
    t0 = time.perf_counter()
    beyond = np.mean(model.distance_from_training(features) > 1.0)  # the first call sets up the domain
    t_domain = time.perf_counter() - t0
    calculator = default_calculator(model.metrics.get("calculator"), cache=False)
    rng = np.random.default_rng(0)
    times = []
    for index in rng.choice(sites, n_sites, replace=False):
        t0 = time.perf_counter()
        try:
            calculator.site_spectrum(atoms, int(index))
        except RuntimeError as exc:  # an SCF that does not converge still cost its time
            print(f"  site {index}: {exc}")
        times.append(time.perf_counter() - t0)
    per_site_surrogate = best / len(sites)
    per_site_xtb = float(np.mean(times))
    print(f"a-SiO: {len(atoms)} atoms, {len(sites)} Si sites")
    print(f"  descriptors (SOAP)           {t_desc:8.3f} s")
    print(f"  predict + average, all sites {best:8.3f} s   ({per_site_surrogate * 1e6:.1f} µs per site)")
    print(f"  distance from training sites {t_domain:8.3f} s   ({beyond:.1%} beyond the domain radius)")
    print(f"  xTB per site (cache off)     {per_site_xtb:8.3f} s   (mean of {n_sites})")
    print(f"  ratio per site               {per_site_xtb / per_site_surrogate:10.3g}×")


def learning_curves(seeds: int, random_repeats: int = 3) -> None:
    """Per split: one active run, and random sampling averaged over several draws (one random
    run's final error alone varies by ±5 % from draw to draw, which would decide the ratio)."""
    path = SHARED / "spectra" / "xanesnet_v_k_descriptors" / "k_edge_v.npz"
    if not path.is_file():
        print("active learning: ../shared/data absent, skipped")
        return
    data = np.load(path)
    x, y = data["x"], data["y"]
    ratios = []
    for seed in range(seeds):
        order = np.random.default_rng(seed).permutation(len(x))
        test, pool = order[:300], order[300:]
        params = ActiveParams(n_initial=10, batch=5, max_calls=200, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            active = compare_strategies(x[pool], y[pool], (x[test], y[test]), params, ("variance",))["variance"]
            randoms = [compare_strategies(x[pool], y[pool], (x[test], y[test]),
                                          replace(params, seed=100 * seed + r), ("random",))["random"]
                       for r in range(random_repeats)]
        random_rmse = np.mean([c.rmse for c in randoms], axis=0)
        final, budget = random_rmse[-1], randoms[0].calls[-1]
        reached = active.calls_to_reach(final)
        ratios.append(reached / budget if reached else np.inf)
        print(f"  split {seed}: random (mean of {random_repeats}) reaches RMSE {final:.4f} with {budget} "
              f"calls; variance reduction reaches it with {reached} and ends at {active.rmse[-1]:.4f}")
    print(f"active / random calls to random's final error: median {np.median(ratios):.2f} of "
          f"{len(ratios)} splits (range {min(ratios):.2f}-{max(ratios):.2f}; issue: ≤ 0.5)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--sites", type=int, default=3)
    args = parser.parse_args(argv)
    speed(args.sites)
    learning_curves(args.seeds)


if __name__ == "__main__":
    main()

"""Benchmark: spectra as descriptors on the built-in a-SiOx task, and the Explain fit's calibration.

1. The built-in task (predicted average Si K spectra of small a-SiOx models, shipped surrogate):
   time per model, then cross-validated R² of Model A (spectrum) and Model B (spectrum + x) for
   each regressor and target, against the reference a spectrum must beat: ridge on the
   composition x alone.
2. Explain on the a-SiO example: the model's own Si oxidation fractions from its predicted average
   with Poisson noise, over many noise draws: largest error, and how often the bootstrap interval
   (±2σ, ±3σ) covers the truth; time of one fit + 200 bootstrap refits against one scipy NNLS.

Run ``python tests/benchmarks/bench_spectral_regression.py`` (``--models N``, ``--draws N``).
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from amorpha.engine.examples import load_example
from amorpha.engine.spectra.site_classes import explain, predicted_classes
from amorpha.engine.spectra.spectral_regression import (REGRESSORS, BuiltinParams, RegressionParams,
                                                        builtin_dataset, compare_models)
from amorpha.engine.surrogate.model import SpectrumModel

MODEL = Path(__file__).resolve().parents[2] / "resources" / "models" / "Si-K-xtb.amodel"
TARGETS = ("mean Si coordination", "fraction Si4+", "mean Si-O-Si angle (deg)")


def regression(model, n_models: int) -> None:
    t0 = time.perf_counter()
    table = builtin_dataset(model, BuiltinParams(n_models=n_models))
    dt = time.perf_counter() - t0
    print(f"built-in task: {n_models} a-SiOx models of 64 Si in {dt:.1f} s ({dt / n_models:.2f} s per model)")
    print(f"  {'target':28s} {'regressor':20s} {'A: spectrum':>12s} {'B: + x':>8s} {'x only':>8s} {'time':>7s}")
    for target in TARGETS:
        for key, name in REGRESSORS.items():
            t0 = time.perf_counter()
            result = compare_models(table, target, RegressionParams(key))
            dt = time.perf_counter() - t0
            print(f"  {target:28s} {name:20s} {result.model_a.r2:12.3f} {result.model_b.r2:8.3f} "
                  f"{result.baseline.r2:8.3f} {dt:6.1f}s")


def explain_calibration(model, draws: int) -> None:
    from scipy.optimize import nnls

    classes = predicted_classes(load_example("a-SiO"), model)
    truth, average = classes.fractions, classes.average
    errors, z = [], []
    t_explain = []
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        counts = rng.poisson(average.intensity / average.intensity.max() * 1e5 + 2e4).astype(np.float64)
        t0 = time.perf_counter()
        result = explain(replace(average, intensity=counts), classes, noise="counts", seed=seed)
        t_explain.append(time.perf_counter() - t0)
        errors.append(np.abs(result.fit.fractions - truth))
        z.append(errors[-1] / result.fit.fraction_std)
    errors, z = np.array(errors), np.array(z)
    columns = np.column_stack([c.intensity for c in classes.components])
    t0 = time.perf_counter()
    for _ in range(20):
        nnls(columns, average.intensity)
    t_nnls = (time.perf_counter() - t0) / 20
    print(f"Explain, a-SiO ({len(classes.labels)} oxidation classes), 10^5 counts at the white line, {draws} draws:")
    print(f"  largest error of a fraction  {errors.max():.3f} (issue: ≤ 0.05); mean {errors.mean():.4f}")
    print(f"  truth within ±2σ: {np.mean(z <= 2):.2%}   within ±3σ: {np.mean(z <= 3):.2%} of class fits")
    print(f"  fit + 200 bootstrap refits {np.median(t_explain):.3f} s; one scipy NNLS {t_nnls * 1e3:.2f} ms; "
          f"ratio {np.median(t_explain) / t_nnls:.0f}×")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=BuiltinParams().n_models)
    parser.add_argument("--draws", type=int, default=30)
    args = parser.parse_args(argv)
    if not MODEL.is_file():
        print(f"no {MODEL.name}: run 'make models' first")
        return
    model = SpectrumModel.load(MODEL)
    explain_calibration(model, args.draws)
    regression(model, args.models)


if __name__ == "__main__":
    main()

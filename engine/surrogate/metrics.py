"""How close predicted spectra are to reference ones: the three numbers spectroscopists quote.

R² over all points (how much of the variation between sites the model explains), cosine
similarity per spectrum (shape agreement, insensitive to scale) and the error in the position of
the main peak in eV (what a person reads off a plot first).

Two R² are in use for spectra and they differ a lot. ``r2`` is the strict one: residuals over all
sites and energies against the variation *between sites* at each energy (scikit-learn's
``variance_weighted`` multi-output R²); when all sites look alike (a-SiO2 Si K) it is near 0 even
for predictions at cosine 0.98. ``r2_per_spectrum`` is each spectrum's own R² (against its mean
over energies, as for any fitted curve), averaged: the lenient one many spectral-ML papers report.
"""
from __future__ import annotations

import numpy as np

from amorpha.engine.spectra.features import peak_energies


def r2_score(reference: np.ndarray, predicted: np.ndarray) -> float:
    """Coefficient of determination over all sites and energies (1 = perfect, 0 = the mean)."""
    ref = np.asarray(reference, dtype=np.float64)
    pred = np.asarray(predicted, dtype=np.float64)
    residual = np.sum((ref - pred) ** 2)
    total = np.sum((ref - ref.mean(axis=0)) ** 2)
    return float(1.0 - residual / total) if total > 0 else float("nan")


def r2_per_spectrum(reference: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Each spectrum's own R² (its residual against its variation over energies), one per row."""
    ref = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    pred = np.atleast_2d(np.asarray(predicted, dtype=np.float64))
    total = np.sum((ref - ref.mean(axis=1, keepdims=True)) ** 2, axis=1)
    residual = np.sum((ref - pred) ** 2, axis=1)
    return 1.0 - np.divide(residual, total, out=np.full_like(total, np.nan), where=total > 0)


def cosine_similarity(reference: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Cosine of the angle between each reference and predicted spectrum (one value per row)."""
    ref = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    pred = np.atleast_2d(np.asarray(predicted, dtype=np.float64))
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(pred, axis=1)
    dots = np.sum(ref * pred, axis=1)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def peak_position_error(energy: np.ndarray, reference: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """|E_peak(predicted) − E_peak(reference)| in eV per spectrum, the peak being the maximum
    (refined between grid points)."""
    return np.abs(peak_energies(energy, predicted) - peak_energies(energy, reference))


def spectrum_metrics(energy, reference, predicted) -> dict:
    """All three, as plain floats for tables and JSON."""
    cos = cosine_similarity(reference, predicted)
    peak = peak_position_error(energy, reference, predicted)
    return {
        "r2": r2_score(reference, predicted),
        "r2_per_spectrum": float(np.nanmean(r2_per_spectrum(reference, predicted))),
        "cosine_mean": float(cos.mean()),
        "cosine_min": float(cos.min()),
        "peak_error_ev": float(peak.mean()),
        "rmse": float(np.sqrt(np.mean((np.asarray(reference) - np.asarray(predicted)) ** 2))),
        "n": int(len(cos)),
    }

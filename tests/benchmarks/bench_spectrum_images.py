"""Side-by-side benchmark: amorpha's spectrum-image decomposition against the same scikit-learn
calls made naively (default BLAS threading), on a 64-pixel × 2048-channel line scan.

Run ``python tests/benchmarks/bench_spectrum_images.py [--pixels 64] [--repeat 3]``. The line scan
mixes two edges with fractions changing along the scan plus Poisson noise. Ours is
:func:`amorpha.engine.spectra.images.decompose` (PCA, NMF, k-means; small tables on one BLAS
thread); the reference is ``PCA``/``NMF``/``KMeans`` with the same settings called directly.
The results are checked to agree before the times are printed; the target is < 2 s for all three.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from amorpha.engine.spectra.images import DecompositionParams, decompose
from amorpha.engine.spectra.microscope import SpectrumData

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_neighbors import best_time  # noqa: E402


def line_scan(n_pixels: int, n_channels: int = 2048, seed: int = 0) -> SpectrumData:
    energy = np.linspace(90.0, 140.0, n_channels)
    a = 0.5 + np.arctan((energy - 100.0) / 0.8) / np.pi + 1.5 * np.exp(-0.5 * ((energy - 101.5) / 1.2) ** 2)
    b = 0.5 + np.arctan((energy - 106.0) / 0.8) / np.pi + 1.5 * np.exp(-0.5 * ((energy - 108.0) / 1.2) ** 2)
    f = np.linspace(1.0, 0.0, n_pixels)[:, None]
    rng = np.random.default_rng(seed)
    return SpectrumData(energy, rng.poisson(2000.0 * (f * a + (1 - f) * b)).astype(float))


def naive(method: str, x: np.ndarray, k: int):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import NMF, PCA

    if method == "pca":
        return PCA(n_components=k, random_state=0).fit_transform(x)
    if method == "nmf":
        return NMF(n_components=k, init="nndsvda", max_iter=1000, random_state=0).fit_transform(x)
    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(x / np.abs(x).sum(axis=1, keepdims=True))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=64)
    parser.add_argument("--components", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    data = line_scan(args.pixels)
    x = data.data
    k = args.components
    for method in ("pca", "nmf", "kmeans"):  # warm-up: imports and first calls
        decompose(data, DecompositionParams(method, k))
        naive(method, x, k)
    print(f"line scan: {args.pixels} pixels × {x.shape[1]} channels, {k} components")
    print(f"{'method':8s} {'amorpha (s)':>12s} {'sklearn naive (s)':>18s} {'ratio':>7s}")
    total_ours = total_ref = 0.0
    for method in ("pca", "nmf", "kmeans"):
        t_ours, ours = best_time(lambda: decompose(data, DecompositionParams(method, k)), args.repeat)
        t_ref, ref = best_time(lambda: naive(method, x, k), args.repeat)
        if method == "pca":
            agree = np.allclose(np.abs(ours.maps), np.abs(ref), rtol=1e-6, atol=1e-6 * np.abs(ref).max())
        elif method == "nmf":
            agree = np.allclose(np.sort(ours.maps.sum(axis=0)), np.sort(ref.sum(axis=0)), rtol=1e-3)
        else:
            from sklearn.metrics import adjusted_rand_score

            agree = adjusted_rand_score(ours.labels, ref) == 1.0
        if not agree:
            print(f"{method}: results differ from the reference", file=sys.stderr)
            return 1
        total_ours += t_ours
        total_ref += t_ref
        print(f"{method:8s} {t_ours:12.4f} {t_ref:18.4f} {t_ref / t_ours:7.1f}x")
    print(f"{'all':8s} {total_ours:12.4f} {total_ref:18.4f} {total_ref / total_ours:7.1f}x  (target < 2 s)")
    return 0 if total_ours < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Spectrum images (line scans and maps): PCA, NMF and k-means over the pixels' spectra.

A line scan or a spectrum image (:class:`~amorpha.engine.spectra.microscope.SpectrumData`, data
``(..., n_energies)``) is a table of pixels × channels; scikit-learn decomposes it and the result
keeps the pixel layout, so each component has a spectrum (what it looks like) and a map (where it
is). The three methods answer different questions:

* ``"pca"``: how many independent signals are there (explained variance) and where does each vary;
  components are signed, pixels are centred on the mean spectrum first. A component's sign is
  arbitrary (the SVD gives ±, and scikit-learn's rule changed between versions), so we fix it: each
  component's loadings sum to a positive number (its largest loading is positive when they sum to
  nothing), its scores flipped with it. A component shaped like the edge then points up, and its
  Pearson r with a prediction of that edge is positive, the same on every machine.
* ``"nmf"``: non-negative parts whose sum rebuilds every pixel (phases or site types); negative
  counts (noise after a background subtraction) are clipped to 0 and the number is reported.
* ``"kmeans"``: pixels grouped by spectral shape; each cluster's spectrum is the mean of its pixels
  in the original units, its map is 1 on its pixels. With ``normalise`` (default for k-means) every
  pixel is scaled to unit area before clustering, so thickness changes do not split a phase.

``window`` restricts the channels used (e.g. one edge), the component spectra live on those channels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from amorpha.engine.errors import ParameterError, require
from amorpha.engine.spectra.spectrum import Spectrum
from amorpha.engine.tasks import check_cancel, report

METHODS = ("pca", "nmf", "kmeans")
#: Up to this many values (pixels × channels) the BLAS calls run on one thread: for small tables
#: thread start-up and contention cost far more than the arithmetic (64 × 2048 PCA on a busy
#: 2-core machine: 0.9 s threaded, 0.015 s on one thread).
SINGLE_THREAD_VALUES = 4_000_000


@dataclass(frozen=True)
class DecompositionParams:
    """``method`` one of :data:`METHODS`; ``n_components`` components or clusters; ``window``
    (low, high) eV or None for every channel; ``normalise`` each pixel to unit area first (None:
    only for k-means); ``seed`` for NMF's and k-means' random starts."""

    method: str = "pca"
    n_components: int = 3
    window: tuple[float, float] | None = None
    normalise: bool | None = None
    seed: int = 0


@dataclass(frozen=True, eq=False)
class Decomposition:
    """Component spectra ``(k, n_channels)`` on ``energy`` and their ``maps`` ``(*nav_shape, k)``.

    PCA: ``explained`` is each component's fraction of the variance and ``mean`` the spectrum the
    pixels were centred on. k-means: ``labels`` ``(*nav_shape)`` is each pixel's cluster.
    """

    method: str
    energy: np.ndarray
    components: np.ndarray
    maps: np.ndarray
    mean: np.ndarray
    explained: np.ndarray | None = None
    labels: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_components(self) -> int:
        return len(self.components)

    @property
    def nav_shape(self) -> tuple[int, ...]:
        return self.maps.shape[:-1]

    def name(self, k: int) -> str:
        """The component's name with its method's, so a curve left from another method is never
        taken for this one's ("k-means cluster 2", "NMF 1")."""
        return f"k-means cluster {k + 1}" if self.method == "kmeans" else f"{self.method.upper()} {k + 1}"

    def component(self, k: int) -> Spectrum:
        """Component ``k``'s spectrum (for k-means the mean spectrum of the cluster's pixels)."""
        require(0 <= k < self.n_components, "k", f"must be 0 to {self.n_components - 1}, got {k}")
        extra = f", {100 * self.explained[k]:.1f} % of the variance" if self.explained is not None else ""
        if self.labels is not None:
            extra = f", {int(np.sum(self.labels == k))} pixels"
        return Spectrum(self.energy, self.components[k].copy(), label=f"{self.name(k)}{extra}",
                        source=f"{self.method} decomposition")

    def on_counts(self, k: int, height: float) -> Spectrum:
        """Component ``k`` as it can be drawn beside counts whose largest value is ``height``, the
        label saying how: a k-means cluster's mean spectrum is in counts already; an NMF component
        times the mean of its map is what it adds to the mean pixel; a PCA loading is a unit
        vector (a flat line at 0 beside counts), drawn signed and scaled to ``height``."""
        spectrum = self.component(k)
        if self.method == "kmeans":
            return spectrum
        if self.method == "nmf":
            factor, how = float(np.mean(self.image(k))), "mean contribution to a pixel"
        else:
            peak = float(np.max(np.abs(spectrum.intensity)))
            factor = float(height) / peak if peak > 0 and height > 0 else 1.0
            how = f"loading ×{factor:.3g}, scaled to the counts"
        name, _, extra = spectrum.label.partition(", ")
        label = f"{name} ({how}{', ' + extra if extra else ''})"
        return Spectrum(spectrum.energy, factor * spectrum.intensity, label=label, source=spectrum.source,
                        meta={"factor": factor})

    def image(self, k: int) -> np.ndarray:
        """Component ``k``'s map over the pixels (nav shape)."""
        require(0 <= k < self.n_components, "k", f"must be 0 to {self.n_components - 1}, got {k}")
        return self.maps[..., k]

    def reconstruction(self) -> np.ndarray:
        """Every pixel rebuilt from the components, ``(*nav_shape, n_channels)`` (the fit the
        decomposition makes of the data; k-means: each pixel's cluster mean)."""
        flat = self.maps.reshape(-1, self.n_components) @ self.components
        if self.method == "pca":
            flat = flat + self.mean
        return flat.reshape(*self.nav_shape, len(self.energy))


def _pixels(data, window) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """(energy, pixels × channels, nav shape) of a line scan or map, within ``window``."""
    values = np.asarray(getattr(data, "data", None), dtype=np.float64)
    energy = np.asarray(getattr(data, "energy", None), dtype=np.float64)
    require(values.ndim >= 2, "data", "a decomposition needs a line scan or a spectrum image; "
            f"this is one spectrum ({values.shape})")
    require(energy.ndim == 1 and len(energy) == values.shape[-1], "data",
            f"{len(energy)} energies for {values.shape[-1]} channels")
    mask = np.ones(len(energy), dtype=bool)
    if window is not None:
        try:
            lo, hi = (float(v) for v in window)
        except (TypeError, ValueError):
            raise ParameterError("window", f"expected (low, high) in eV, got {window!r}") from None
        require(lo < hi, "window", f"low ({lo:g}) must be below high ({hi:g})")
        mask = (energy >= lo) & (energy <= hi)
        require(int(mask.sum()) >= 3, "window", f"({lo:g}, {hi:g}) eV holds {int(mask.sum())} channels of "
                f"{energy[0]:g}–{energy[-1]:g} eV; at least 3 are needed")
    nav = values.shape[:-1]
    return energy[mask], values.reshape(-1, values.shape[-1])[:, mask], nav


@dataclass(frozen=True)
class PreparedPixels:
    """Every pixel's spectrum after the same preparation steps, on their common energy axis."""

    energy: np.ndarray
    data: np.ndarray


def prepared_pixels(data, steps, progress=None, cancel=None) -> PreparedPixels:
    """The pixels of ``data`` (a SpectrumData) with ``steps`` (the Prepare tab's, made on their
    mean) replayed on each: a background fitted per pixel in the same window, the same shift.
    A decomposition of the raw counts sat on the power law, so its components compared with the
    predicted edge meant nothing (Pearson 0.04-0.48 on a DM4 map). Raises ParameterError naming
    the first pixel a step cannot be made on."""
    from .prepare import replay

    values = np.asarray(data.data, dtype=np.float64)
    nav = values.shape[:-1]
    flat = values.reshape(-1, values.shape[-1])
    out, energy = None, None
    for k, row in enumerate(flat):
        if k % 64 == 0:
            check_cancel(cancel)
            report(progress, k / len(flat), f"preparing pixel {k + 1} of {len(flat)}")
        try:
            spectrum = replay(Spectrum(data.energy, row), steps)
        except ParameterError as exc:
            pixel = tuple(int(i) for i in np.unravel_index(k, nav))
            raise ParameterError(exc.parameter, f"pixel {pixel}: {exc.reason}") from None
        if out is None:
            energy, out = spectrum.energy, np.empty((len(flat), len(spectrum.energy)))
        out[k] = spectrum.intensity
    return PreparedPixels(np.asarray(energy), out.reshape(*nav, -1))


def decompose(data, params: DecompositionParams = DecompositionParams(), progress=None,
              cancel=None) -> Decomposition:
    """Decompose the pixels of ``data`` (a SpectrumData or anything with ``energy`` and ``data``)."""
    require(params.method in METHODS, "method", f"must be one of {', '.join(METHODS)}, got {params.method!r}")
    energy, x, nav = _pixels(data, params.window)
    n_pixels, n_channels = x.shape
    k = params.n_components
    require(isinstance(k, (int, np.integer)) and 1 <= k <= min(n_pixels, n_channels), "n_components",
            f"must be 1 to {min(n_pixels, n_channels)} for {n_pixels} pixels × {n_channels} channels, got {k!r}")
    normalise = params.method == "kmeans" if params.normalise is None else bool(params.normalise)
    notes: list[str] = []
    fitted = x
    if normalise:
        area = np.abs(x).sum(axis=1, keepdims=True)
        require(bool(np.all(area > 0)), "data", "a pixel with no counts cannot be normalised to unit area")
        fitted = x / area
    check_cancel(cancel)
    report(progress, 0.1, f"{params.method.upper()} of {n_pixels} pixels × {n_channels} channels")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1 if x.size <= SINGLE_THREAD_VALUES else None):
        components, maps, mean, explained, labels = _fit(params, x, fitted, nav, notes)
    report(progress, 1.0, "done")
    return Decomposition(params.method, energy.copy(), np.asarray(components, dtype=np.float64),
                         np.asarray(maps, dtype=np.float64).reshape(*nav, int(k)), np.asarray(mean),
                         explained, labels, notes)


def _fit(params: DecompositionParams, x: np.ndarray, fitted: np.ndarray, nav: tuple, notes: list) -> tuple:
    """(components, maps over flat pixels, mean, explained, labels) by scikit-learn."""
    k, n_pixels = params.n_components, len(x)
    mean = fitted.mean(axis=0)
    explained = labels = None
    if params.method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=int(k), random_state=params.seed)
        scores = pca.fit_transform(fitted)
        components, maps = _signed(pca.components_, scores)
        mean, explained = pca.mean_, pca.explained_variance_ratio_
    elif params.method == "nmf":
        from sklearn.decomposition import NMF

        negative = int(np.sum(fitted < 0))
        if negative:
            notes.append(f"{negative} negative values clipped to 0 for NMF")
            fitted = np.clip(fitted, 0.0, None)
        nmf = NMF(n_components=int(k), init="nndsvda", max_iter=1000, random_state=params.seed)
        maps = nmf.fit_transform(fitted)
        components = nmf.components_
        order = np.argsort(-maps.sum(axis=0) * components.sum(axis=1))  # largest contribution first
        maps, components = maps[:, order], components[order]
    else:
        from sklearn.cluster import KMeans

        import warnings

        from sklearn.exceptions import ConvergenceWarning

        km = KMeans(n_clusters=int(k), n_init=10, random_state=params.seed)
        with warnings.catch_warnings():  # too few distinct pixels is reported below as a ParameterError
            warnings.simplefilter("ignore", ConvergenceWarning)
            flat_labels = km.fit_predict(fitted)
        sizes = np.bincount(flat_labels, minlength=k)
        require(bool(np.all(sizes > 0)), "n_components", f"only {int(np.sum(sizes > 0))} distinct "
                f"clusters among {n_pixels} pixels; ask for fewer")
        order = np.argsort(-sizes, kind="stable")  # cluster 1 is the largest
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        flat_labels = rank[flat_labels]
        components = np.array([x[flat_labels == j].mean(axis=0) for j in range(k)])
        maps = (flat_labels[:, None] == np.arange(k)[None, :]).astype(np.float64)
        labels = flat_labels.reshape(nav)
        mean = x.mean(axis=0)
    return components, maps, mean, explained, labels


def _signed(components: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PCA components and scores with the module's sign rule: each component's loadings sum to a
    positive number, or, when they sum to nothing, its largest loading is positive."""
    total = components.sum(axis=1)
    largest = components[np.arange(len(components)), np.argmax(np.abs(components), axis=1)]
    tiny = np.abs(total) <= 1e-9 * np.abs(components).sum(axis=1)
    signs = np.where(tiny, np.sign(largest), np.sign(total))
    signs[signs == 0] = 1.0
    return components * signs[:, None], scores * signs[None, :]


def compare_components(decomposition: Decomposition, predicted: Spectrum, window=None,
                       align_window=None) -> list[dict]:
    """Similarity (Pearson, cosine, R-factor) of each component spectrum with ``predicted``.

    With ``align_window`` the prediction is first aligned (energy shift and scale) onto each
    component over that window, so the numbers judge shape rather than calibration.
    """
    from amorpha.engine.spectra.compare import align, similarity

    rows = []
    for k in range(decomposition.n_components):
        spectrum = decomposition.component(k)
        if align_window is not None:
            shift, scale, _, sim = align(spectrum, predicted, align_window)
        else:
            shift, scale, sim = 0.0, 1.0, similarity(spectrum, predicted, window)
        rows.append({"component": decomposition.name(k), "pearson": sim["pearson"], "cosine": sim["cosine"],
                     "r_factor": sim["r_factor"], "shift_ev": shift, "energy_scale": scale})
    return rows

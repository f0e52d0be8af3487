"""Per-atom EMT energies of boundaries too large for the oracles: descriptors → energy, learnt.

Why this works, and why the descriptor is radial only: an EMT energy is an embedded-atom
functional, E_i = F(σ1_i) + ½ Σ_j V(r_ij) − ½ V_ref(σ1_i), with σ1_i a sum of radial functions of
the neighbour distances. Every term is then a function of the atom's radial neighbour density,
which ACSF's G1/G2 functions (Gaussians on evenly spaced centres R_s, one width η, cosine cutoff)
sample; a small neural network learns F. Angular (G4) terms add nothing EMT can see and cost
~20× more per atom.

Speed (10⁶ atoms well under a minute, ≥100× faster per atom than ASE's EMT): the structure is cut
into slabs along its third cell vector, each slab with a halo of one cutoff, so the neighbour list
of one slab is held at a time (a 10⁶-atom list at 5.4 Å would be 2 GB); with evenly spaced
centres, the Gaussians of one pair follow from two exponentials by multiplication,
exp(−η(r−R_{k+1})²) = exp(−η(r−R_k)²) · q_k, q_{k+1} = q_k · exp(−2ηΔ²). The features equal
:func:`amorpha.engine.descriptors.compute_acsf` (and so DScribe's ACSF) with the same settings.

Training data are small Cu bicrystals (:mod:`amorpha.engine.build.bicrystal`) of several CSL
boundaries and rigid-body translations, relaxed with ASE's EMT at fixed cell, taken unrelaxed,
half-way and relaxed (a polycrystal straight from the Voronoi builder is unrelaxed), plus
rattled and strained bulk. The excess energy of an atom is its energy minus EMT's energy per atom
of the perfect crystal at the builder's lattice constant; a boundary energy is the summed excess
over the boundary area.

Saved models follow :mod:`amorpha.engine.surrogate.model`: a zip of ``meta.json`` (descriptor
settings, element, reference energy, metrics, library versions) and a pickle of the fitted
scikit-learn objects, refitted from the stored training data when scikit-learn's version differs.
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from ase import Atoms
from numba import njit

from ..atomic import write_bytes_atomic
from ..build.bicrystal import BicrystalParams, build_bicrystal
from ..build.crystals import unit_cell
from ..descriptors import AcsfParams
from ..descriptors import settings as S
from ..errors import ReadError, require
from ..surrogate.model import ModelMismatchError  # one "does not fit the model" error for all
from ..tasks import CancelFn, ProgressFn, check_cancel, report, sub_progress

MODEL_FORMAT = "amorpha-atomic-energy-model"
MODEL_VERSION = 1
#: Elements ASE's EMT has parameters for (metals; its H, C, N, O are for adsorbates only).
EMT_ELEMENTS = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")
#: Most atoms (centres and halo) in one slab's neighbour list (~0.3 GB at 5.4 Å).
SLAB_ATOMS = 150_000
#: Atoms predicted per call of the network (bounds the memory of its hidden layers).
PREDICT_CHUNK = 200_000
#: 1 eV/Å² in J/m².
EV_PER_A2 = 16.021766339
#: Gaussian values below this (of at most 1) are dropped: 10⁻¹⁸ of a feature of order 1–50.
_NEGLIGIBLE = 1e-18
#: Forces (eV/Å) below which a training relaxation stops.
FMAX = 0.01


# --------------------------------------------------------------------------- descriptor


def radial_descriptor(species: Sequence[str] = ("Cu",), r_cut: float = 5.4, r_min: float = 1.7,
                      n_radial: int = 16, eta: Optional[float] = None) -> AcsfParams:
    """ACSF with G1 and ``n_radial`` G2 on centres spaced Δ = (r_cut − r_min)/n_radial from
    r_min; η = 4 ln 2/Δ² by default, so each Gaussian's width at half height is Δ.

    The defaults were measured on Cu: EMT's cutoff (4.8 Å, smooth to 5.3 Å) lies inside r_cut,
    and r_min = 1.7 Å resolves the close pairs of unrelaxed boundaries (2.0 Å doubled the error
    of a held-out boundary).
    """
    require(n_radial >= 2, "n_radial", f"at least 2 radial functions, got {n_radial}")
    step = (r_cut - r_min) / n_radial
    eta = 4.0 * math.log(2.0) / step**2 if eta is None else float(eta)
    centres = r_min + step * np.arange(n_radial)
    return AcsfParams(tuple(species), r_cut=float(r_cut),
                      g2_params=tuple((eta, float(c)) for c in centres))


def _even_g2(params: AcsfParams) -> tuple[float, float, float]:
    """(η, R_0, Δ) of G2 functions of one width on evenly spaced centres, else ParameterError."""
    require(not (params.g3_params or params.g4_params or params.g5_params), "descriptor",
            "the fast radial descriptor has G1 and G2 functions only (no G3, G4, G5)")
    table = np.array(params.g2_params, dtype=np.float64).reshape(-1, 2)
    require(len(table) >= 2, "descriptor", "give at least two G2 functions")
    eta, rs = table[:, 0], table[:, 1]
    step = float(rs[1] - rs[0])
    require(np.allclose(eta, eta[0], rtol=0, atol=1e-12 * max(eta[0], 1.0)), "descriptor",
            "all G2 functions need the same η for the fast radial descriptor")
    require(step > 0 and np.allclose(np.diff(rs), step, rtol=0, atol=1e-9), "descriptor",
            "G2 centres R_s must be evenly spaced and increasing for the fast radial descriptor")
    return float(eta[0]), float(rs[0]), step


@njit(nogil=True, cache=True)
def _radial_rows(centres, rows, indptr, indices, distances, types, r_cut, eta, r0, step,
                 n_g2, out):
    """G1 and G2 of atoms ``centres`` (of the slab) written to ``out[rows]`` (zeros on entry).

    Per pair: the Gaussian of the nearest centre k0, then its neighbours outwards, each from
    the last by a factor ≤ 1 (no overflow, and far ones fade to zero instead of underflowing
    from a tiny start); once a Gaussian is below :data:`_NEGLIGIBLE` the farther ones, smaller
    still, are left out.
    """
    per_species = 1 + n_g2
    ratio = math.exp(-2.0 * eta * step * step)
    for c in range(centres.shape[0]):
        i = centres[c]
        o = out[rows[c]]
        for p in range(indptr[i], indptr[i + 1]):
            r = distances[p]
            if r > r_cut:
                continue
            fc = 0.5 * (math.cos(math.pi * r / r_cut) + 1.0)
            base = types[indices[p]] * per_species + 1
            o[base - 1] += fc
            k0 = min(max(int(math.floor((r - r0) / step + 0.5)), 0), n_g2 - 1)
            d = r - (r0 + k0 * step)
            g0 = math.exp(-eta * d * d) * fc
            o[base + k0] += g0
            g = g0
            q = math.exp(eta * step * (2.0 * d - step))
            for k in range(k0 + 1, n_g2):
                g *= q
                q *= ratio
                if g < _NEGLIGIBLE:
                    break
                o[base + k] += g
            g = g0
            q = math.exp(-eta * step * (2.0 * d + step))
            for k in range(k0 - 1, -1, -1):
                g *= q
                q *= ratio
                if g < _NEGLIGIBLE:
                    break
                o[base + k] += g


def _slabs(atoms: Atoms, cutoff: float, max_atoms: int):
    """(slab atoms, each slab atom's index in ``atoms``, centres' indices in the slab) per slab.

    Slabs cut the third cell vector's fractional coordinate of a periodic cell into equal
    ranges; each carries the atoms within ``cutoff`` below and above it (halo), moved by whole
    cell vectors so the slab is contiguous and periodic only along the first two vectors.
    A structure that is small, not periodic along all three vectors, or too thin for a halo
    on both sides of a slab is one slab.
    """
    n = len(atoms)
    n_slabs = math.ceil(n / max_atoms) if n else 1
    cell = np.asarray(atoms.cell.array, dtype=np.float64)
    if n_slabs > 1 and bool(np.all(atoms.pbc)) and abs(np.linalg.det(cell)) > 1e-9:
        height = abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[0], cell[1]))
        halo = cutoff * (1.0 + 1e-9) / height
        # Halos add 2·halo of each slab's width: grow the count to keep slabs near max_atoms.
        n_slabs = max(1, min(math.ceil(n_slabs * (1.0 + 2.0 * halo * n_slabs)),
                             int((1.0 - 1e-9) / (4.0 * halo))))
    if n_slabs <= 1:
        everything = np.arange(n, dtype=np.int64)
        yield atoms, everything, everything
        return
    frac = np.linalg.solve(cell.T, atoms.positions.T)[2]
    width = 1.0 / n_slabs
    for s in range(n_slabs):
        lo = s * width
        g = np.mod(frac - lo + halo, 1.0)  # position in the slab + its lower halo
        members = np.flatnonzero(g < width + 2.0 * halo)
        shift = np.round((lo - halo + g[members]) - frac[members])
        positions = atoms.positions[members] + shift[:, None] * cell[2]
        slab = Atoms(numbers=atoms.numbers[members], positions=positions, cell=cell,
                     pbc=(True, True, False))
        inner = (g[members] >= halo) & (g[members] < halo + width)
        yield slab, members.astype(np.int64), np.flatnonzero(inner).astype(np.int64)


def radial_features(atoms: Atoms, params: AcsfParams, progress: Optional[ProgressFn] = None,
                    cancel: Optional[CancelFn] = None) -> np.ndarray:
    """ACSF G1/G2 of every atom (``compute_acsf``'s columns), by slabs: (n_atoms, n_features)."""
    params.validate()
    eta, r0, step = _even_g2(params)
    species_z = S.check_species(params.species)
    types = S.atom_types(atoms, species_z)
    view = S.search_view(atoms, bool(params.periodic))
    out = np.zeros((len(atoms), params.n_features))
    r_cut = float(params.r_cut)
    done = 0
    for slab, members, centres in _slabs(view, r_cut, SLAB_ATOMS):
        check_cancel(cancel)
        n = max(len(atoms), 1)
        span = sub_progress(progress, done / n, (done + len(centres)) / n)
        # A hair beyond r_cut, as compute_acsf: a neighbour exactly at r_cut (f_c = 0) is harmless.
        nl = S.neighbours(slab, r_cut * (1.0 + 1e-12), progress=sub_progress(span, 0.0, 0.8),
                          cancel=cancel)
        _radial_rows(centres, members[centres], nl.indptr, nl.indices, nl.distances,
                     types[members], r_cut, eta, r0, step, len(params.g2_params), out)
        del nl
        done += len(centres)
        report(span, 1.0, "radial descriptor")
    return out


# --------------------------------------------------------------------------- EMT reference data


@dataclass(frozen=True)
class Boundary:
    """A symmetric tilt boundary of the training or test set."""

    sigma: int
    axis: tuple[int, int, int]
    plane: tuple[int, int, int]

    @property
    def label(self) -> str:
        from ..build.csl import format_indices

        return f"Σ{self.sigma}{format_indices(self.plane)}{format_indices(self.axis, '[]')}"


#: Boundaries the default model learns from: [001], [110] and [111] tilts.
TRAIN_BOUNDARIES = (
    Boundary(5, (0, 0, 1), (3, 1, 0)), Boundary(13, (0, 0, 1), (5, 1, 0)),
    Boundary(13, (0, 0, 1), (3, 2, 0)), Boundary(17, (0, 0, 1), (4, 1, 0)),
    Boundary(17, (0, 0, 1), (5, 3, 0)), Boundary(3, (1, 1, 0), (1, -1, 2)),
    Boundary(3, (1, 1, 0), (1, -1, 1)), Boundary(9, (1, 1, 0), (1, -1, 4)),
    Boundary(11, (1, 1, 0), (3, -3, 2)), Boundary(7, (1, 1, 1), (3, -1, -2)),
)
#: Boundaries it never sees, for its test: Kiyohara's Σ5(210) and a [110] boundary.
TEST_BOUNDARIES = (Boundary(5, (0, 0, 1), (2, 1, 0)), Boundary(11, (1, 1, 0), (1, -1, 3)))


def check_emt_element(element: str) -> str:
    """``element`` if ASE's EMT has parameters for it as a metal, else ParameterError."""
    require(element in EMT_ELEMENTS, "element",
            f"ASE's EMT has no parameters for {element!r} as a metal; choose one of "
            + ", ".join(EMT_ELEMENTS))
    return element


def emt_bulk_energy(element: str = "Cu") -> float:
    """EMT energy per atom (eV) of the perfect crystal at the builders' lattice constant."""
    from ase.calculators.emt import EMT

    cell = unit_cell(check_emt_element(element)).repeat(2)
    cell.calc = EMT()
    return float(cell.get_potential_energy()) / len(cell)


def relax_emt(atoms: Atoms, fmax: float = FMAX, steps: int = 400, snapshots: int = 3,
              cancel: Optional[CancelFn] = None) -> list[Atoms]:
    """Relax positions (fixed cell) with ASE's EMT; ``snapshots`` frames from start to end.

    Each frame carries its per-atom EMT energies as ``arrays["emt_energy"]`` (eV), and
    ``info["relaxed"]`` (True for the last).
    """
    from ase.calculators.emt import EMT
    from ase.optimize import FIRE

    work = atoms.copy()
    work.calc = EMT()
    frames = [work.copy()]
    optimizer = FIRE(work, logfile=None)
    for _ in optimizer.irun(fmax=fmax, steps=steps):
        check_cancel(cancel)
        frames.append(work.copy())
    picks = np.unique(np.linspace(0, len(frames) - 1, max(snapshots, 1)).round().astype(int))
    out = []
    for k in picks:
        frame = frames[k]
        frame.calc = EMT()
        frame.arrays["emt_energy"] = frame.get_potential_energies()
        frame.calc = None
        frame.info["relaxed"] = bool(k == len(frames) - 1)
        out.append(frame)
    return out


def bicrystal_frames(boundary: Boundary, element: str = "Cu", translations: int = 3,
                     thickness: float = 9.0, seed: int = 0, snapshots: int = 3,
                     cancel: Optional[CancelFn] = None) -> list[Atoms]:
    """EMT-relaxed frames of a bicrystal at the CSL registry and ``translations − 1`` random
    rigid-body translations (in-plane over one period, up to 0.5 Å apart along the normal)."""
    rng = np.random.default_rng([seed, boundary.sigma, *(abs(h) for h in boundary.plane)])
    frames = []
    for k in range(translations):
        params = BicrystalParams(element, axis=boundary.axis, sigma=boundary.sigma,
                                 plane=boundary.plane, bulk_thickness=thickness)
        if k:
            cell = build_bicrystal(params).cell.lengths()
            shift = (rng.random() * cell[0], rng.random() * cell[1], 0.5 * rng.random())
            params = BicrystalParams(element, axis=boundary.axis, sigma=boundary.sigma,
                                     plane=boundary.plane, bulk_thickness=thickness,
                                     translation=shift)
        for frame in relax_emt(build_bicrystal(params), snapshots=snapshots, cancel=cancel):
            frame.info["boundary"] = boundary.label
            frames.append(frame)
    return frames


def bulk_frames(element: str = "Cu", seed: int = 0) -> list[Atoms]:
    """Perfect, rattled (0.03–0.15 Å) and strained (±3 %, shear) bulk with EMT energies."""
    from ase.calculators.emt import EMT

    rng = np.random.default_rng(seed)
    base = unit_cell(check_emt_element(element)).repeat(3)
    frames = []
    for rattle in (0.0, 0.03, 0.08, 0.15):
        for strain in (0.0, -0.03, 0.03, "shear"):
            atoms = base.copy()
            if strain == "shear":
                eps = np.eye(3) + 0.03 * (np.ones((3, 3)) - np.eye(3)) * rng.choice([-1, 1])
            else:
                eps = np.eye(3) * (1.0 + strain)
            atoms.set_cell(atoms.cell.array @ eps, scale_atoms=True)
            atoms.positions += rng.normal(0.0, rattle, atoms.positions.shape)
            atoms.calc = EMT()
            atoms.arrays["emt_energy"] = atoms.get_potential_energies()
            atoms.calc = None
            atoms.info["boundary"] = "bulk"
            frames.append(atoms)
    return frames


def frames_for(boundaries: Sequence[Boundary], element: str = "Cu", translations: int = 3,
               seed: int = 0, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None) -> list[Atoms]:
    """:func:`bicrystal_frames` of each boundary in turn, with progress."""
    frames = []
    for k, boundary in enumerate(boundaries):
        report(progress, k / max(len(boundaries), 1), f"EMT relaxation of {boundary.label}")
        frames += bicrystal_frames(boundary, element, translations, seed=seed, cancel=cancel)
    report(progress, 1.0, "EMT reference data")
    return frames


# --------------------------------------------------------------------------- the model


@dataclass
class AtomicEnergyModel:
    """Radial ACSF → per-atom EMT energy (eV) by a small neural network (scikit-learn MLP).

    ``e_bulk`` is EMT's energy per atom of the perfect crystal, the zero of excess energies.
    """

    descriptor: dict = field(default_factory=lambda: radial_descriptor().to_dict())
    element: str = "Cu"
    e_bulk: float = 0.0
    hidden: tuple[int, ...] = (16, 16)
    alpha: float = 1e-6
    seed: int = 0
    metrics: dict = field(default_factory=dict)
    _fitted: Optional[dict] = field(default=None, repr=False)
    _training: Optional[tuple[np.ndarray, np.ndarray]] = field(default=None, repr=False)

    @property
    def params(self) -> AcsfParams:
        return AcsfParams.from_dict(self.descriptor)

    @property
    def n_train(self) -> int:
        return 0 if self._training is None else len(self._training[1])

    # -- training ---------------------------------------------------------------------------
    def features(self, atoms: Atoms, progress: Optional[ProgressFn] = None,
                 cancel: Optional[CancelFn] = None) -> np.ndarray:
        """The model's descriptor of every atom; ModelMismatchError for foreign elements."""
        other = sorted(set(atoms.get_chemical_symbols()) - {self.element})
        if other:
            raise ModelMismatchError(
                f"this model predicts EMT energies of pure {self.element}; the structure also "
                f"has {', '.join(other)}")
        return radial_features(atoms, self.params, progress=progress, cancel=cancel)

    def fit(self, frames: Sequence[Atoms], progress: Optional[ProgressFn] = None,
            cancel: Optional[CancelFn] = None) -> "AtomicEnergyModel":
        """Learn from structures carrying per-atom ``arrays["emt_energy"]`` (eV)."""
        require(len(frames) > 0 and all("emt_energy" in f.arrays for f in frames), "frames",
                "give structures with per-atom EMT energies (arrays['emt_energy'])")
        x = np.vstack([self.features(f, cancel=cancel) for f in frames])
        y = np.concatenate([np.asarray(f.arrays["emt_energy"], dtype=np.float64) for f in frames])
        report(progress, 0.1, f"fitting {len(y)} atomic energies")
        self._fit(x, y)
        report(progress, 1.0, "fitted")
        return self

    def _fit(self, x: np.ndarray, y: np.ndarray) -> None:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor
        from sklearn.preprocessing import StandardScaler

        require(len(x) >= 10 and np.all(np.isfinite(x)) and np.all(np.isfinite(y)), "training data",
                "at least ten atoms with finite features and energies")
        scaler = StandardScaler().fit(x)
        # Tight tolerance: the default stops at ~10 meV/atom, far above what the data allow.
        network = MLPRegressor(hidden_layer_sizes=tuple(self.hidden), activation="tanh",
                               alpha=self.alpha, max_iter=2000, tol=1e-9, n_iter_no_change=50,
                               random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            network.fit(scaler.transform(x), y)
        self._fitted = {"scaler": scaler, "network": network, "n_features": x.shape[1]}
        self._training = (x, y)

    # -- prediction -------------------------------------------------------------------------
    def predict_features(self, x: np.ndarray) -> np.ndarray:
        """Per-atom energies (eV) of descriptor rows ``x``."""
        if self._fitted is None:
            raise ModelMismatchError("the model has not been trained")
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self._fitted["n_features"]:
            raise ModelMismatchError(f"{x.shape[1]} features per atom, the model was trained on "
                                     f"{self._fitted['n_features']}")
        out = np.empty(len(x))
        for lo in range(0, len(x), PREDICT_CHUNK):
            hi = min(lo + PREDICT_CHUNK, len(x))
            out[lo:hi] = self._fitted["network"].predict(self._fitted["scaler"].transform(x[lo:hi]))
        return out

    def predict(self, atoms: Atoms, progress: Optional[ProgressFn] = None,
                cancel: Optional[CancelFn] = None) -> np.ndarray:
        """Per-atom EMT energies (eV) of every atom of ``atoms``."""
        if self._fitted is None:
            raise ModelMismatchError("the model has not been trained")
        x = self.features(atoms, progress=sub_progress(progress, 0.0, 0.9), cancel=cancel)
        check_cancel(cancel)
        energies = self.predict_features(x)
        report(progress, 1.0, "atomic energies predicted")
        return energies

    def excess(self, atoms: Atoms, progress: Optional[ProgressFn] = None,
               cancel: Optional[CancelFn] = None) -> np.ndarray:
        """Per-atom energy above the perfect crystal's (eV/atom)."""
        return self.predict(atoms, progress, cancel) - self.e_bulk

    # -- files ------------------------------------------------------------------------------
    def meta(self) -> dict:
        import sklearn

        from ... import engine

        return {
            "format": MODEL_FORMAT, "version": MODEL_VERSION, "descriptor": self.descriptor,
            "element": self.element, "e_bulk": self.e_bulk, "hidden": list(self.hidden),
            "alpha": self.alpha, "seed": self.seed, "metrics": self.metrics,
            "n_train": self.n_train, "sklearn": sklearn.__version__,
            "amorpha": getattr(engine, "__version__", ""),
        }

    def save(self, path) -> None:
        """Write atomically (a crash while saving leaves the previous file as it was)."""
        require(self._fitted is not None, "model", "train the model before saving it")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("meta.json", json.dumps(self.meta(), indent=1, ensure_ascii=False))
            zf.writestr("model.pkl", pickle.dumps(self._fitted, protocol=pickle.HIGHEST_PROTOCOL))
            arrays = io.BytesIO()
            np.savez_compressed(arrays, x=self._training[0].astype(np.float32),
                                y=self._training[1])
            zf.writestr("training.npz", arrays.getvalue())
        write_bytes_atomic(os.fspath(path), buffer.getvalue())

    @classmethod
    def load(cls, path) -> "AtomicEnergyModel":
        """Read a saved model; ReadError with the reason if the file is not one or is damaged."""
        import sklearn

        path = os.fspath(path)
        try:
            with zipfile.ZipFile(path) as zf:
                meta = json.loads(zf.read("meta.json"))
                fitted = zf.read("model.pkl")
                with np.load(io.BytesIO(zf.read("training.npz"))) as arrays:
                    x, y = arrays["x"].astype(np.float64), arrays["y"]
        except FileNotFoundError as exc:
            raise ReadError(path, None, "no such file") from exc
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError, ValueError) as exc:
            raise ReadError(path, None, f"not an Amorpha atomic-energy model ({exc})") from exc
        if meta.get("format") != MODEL_FORMAT:
            raise ReadError(path, None, f"not an Amorpha atomic-energy model (format "
                                        f"{meta.get('format')!r})")
        if int(meta.get("version", 0)) > MODEL_VERSION:
            raise ReadError(path, None, f"made by a newer Amorpha (model version "
                                        f"{meta['version']}, this one reads up to {MODEL_VERSION})")
        try:
            params = AcsfParams.from_dict(meta["descriptor"])
            params.validate()
            _even_g2(params)
            model = cls(meta["descriptor"], check_emt_element(meta["element"]),
                        float(meta["e_bulk"]), tuple(meta["hidden"]), float(meta["alpha"]),
                        int(meta["seed"]), dict(meta.get("metrics", {})))
            require(x.ndim == 2 and x.shape == (len(y), params.n_features), "training data",
                    f"{params.n_features} features per atom as the descriptor settings give")
            if meta.get("sklearn") == sklearn.__version__:
                model._fitted = pickle.loads(fitted)
                model._training = (x, y)
            else:  # another scikit-learn: its pickles may not load or may behave differently
                model._fit(x, y)
        except (KeyError, TypeError, ValueError, pickle.UnpicklingError, AttributeError,
                ImportError) as exc:
            raise ReadError(path, None, f"the model file is damaged ({exc})") from exc
        return model


# --------------------------------------------------------------------------- helpers


def boundary_energy(excess: np.ndarray, area: float, n_boundaries: int = 2) -> float:
    """γ (J/m²) from per-atom excess energies (eV) of a cell holding ``n_boundaries`` of
    ``area`` (Å²) each: γ = Σ excess / (n·A)."""
    require(area > 0 and n_boundaries >= 1, "area", "a positive boundary area and count")
    return float(np.sum(excess)) / (n_boundaries * area) * EV_PER_A2


def evaluate(model: AtomicEnergyModel, frames: Sequence[Atoms]) -> dict:
    """MAE (meV/atom) against ``arrays["emt_energy"]`` over all atoms and over boundary atoms
    (excess > 20 meV), and the γ of each relaxed frame, EMT against predicted (J/m²)."""
    truth, predicted, gammas = [], [], []
    for frame in frames:
        e = np.asarray(frame.arrays["emt_energy"])
        p = model.predict(frame)
        truth.append(e)
        predicted.append(p)
        area = float(frame.info.get("boundary_area", 0.0))
        if area > 0:
            gammas.append({"boundary": frame.info.get("boundary", ""),
                           "emt": boundary_energy(e - model.e_bulk, area),
                           "predicted": boundary_energy(p - model.e_bulk, area)})
    truth, predicted = np.concatenate(truth), np.concatenate(predicted)
    error = np.abs(predicted - truth)
    boundary = truth - model.e_bulk > 0.02
    return {"mae_mev": 1e3 * float(error.mean()), "max_error_mev": 1e3 * float(error.max()),
            "boundary_mae_mev": 1e3 * float(error[boundary].mean()) if boundary.any() else 0.0,
            "atoms": int(len(truth)), "gamma": gammas}


def train_default_model(element: str = "Cu", train: Sequence[Boundary] = TRAIN_BOUNDARIES,
                        test: Sequence[Boundary] = TEST_BOUNDARIES, translations: int = 3,
                        seed: int = 0, progress: Optional[ProgressFn] = None,
                        cancel: Optional[CancelFn] = None) -> AtomicEnergyModel:
    """EMT data of ``train`` boundaries and bulk → a fitted model, tested on the relaxed frames
    of the ``test`` boundaries (metrics in ``model.metrics``). About a minute and a half."""
    check_emt_element(element)
    frames = frames_for(train, element, translations, seed, sub_progress(progress, 0.0, 0.6), cancel)
    frames += bulk_frames(element, seed)
    held_out = frames_for(test, element, translations, seed + 1, sub_progress(progress, 0.6, 0.75),
                          cancel)
    model = AtomicEnergyModel(radial_descriptor((element,)).to_dict(), element, emt_bulk_energy(element),
                              seed=seed)
    model.fit(frames, sub_progress(progress, 0.75, 0.95), cancel)
    relaxed = [f for f in held_out if f.info.get("relaxed")]
    model.metrics = {"train_boundaries": [b.label for b in train],
                     "test_boundaries": [b.label for b in test],
                     "test_relaxed": evaluate(model, relaxed),
                     "test_all_frames": {k: v for k, v in evaluate(model, held_out).items()
                                         if k != "gamma"}}
    report(progress, 1.0, "model trained")
    return model


DEFAULT_MODEL = "Cu-EMT-atomic-energy.aemodel"


def default_model_path():
    from amorpha.resources import path

    return path("models") / DEFAULT_MODEL


_default_models: dict = {}


def default_model() -> AtomicEnergyModel:
    """The shipped Cu model (``make models``), loaded once."""
    key = str(default_model_path())
    if key not in _default_models:
        _default_models[key] = AtomicEnergyModel.load(key)
    return _default_models[key]


def gb_energy_per_atom(atoms: Atoms, model: Optional[AtomicEnergyModel] = None,
                       progress: Optional[ProgressFn] = None,
                       cancel: Optional[CancelFn] = None) -> np.ndarray:
    """Per-atom excess energy over the perfect crystal (eV/atom), by ``model`` (the shipped Cu
    model if None): ≈ 0 inside grains, positive at boundaries and defects."""
    return (model or default_model()).excess(atoms, progress, cancel)

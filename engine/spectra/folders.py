"""Folders of computed site spectra with their structures, as training sets come.

Four layouts are recognised, tried in this order:

* **XANESNET**: ``xyz_<split>/name.xyz`` beside ``xanes_<split>/name.txt`` (``xyz``/``xanes``
  without a split also works). The absorber is atom 0, the split is ``<split>`` ("train", "test").
  Only the first frame of each xyz is read, as XANESNET's own loader does: its files often repeat
  the absorber's line after the last atom, which the structure reader ignores with a warning.
* **FEFF**: any folder below holding ``feff.inp`` and ``xmu.dat`` is one site (see
  :func:`~amorpha.engine.spectra.feff.read_feff_site`; the mp-*/FEFF-XANES/NNN_El layout ties it
  to the POSCAR above).
* **CASTEP**: any folder below holding OptaDOS's ``seed_core_edge.dat`` beside ``seed-out.cell``
  (the geometry CASTEP ended on) or ``seed.cell``: every site block of the file is one record (see
  :mod:`~amorpha.engine.spectra.castep`), but where a file has blocks of a labelled species
  (``Si:exc``, the core-hole atom) the plain atoms' blocks of that element and edge are left out
  (:func:`~amorpha.engine.spectra.castep.core_hole_sites`). A run writes every edge of its atoms,
  so such a folder holds several kinds: training takes one (:meth:`SpectrumFolder.one_kind`).
* **Pairs**: a structure ``name.xyz|.extxyz|.cif|.vasp|.poscar`` (or ``POSCAR``/``CONTCAR``) with a
  spectrum ``name.txt|.csv|.dat`` (``POSCAR.txt`` for a POSCAR) in the same folder, or several
  spectra ``name.site<N>.txt`` for sites N of one structure. Without ``site<N>`` the absorber is
  the extxyz ``absorber=`` key, else atom 0. Folders named train/test/val(idation) directly under
  the root give the split; anything else has split "".

A broken file does not sink the set: the pair is skipped and its :class:`ReadError` kept in
``SpectrumFolder.problems`` (a user with 100 pairs and one bad file wants the 99 and a message
naming the bad one); files without a partner are reported the same way. ``strict=True`` raises the
first problem instead; a folder with nothing readable always raises.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from ase import Atoms

from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.io import StructureReadError, read_structure
from amorpha.engine.spectra.castep import (CORE_SUFFIX, castep_sites, cell_of, core_hole_sites, core_seed,
                                           labelled)
from amorpha.engine.spectra.columns import read_columns
from amorpha.engine.spectra.feff import read_feff_site
from amorpha.engine.spectra.spectrum import SiteSpectra, Spectrum, SpectrumError, kind_of
from amorpha.engine.tasks import CancelFn, ProgressFn, check_cancel, chunked, report

STRUCTURE_EXTENSIONS = (".xyz", ".extxyz", ".cif", ".vasp", ".poscar")
SPECTRUM_EXTENSIONS = (".txt", ".csv", ".dat")
SPLIT_NAMES = ("train", "test", "val", "valid", "validation")
_SITE_SUFFIX = re.compile(r"^(?P<stem>.+)\.site(?P<site>\d+)$")


@dataclass
class SiteRecord:
    """One site spectrum with its structure: ``atoms[absorber]`` is the absorbing atom."""

    atoms: Atoms
    absorber: int
    spectrum: Spectrum
    split: str = ""
    name: str = ""


@dataclass
class SpectrumFolder:
    """The records of a spectrum folder, the layout found, and what could not be read."""

    path: str
    layout: str  # "xanesnet", "feff", "castep" or "pairs"
    records: list[SiteRecord]
    problems: list[ReadError] = field(default_factory=list)
    #: how the edge was found when no file named it (:func:`infer_edge`), else ""
    edge_note: str = ""

    def __len__(self) -> int:
        return len(self.records)

    @property
    def warnings(self) -> list[str]:
        """One sentence per skipped file, naming it from the folder."""
        return [p.named_from(self.path) for p in self.problems]

    @property
    def splits(self) -> dict[str, int]:
        """Number of records per split, in the order they were read."""
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record.split] = counts.get(record.split, 0) + 1
        return counts

    def subset(self, split: str) -> list[SiteRecord]:
        return [r for r in self.records if r.split == split]

    @property
    def kinds(self) -> dict[str, int]:
        """Sites per element and edge ("Si K": 12), in the order read."""
        counts: dict[str, int] = {}
        for record in self.records:
            kind = kind_of(record.spectrum)
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    @property
    def likely_kind(self) -> str:
        """The kind to offer first: that of the first core-hole (labelled) CASTEP block, the
        edge the runs were made for (NaGe's Ge K before the Na K written first), else the first."""
        kinds = list(self.kinds)
        return next((kind_of(r.spectrum) for r in self.records if labelled(r.spectrum)), kinds[0])

    def one_kind(self, kind: Optional[str] = None) -> "SpectrumFolder":
        """The folder with the records of ``kind`` ("Si K") only; itself when it holds one kind.
        Raises :class:`SeveralEdgesError` when it holds several and no ``kind`` is given, and
        :class:`ParameterError` for a kind it does not hold."""
        kinds = self.kinds
        if kind is None:
            if len(kinds) > 1:
                raise SeveralEdgesError(self)
            return self
        if kind not in kinds:
            raise ParameterError("edge", f"{kind}: the folder holds {', '.join(kinds)}")
        return replace(self, records=[r for r in self.records if kind_of(r.spectrum) == kind])

    @property
    def structures(self) -> list[Atoms]:
        """The distinct structures, in the order ``site_spectra(...).structures`` indexes them."""
        return unique_structures(self.records)[0]

    def site_spectra(self, split: Optional[str] = None, grid=None) -> SiteSpectra:
        """The records' spectra (one split, or all) on one grid: see :func:`site_spectra`."""
        return site_spectra(self.records if split is None else self.subset(split), grid)


class SeveralEdgesError(ParameterError):
    """A folder holds spectra of several elements or edges and a model learns one: ``folder``
    (read already) and its ``kinds`` let the caller ask which."""

    def __init__(self, folder: SpectrumFolder):
        self.folder = folder
        listing = ", ".join(f"{k} ({n} site{'s' * (n != 1)})" for k, n in folder.kinds.items())
        super().__init__("edge", f"the folder holds {listing}; a model learns one edge: choose one")

    def __reduce__(self):
        return (type(self), (self.folder,))


# ----------------------------------------------------------------------------- one grid

def unique_structures(records: list[SiteRecord]) -> tuple[list[Atoms], np.ndarray]:
    """Distinct structures (the same Atoms object counts once) and each record's index into them."""
    seen: dict[int, int] = {}
    structures: list[Atoms] = []
    index = []
    for record in records:
        key = id(record.atoms)
        if key not in seen:
            seen[key] = len(structures)
            structures.append(record.atoms)
        index.append(seen[key])
    return structures, np.asarray(index, dtype=np.int64)


def common_grid(spectra: list[Spectrum]) -> np.ndarray:
    """The grid the spectra share: theirs if identical, else a uniform grid over their overlap.

    Identical grids (XANESNET) are kept as they are: no interpolation, no change. Otherwise
    (FEFF: each site has its own non-uniform grid, shifted by its edge) we interpolate only over
    the energies every spectrum covers. Zero-filling or extrapolating outside a spectrum's range
    would invent edges and tails that a surrogate would then learn. The step is the finest median
    step of the inputs, so no spectrum loses resolution.
    """
    if not spectra:
        raise SpectrumError("site spectra: no spectra given")
    first = spectra[0].energy
    if all(len(s.energy) == len(first) and np.array_equal(s.energy, first) for s in spectra):
        return np.asarray(first, dtype=np.float64)
    lo = max(float(s.energy[0]) for s in spectra)
    hi = min(float(s.energy[-1]) for s in spectra)
    if hi <= lo:
        low = max(spectra, key=lambda s: s.energy[0])
        high = min(spectra, key=lambda s: s.energy[-1])
        raise SpectrumError(
            f"site spectra: no common energy range: {low.label or 'one spectrum'} starts at "
            f"{lo:g} eV, {high.label or 'another'} ends at {hi:g} eV")
    step = min(float(np.median(np.diff(s.energy))) for s in spectra)
    return np.linspace(lo, hi, max(2, int(round((hi - lo) / step)) + 1))


def site_spectra(records: list[SiteRecord], grid=None) -> SiteSpectra:
    """Records' spectra on one grid (``grid``, else :func:`common_grid`) as :class:`SiteSpectra`.

    Rows keep each record's absorber as the site and, in ``structures``, the index of its
    structure in :func:`unique_structures`. All records must share element and edge: mixing
    Cu K with S K in one training set is always a mistake.
    """
    if not records:
        raise SpectrumError("site spectra: no records given")
    kinds = {kind_of(r.spectrum) for r in records}
    if len(kinds) > 1:
        raise SpectrumError(f"site spectra: the records mix {', '.join(sorted(kinds))} spectra")
    spectra = [replace(r.spectrum, site=r.absorber, label=r.name or r.spectrum.label) for r in records]
    grid = common_grid(spectra) if grid is None else np.asarray(grid, dtype=np.float64)
    out = SiteSpectra.from_spectra(spectra, grid)
    out.structures = unique_structures(records)[1]
    return out


# ----------------------------------------------------------------------------- reading

# A job reads one file's records (most files hold one site); it raises ReadError naming its file.
_Job = Callable[[], list[SiteRecord]]


def read_spectrum_folder(path: "os.PathLike[str] | str", *, edge: str = "", strict: bool = False,
                         progress: Optional[ProgressFn] = None,
                         cancel: Optional[CancelFn] = None) -> SpectrumFolder:
    """Read a folder of site spectra and their structures (layouts in the module docstring).

    ``edge`` fills in the edge where the files do not say it (XANESNET and pairs: their text
    spectra carry no edge). Unreadable pairs are skipped and listed in ``problems``; with
    ``strict=True`` the first one is raised. Raises :class:`ReadError` for a folder with no
    recognisable layout or nothing readable, :class:`~amorpha.engine.tasks.Cancelled` on cancel.
    """
    root = Path(path)
    if not root.is_dir():
        raise ReadError(root, None, "not a folder" if root.exists() else "no such folder")
    report(progress, 0.0, f"looking into {root.name}")
    for layout, find in (("xanesnet", _xanesnet_jobs), ("feff", _feff_jobs), ("castep", _castep_jobs),
                         ("pairs", _pair_jobs)):
        problems: list[ReadError] = []  # only the layout found reports its unpaired files
        jobs = find(root, problems, edge)
        if jobs:
            break
    else:
        raise ReadError(root, None, "no site spectra found: expected xyz_*/ and xanes_*/ folders "
                                    "(XANESNET), folders with feff.inp and xmu.dat (FEFF), "
                                    "seed_core_edge.dat beside seed.cell (CASTEP/OptaDOS), or "
                                    "structure files with a spectrum of the same name")
    if strict and problems:
        raise problems[0]
    records: list[SiteRecord] = []
    for start, stop in chunked(len(jobs), max(1, len(jobs) // 50), progress, cancel,
                               f"reading {layout} spectra"):
        for job in jobs[start:stop]:
            check_cancel(cancel)  # a CASTEP run takes 0.1 s to read: a chunk of them is too long to wait
            try:
                records.extend(job())
            except ReadError as exc:
                if strict:
                    raise
                problems.append(exc)
    if not records:
        raise ReadError(root, None, f"no spectrum file could be read ({len(jobs)} tried); first "
                                    f"problem: {problems[0].named_from(root)}")
    records = leave_out_outlying_ranges(records, root, problems)
    records, note = infer_edge(records)
    return SpectrumFolder(os.fspath(root), layout, records, problems, note)


#: the share of the spectra's typical energy range that all of one kind must cover together: a
#: model learns on their common range (:func:`common_grid`), and one spectrum 40 eV up cut 50 eV
#: windows to the 10 eV they shared
MIN_SHARED_RANGE = 0.5


def leave_out_outlying_ranges(records: list[SiteRecord], root, problems: list) -> list[SiteRecord]:
    """``records`` without those whose energies leave the common range of their kind (element
    and edge) below :data:`MIN_SHARED_RANGE` of the typical range: each left out is named in
    ``problems``. Raises :class:`ReadError` when the rest still share too little (the spectra
    are on different scales: no majority to keep)."""
    dropped: set[int] = set()
    for kind in dict.fromkeys(kind_of(r.spectrum) for r in records):
        mine = [r for r in records if kind_of(r.spectrum) == kind]
        lo = np.array([float(r.spectrum.energy[0]) for r in mine])
        hi = np.array([float(r.spectrum.energy[-1]) for r in mine])
        typical_lo, typical_hi = float(np.median(lo)), float(np.median(hi))
        least = MIN_SHARED_RANGE * (typical_hi - typical_lo)
        shared = max(hi.min() - lo.max(), 0.0)
        if shared >= least:
            continue
        inside = np.minimum(hi, typical_hi) - np.maximum(lo, typical_lo) >= least
        if not inside.any() or hi[inside].min() - lo[inside].max() < least:
            raise ReadError(root, None, f"its {kind.removesuffix(' ?')} spectra share {shared:g} eV of their typical "
                                        f"{typical_hi - typical_lo:g} eV: they are on different energy scales; "
                                        "put them on one (the same reference and range)")
        for r, keep, a, b in zip(mine, inside, lo, hi):
            if not keep:
                dropped.add(id(r))
                problems.append(ReadError(Path(root) / r.name, None, (
                    f"covers {a:g}–{b:g} eV, but most {kind.removesuffix(' ?')} spectra here run over {typical_lo:g}–{typical_hi:g} "
                    f"eV: a model learns only the energies all share, {shared:g} eV with it; skipped")))
    return [r for r in records if id(r) not in dropped]


def infer_edge(records: list[SiteRecord]) -> tuple[list[SiteRecord], str]:
    """Records whose spectra name no edge, given the one their absolute energies lie at
    (:func:`~amorpha.engine.spectra.edges.edge_of_energies`), element by element (a pair whose
    atom 0 is another element must not hide the others' edge), and a sentence saying so; as
    they are when any names one or the axis is edge-relative."""
    from amorpha.engine.spectra.edges import edge_of_energies

    if any(r.spectrum.edge for r in records):
        return records, ""
    notes, found = [], {}
    for element in dict.fromkeys(r.spectrum.element for r in records):
        mine = [r for r in records if r.spectrum.element == element]
        low = min(float(r.spectrum.energy[0]) for r in mine)
        high = max(float(r.spectrum.energy[-1]) for r in mine)
        edge = edge_of_energies(element, low, high)
        if edge is not None:
            found[element] = edge[0]
            notes.append(f"{element} {edge[0]} edge from the energies ({low:.0f}–{high:.0f} eV; "
                         f"tabulated onset {edge[1]:g} eV)")
    records = [replace(r, spectrum=replace(r.spectrum, edge=found[r.spectrum.element]))
               if r.spectrum.element in found else r for r in records]
    return records, "; ".join(notes)


def read_pair(structure: "os.PathLike[str] | str", spectrum: "os.PathLike[str] | str",
              absorber: Optional[int] = None, split: str = "", edge: str = "",
              name: str = "", cache: Optional[dict] = None) -> SiteRecord:
    """One structure file and one spectrum file as a record (the XANESNET and pairs layouts).

    ``absorber`` None means the extxyz ``absorber=`` key, else 0. The spectrum's element is the
    absorber's; a spectrum that names another element (a written header) is an error, since the
    pair is then mismatched. ``cache`` shares structures read for several sites of one file.
    Lines after the last complete xyz frame that are not a frame (XANESNET's) are ignored by
    :func:`~amorpha.engine.io.read_structure`.
    """
    structure = Path(structure)
    cache = {} if cache is None else cache
    if structure not in cache:
        cache[structure] = read_structure(structure)
    atoms = cache[structure]
    if absorber is None:
        absorber = _info_absorber(atoms, structure)
    if not 0 <= absorber < len(atoms):
        raise ReadError(structure, None, f"absorber {absorber} is not one of its {len(atoms)} atoms")
    element = atoms[absorber].symbol
    read = read_columns(spectrum)
    if read.element and read.element != element:
        raise ReadError(spectrum, None, f"this spectrum is of {read.element}, but atom {absorber} "
                                        f"of {structure.name} is {element}")
    read = replace(read, element=element, edge=read.edge or edge, site=absorber,
                   label=name or read.label)
    return SiteRecord(atoms, absorber, read, split, name or structure.stem)


def _info_absorber(atoms: Atoms, path: Path) -> int:
    value = atoms.info.get("absorber", 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StructureReadError(path, 2, f"absorber={value!r} is not an atom index") from None


def _xanesnet_jobs(root: Path, problems: list, edge: str) -> list[_Job]:
    jobs: list[_Job] = []
    for xyz_dir in sorted(p for p in root.iterdir() if p.is_dir() and re.match(r"^xyz(_|$)", p.name)):
        split = xyz_dir.name[4:]
        xanes_dir = root / ("xanes" + xyz_dir.name[3:])
        if not xanes_dir.is_dir():
            continue
        structures = {p.stem: p for p in xyz_dir.iterdir() if p.suffix.lower() in (".xyz", ".extxyz")}
        spectra = {p.stem: p for p in xanes_dir.iterdir() if p.suffix.lower() in SPECTRUM_EXTENSIONS}
        for stem in sorted(structures.keys() - spectra.keys()):
            problems.append(ReadError(structures[stem], None,
                                      f"no spectrum {stem}.txt in {xanes_dir.name}; skipped"))
        for stem in sorted(spectra.keys() - structures.keys()):
            problems.append(ReadError(spectra[stem], None,
                                      f"no structure {stem}.xyz in {xyz_dir.name}; skipped"))
        for stem in sorted(structures.keys() & spectra.keys()):
            jobs.append(lambda s=structures[stem], t=spectra[stem], split=split:
                        [read_pair(s, t, 0, split, edge, name=f"{split}/{s.stem}" if split else s.stem)])
    return jobs


def _feff_jobs(root: Path, problems: list, edge: str) -> list[_Job]:
    poscars: dict = {}  # sites of one crystal share its Atoms

    def job(site_dir: Path) -> list[SiteRecord]:
        atoms, spectrum, index = read_feff_site(site_dir, poscars=poscars)
        return [SiteRecord(atoms, index, spectrum, "", site_dir.relative_to(root).as_posix() or ".")]

    return [lambda d=d: job(d) for d in _walk(root)
            if (d / "xmu.dat").is_file() and (d / "feff.inp").is_file()]


def _castep_jobs(root: Path, problems: list, edge: str) -> list[_Job]:
    def job(cell: Path, core: Path) -> list[SiteRecord]:
        atoms, sites = castep_sites(cell, core)
        sites = core_hole_sites(sites)
        name = (core.parent / core_seed(core.name)).relative_to(root).as_posix()
        return [SiteRecord(atoms, index, spectrum, "", f"{name} {spectrum.label}") for index, spectrum in sites]

    jobs: list[_Job] = []
    for folder in _walk(root):
        for core in sorted(folder.glob("*" + CORE_SUFFIX)):
            cell = cell_of(core)
            if cell is None:
                problems.append(ReadError(core, None, f"no {core_seed(core.name)}.cell beside it; skipped"))
            else:
                jobs.append(lambda c=cell, k=core: job(c, k))
    return jobs


def _pair_jobs(root: Path, problems: list, edge: str) -> list[_Job]:
    jobs: list[_Job] = []
    cache: dict = {}
    for folder in _walk(root):
        files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
        structures = {p.stem if p.suffix.lower() in STRUCTURE_EXTENSIONS else p.name: p for p in files
                      if p.suffix.lower() in STRUCTURE_EXTENSIONS or p.name in ("POSCAR", "CONTCAR")}
        if not structures:
            continue
        top = folder.relative_to(root).parts[:1]
        split = top[0].lower() if top and top[0].lower() in SPLIT_NAMES else ""
        paired = set()
        for spectrum in sorted(p for p in files if p.suffix.lower() in SPECTRUM_EXTENSIONS):
            stem, site = spectrum.stem, None
            if m := _SITE_SUFFIX.match(stem):
                stem, site = m["stem"], int(m["site"])
            if stem not in structures:  # a spectrum without its structure is said; notes and logs are not
                if _reads_as_spectrum(spectrum):
                    problems.append(ReadError(spectrum, None, f"no structure {stem}.xyz (or .extxyz, .cif, .vasp, "
                                                              ".poscar) beside it; skipped"))
                continue
            paired.add(stem)
            name = (folder / spectrum.stem).relative_to(root).as_posix()
            jobs.append(lambda s=structures[stem], t=spectrum, a=site, n=name, sp=split:
                        [read_pair(s, t, a, sp, edge, name=n, cache=cache)])
        for stem in sorted(structures.keys() - paired):
            problems.append(ReadError(structures[stem], None,
                                      f"no spectrum {stem}.txt/.csv/.dat beside it; skipped"))
    return jobs


def _reads_as_spectrum(path: Path) -> bool:
    """Whether a text file without a structure is a spectrum (reported) or a note (ignored)."""
    try:
        read_columns(path)
    except (ReadError, SpectrumError, ValueError, OSError):
        return False
    return True


def _walk(root: Path):
    """Folders under ``root`` (itself first), sorted, hidden ones skipped, symlinks not followed."""
    for folder, subdirs, _ in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        yield Path(folder)

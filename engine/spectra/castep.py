"""CASTEP core-loss results: OptaDOS ``seed_core_edge.dat`` site spectra and the ``seed.cell`` they
belong to.

OptaDOS (``task: core``) writes one block per site and edge, for every atom and every core level
it has projectors for (K, L1, L2,3...): a comment ``# Si 1 K1`` (the element, the atom's rank
among the atoms of its species in the cell, the edge; then, for a labelled species such as
``Si:exc``, the core-hole atom of a supercell, its label, cut to ten characters, in OptaDOS's own
case and glued to the edge when it fills them), rows ``E dos`` or, with lifetime and instrumental
broadening, ``E dos dos_broadened``, then a blank line. A spin-polarised run writes ``E up down
total`` (and the three broadened after them): we take up + down, since OptaDOS's total column
adds up and down again for every angular-momentum channel it sums.

The energies are CASTEP's Kohn-Sham energies (OptaDOS's default), less the Fermi level with
``set_efermi_zero``, or less the conduction-band minimum and plus ``core_chemical_shift`` when
that is given (an absolute edge energy): the header says none of this, so the edge comes from
the block's name, never from the axis, and the spectra carry ``meta["axis"]`` = :data:`AXIS` so
a plot does not call their zero the edge. The cell's species (ASE's ``castep_custom_species``)
place each block on its atom.

The run's input ``seed.odi`` and output ``seed.odo`` say the rest (:func:`optados_run`). Only
absorption edges are read: a run that sets ``core_type: emission`` or ``all`` is refused, since
its file looks the same but holds occupied states. An absorption spectrum counts no empty states
below the Fermi level, so where the run says that level is, the spectra carry it as the point of
their axis where the edge starts (``meta["onset_at_ev"]``), by which a prediction is placed.

Checked on the benchmark outputs of OptaDOS's own test suite (Si2 with ``Si:Ex``, NaGe with a
chemical shift); the tests write files the same way (tests/optados_files.py).
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from amorpha.engine.errors import ParameterError, ReadError, finite_number
from amorpha.engine.spectra.columns import read_text, split_lines
from amorpha.engine.spectra.spectrum import Spectrum, SpectrumError, check_grid

CORE_SUFFIX = "_core_edge.dat"
#: the scale the spectra are on (``Spectrum.meta["axis"]``): not edge-relative, see the docstring
AXIS = "CASTEP/OptaDOS"
_EDGES = {"K1": "K"}  # OptaDOS's other names are ours already (L1, L2,3, M4,5, ...)
_NUMBER = r"([-+]?\d*\.?\d+(?:[EeDd][-+]?\d+)?)"
_BROADENING = {"gaussian_fwhm": re.compile(r"Gaussian broadening: FWHM\s+" + _NUMBER),
               "lorentzian_fwhm": re.compile(r"Lorentzian width\s+" + _NUMBER),
               "lorentzian_scale": re.compile(r"Lorentzian scale\s+" + _NUMBER),
               "lorentzian_offset": re.compile(r"Lorentzian offset\s+" + _NUMBER)}

#: numbers per row → (broadened?, the spectrum from the row's columns): E dos [dos_broadened], or
#: spin-polarised E up down total [up down total broadened]
_COLUMNS = {2: (False, lambda t: t[:, 1]), 3: (True, lambda t: t[:, 2]),
            4: (False, lambda t: t[:, 1] + t[:, 2]), 7: (True, lambda t: t[:, 4] + t[:, 5])}


@dataclass(frozen=True)
class CoreEdge:
    """One block of a core-loss file: ``rank``-th atom (from 1) of ``species`` in the cell."""

    element: str
    rank: int
    edge: str
    species: str  # as the cell names it: the label (Si:exc), else the element
    spectrum: Spectrum
    line: int  # of the block's name, for messages


def core_seed(name: str) -> str | None:
    """``seed`` of a file named ``seed_core_edge.dat``, else None."""
    return name[:-len(CORE_SUFFIX)] if name.endswith(CORE_SUFFIX) else None


def _seed_path(core: Path, suffix: str) -> Path:
    """``seed<suffix>`` beside the core-loss file ``seed_core_edge.dat`` (any other name: its stem)."""
    return core.with_name((core_seed(core.name) or core.stem) + suffix)


def odi_keywords(path: "os.PathLike[str] | str") -> dict[str, str]:
    """An OptaDOS input file's keywords as OptaDOS reads them (param_in_file, param_get_keyword):
    lower case, a comment from '!' or '#', the keyword first on its line, then '=', ':' or a blank
    and the value."""
    keywords = {}
    for line in split_lines(read_text(os.fspath(path))):
        text = re.split(r"[!#]", line.lower(), maxsplit=1)[0].strip()
        if match := re.match(r"([a-z_]\w*)\s*[=:\s]\s*(.*)$", text):
            keywords[match[1]] = match[2].strip()
    return keywords


#: how OptaDOS's output (seed.odo) states core_type: Absorption, Emission or Both (all)
_ODO_TYPE = re.compile(r"Absorption or Emission Spectrum\s*:\s*(\w+)")
_CORE_TYPES = {"absorption": "absorption", "emission": "emission", "both": "all", "all": "all"}
#: the Fermi level OptaDOS set (dos_utils_set_efermi: from the DOS, the file, the user or midgap)
_ODO_FERMI = re.compile(r":\s*" + _NUMBER + r"\s*eV\s*<- Ef[DCUI]\b")
_ODO_ZERO = re.compile(r"Shift energy scale so fermi_energy=0\s*:\s*True")
_ODO_SHIFT = re.compile(r"Core chemical shift\s*:\s*" + _NUMBER)


@dataclass(frozen=True)
class OptadosRun:
    """What a core-loss file's header does not say, from the run's ``seed.odi`` (its input) or
    ``seed.odo`` (its output, appended to by every run: the last one counts)."""

    core_type: str = "absorption"  # OptaDOS's default; or "emission", "all"
    type_from: str = ""  # the file that set core_type
    #: where OptaDOS put the Fermi level on the file's energies (0 with set_efermi_zero); None
    #: when no file says, or with core_chemical_shift (absolute energies)
    fermi_ev: float | None = None
    fermi_from: str = ""


def optados_run(core: "os.PathLike[str] | str") -> OptadosRun:
    """The settings of the run that wrote ``core`` (:class:`OptadosRun`): core_type from its
    ``seed.odi``, else its ``seed.odo``; the Fermi level from the ``seed.odo``, else from the
    ``seed.odi`` when it fixes one (``set_efermi_zero``, ``efermi: <eV>``)."""
    core = Path(core)
    odi, odo = _seed_path(core, ".odi"), _seed_path(core, ".odo")
    keywords = odi_keywords(odi) if odi.is_file() else {}
    log = read_text(os.fspath(odo)).rsplit("OptaDOS: Execution started", 1)[-1] if odo.is_file() else ""
    kind, type_from = "absorption", ""
    if "core_type" in keywords:
        kind, type_from = _CORE_TYPES.get((keywords["core_type"].split() or [""])[0], "absorption"), odi.name
    elif match := _ODO_TYPE.search(log):
        kind, type_from = _CORE_TYPES.get(match[1].lower(), "absorption"), odo.name
    fermi, fermi_from = None, ""
    if log and not _ODO_SHIFT.search(log):
        if _ODO_ZERO.search(log):
            fermi, fermi_from = 0.0, odo.name
        elif match := _ODO_FERMI.search(log):
            fermi, fermi_from = _fortran_float(match[1]), odo.name
    elif not log and "core_chemical_shift" not in keywords:
        if "t" in keywords.get("set_efermi_zero", ""):  # OptaDOS's test of a logical keyword
            fermi, fermi_from = 0.0, odi.name
        else:
            try:
                fermi, fermi_from = finite_number(keywords.get("efermi", ""), "efermi"), odi.name
            except ParameterError:  # none, or one OptaDOS computes (optados, file, insulator)
                pass
    return OptadosRun(kind, type_from, fermi, fermi_from)


def _fortran_float(text: str) -> float:
    """A number as Fortran may write it (``1.5D-03`` as well as ``1.5E-03``)."""
    return float(text.replace("D", "E").replace("d", "e"))


#: the edge and label after the rank: write_core's (a5,a10) leaves no blank between them when a
#: label fills its ten characters ("K1Si:corehol")
_EDGE_LABEL = re.compile(r"^(?P<edge>[KLMNOP]\d(?:,\d)?)\s*(?P<label>\S*)$")


def _block_name(words: list[str]) -> tuple[str, int, str, str] | None:
    """(element, rank, edge, species) of a ``# Si 1 K1 [label]`` line, else None."""
    if len(words) < 3 or words[0] not in atomic_numbers or not words[1].isdigit():
        return None
    match = _EDGE_LABEL.match(" ".join(words[2:]))
    if match is None:
        return None
    edge = match["edge"]
    return words[0], int(words[1]), _EDGES.get(edge, edge), match["label"] or words[0]


def read_optados_core(path: "os.PathLike[str] | str") -> list[CoreEdge]:
    """Every block of an OptaDOS ``*_core_edge.dat``; the broadened column when there is one.

    Raises :class:`ReadError` naming the line for a file that is not one, a row of another count
    of numbers than OptaDOS writes (2 or 3; 4 or 7 spin-polarised), or a block whose energies do
    not increase; and for an emission run (:func:`optados_run`), whose blocks look the same. When
    the run says where its Fermi level is, the spectra carry it as ``meta["onset_at_ev"]``.
    """
    run = optados_run(path)
    if run.core_type != "absorption":
        what = ("X-ray emission: the occupied states" if run.core_type == "emission"
                else "absorption and emission summed on one axis")
        raise ReadError(path, None, f"{run.type_from} says core_type: {run.core_type}, so its spectra are "
                                    f"{what}, not the absorption edge (ELNES/XANES) Amorpha learns; run "
                                    "OptaDOS again with core_type: absorption")
    # an absorption spectrum counts no empty states below the Fermi level: its onset is there
    onset = {} if run.fermi_ev is None else {
        "onset_at_ev": run.fermi_ev,
        "onset_at_from": f"OptaDOS's Fermi level in {run.fermi_from}, below which it counts no empty states"}
    path = os.fspath(path)
    header: list[str] = []
    blocks: list[tuple[tuple, int, list, list]] = []
    for lineno, line in enumerate(split_lines(read_text(path)), start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            name = _block_name(text.lstrip("#").split())
            if name is None:
                header.append(text.lstrip("#").strip())
            else:
                blocks.append((name, lineno, [], []))
            continue
        if not blocks:
            raise ReadError(path, lineno, "numbers before the first '# Si 1 K1'-style edge line: "
                                          "not an OptaDOS core-loss file")
        try:
            row = [_fortran_float(t) for t in text.split()]
        except ValueError:
            raise ReadError(path, lineno, f"{text[:40]!r} is not a row of numbers") from None
        if len(row) not in _COLUMNS:
            raise ReadError(path, lineno, f"{len(row)} numbers; OptaDOS writes 2 (energy, "
                                          "spectrum) or 3 (and the broadened spectrum), 4 or 7 "
                                          "when spin-polarised")
        blocks[-1][2].append(row)
        blocks[-1][3].append(lineno)
    if not blocks:
        raise ReadError(path, None, "no '# Si 1 K1'-style edge lines: not an OptaDOS *_core_edge.dat")
    meta = {key: _fortran_float(m.group(1)) for text in header
            for key, pattern in _BROADENING.items() if (m := pattern.search(text))}
    edges = []
    for (element, rank, edge, species), lineno, rows, lines in blocks:
        widths = {len(r) for r in rows}
        if len(widths) > 1:
            raise ReadError(path, lines[[len(r) for r in rows].index(min(widths))],
                            f"rows of {' and '.join(map(str, sorted(widths)))} numbers mixed in one block")
        if len(rows) < 2:
            raise ReadError(path, lineno, f"{element} {rank} {edge}: fewer than two energies")
        table = np.array(rows)
        broadened, spectrum_of = _COLUMNS[table.shape[1]]
        try:
            energy, intensity = check_grid(table[:, 0], spectrum_of(table), f"{element} {rank} {edge}")
        except SpectrumError as exc:
            raise ReadError(path, lineno, str(exc)) from None
        spectrum = Spectrum(energy, intensity, label=f"{species} {rank} {edge}", source=path,
                            element=element, edge=edge,
                            broadening=dict(meta) if broadened else {},
                            meta={"optados_species": species, "axis": AXIS, **onset})
        edges.append(CoreEdge(element, rank, edge, species, spectrum, lineno))
    return edges


def read_castep_cell(path: "os.PathLike[str] | str") -> Atoms:
    """A CASTEP ``.cell`` through ASE, its species labels kept in ``castep_custom_species`` and no
    calculator attached (ASE's reader would hang its CASTEP calculator on the Atoms)."""
    from ase.io import read

    try:
        with warnings.catch_warnings():  # ASE warns that it cannot validate keywords without CASTEP
            warnings.simplefilter("ignore")
            atoms = read(os.fspath(path), format="castep-cell")
    except Exception as exc:  # ASE raises ValueError, KeyError, IndexError... on a broken cell
        raise ReadError(path, None, f"not a readable CASTEP cell ({exc})") from None
    atoms.calc = None
    if "castep_custom_species" not in atoms.arrays:
        atoms.arrays["castep_custom_species"] = np.array(atoms.get_chemical_symbols())
    return atoms


def cell_of(core: "os.PathLike[str] | str") -> Path | None:
    """The cell beside a ``seed_core_edge.dat``: ``seed-out.cell`` (the geometry CASTEP ended on),
    else ``seed.cell``; None when neither is there."""
    return next((c for c in (_seed_path(Path(core), "-out.cell"), _seed_path(Path(core), ".cell"))
                 if c.is_file()), None)


#: OptaDOS keeps a species label in 10 characters (``elnes_label``): longer ones come cut
_LABEL_WIDTH = 10


def species_members(species: np.ndarray, name: str) -> np.ndarray:
    """Indices of the atoms of species ``name`` (as a core-loss block names it) among the cell's
    ``species`` (lower case). CASTEP's labels ignore case and OptaDOS writes its own (the cell's
    Si:Ex is Si:ex in the file); a label of 10 characters may be the start of a longer one."""
    name = name.lower()
    members = np.flatnonzero(species == name)
    if not len(members) and len(name) == _LABEL_WIDTH:
        members = np.flatnonzero(np.char.startswith(species, name))
        if len({str(s) for s in species[members]}) > 1:  # cut to the same ten letters: ambiguous
            return np.array([], dtype=np.int64)
    return members


def castep_sites(cell: "os.PathLike[str] | str", core: "os.PathLike[str] | str",
                 blocks: list[CoreEdge] | None = None) -> tuple[Atoms, list[tuple[int, Spectrum]]]:
    """The cell and each core-loss block as (atom index, spectrum with ``site`` set); ``blocks``:
    the file's blocks when the caller has read them already."""
    atoms = read_castep_cell(cell)
    species = np.char.lower(np.asarray(atoms.arrays["castep_custom_species"]).astype(str))
    sites = []
    for block in read_optados_core(core) if blocks is None else blocks:
        members = species_members(species, block.species)
        if block.rank > len(members):
            raise ReadError(core, block.line, f"{block.species} {block.rank}: {Path(cell).name} has "
                                              f"{len(members)} atoms of species {block.species}")
        index = int(members[block.rank - 1])
        if atoms[index].symbol != block.element:
            raise ReadError(core, block.line, f"{block.species} {block.rank} is atom {index} of "
                                              f"{Path(cell).name}, a {atoms[index].symbol}, not {block.element}")
        sites.append((index, replace(block.spectrum, site=index)))
    return atoms, sites


def labelled(spectrum: Spectrum) -> bool:
    """Whether a core-loss block is of a labelled species (``Si:exc``: in a core-hole run, the
    excited atom); False for any other spectrum."""
    return spectrum.meta.get("optados_species", spectrum.element) != spectrum.element


def core_hole_sites(sites: list[tuple[int, Spectrum]]) -> list[tuple[int, Spectrum]]:
    """``sites`` (from :func:`castep_sites`) less, for each element and edge that has blocks of a
    labelled species, the plain atoms' blocks. A core-hole pseudopotential needs a species of its
    own (``Si:exc``), and OptaDOS writes the edges of every atom of the supercell: those of atoms
    without the hole are not the spectrum the run was made for. Without a label all are kept."""
    def key(spectrum):
        return spectrum.element, spectrum.edge

    excited = {key(s) for _, s in sites if labelled(s)}
    return [(i, s) for i, s in sites if key(s) not in excited or labelled(s)]


__all__ = ["AXIS", "CORE_SUFFIX", "CoreEdge", "OptadosRun", "castep_sites", "cell_of", "core_hole_sites",
           "core_seed", "labelled", "odi_keywords", "optados_run", "read_castep_cell", "read_optados_core",
           "species_members"]

"""FEFF results: ``xmu.dat`` spectra and the site they belong to (``feff.inp``, a POSCAR nearby).

``xmu.dat`` holds the columns omega (absolute energy, eV), e, k, mu, mu0, chi under '#' comments;
the spectrum is mu against omega. ``feff.inp`` holds the cluster: POTENTIALS maps a potential index
to an atomic number (ipot 0 is the absorber) and ATOMS lists ``x y z ipot [tag distance ...]``
in Angstrom around it. Materials-Project-style runs keep one folder per site,
``mp-XXX/FEFF-XANES/NNN_El/``, with the crystal's POSCAR two levels up and NNN the absorber's
0-based index in it: that lets a site spectrum be tied to a periodic structure.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from amorpha.engine.errors import ReadError
from amorpha.engine.io import read_structure
from amorpha.engine.spectra.columns import read_table, read_text, split_lines
from amorpha.engine.spectra.spectrum import Spectrum

_ABS = re.compile(r"Abs\s+Z=\s*(\d+).*?\b([KLMNOP][1-7]?)\s+shell", re.IGNORECASE)
_GAM_CH = re.compile(r"Gam_ch=\s*([-+.\dEe]+)")
_FERMI = re.compile(r"\bMu=\s*([-+.\dEe]+)\s*eV")
_HOLES = {1: "K", 2: "L1", 3: "L2", 4: "L3", 5: "M1", 6: "M2", 7: "M3", 8: "M4", 9: "M5"}
_SITE_DIR = re.compile(r"^(\d+)_([A-Z][a-z]?)$")  # "002_Cu": site 2 of the POSCAR, a Cu atom
_POSCAR_NAMES = ("POSCAR", "CONTCAR")


def _header_number(pattern: re.Pattern, header: str, path) -> float | None:
    """The number ``pattern`` finds in an ``xmu.dat`` header (None when absent); a damaged one
    ("Gam_ch=1.729E+") is a ReadError quoting it, not a bare ValueError."""
    m = pattern.search(header)
    if m is None:
        return None
    try:
        return float(m.group(1))
    except ValueError:
        line = next((k for k, text in enumerate(split_lines(read_text(path)), 1) if m.group(0) in text), None)
        raise ReadError(path, line, f"'{m.group(0).strip()}' is not a number") from None


def read_feff_xmu(path: "os.PathLike[str] | str") -> Spectrum:
    """mu(omega) from a FEFF ``xmu.dat``, with the absorber, edge and core-hole width of its header.

    ``meta`` keeps ``e0`` (omega - e: the energy FEFF counts e from), ``fermi_level`` and
    ``core_hole_fwhm`` when the header has them; ``broadening`` records the core-hole lifetime
    FEFF already applied (a Lorentzian of that FWHM).
    """
    table = read_table(path)
    names: list[str] = []
    for comment in table.comments:  # the last "#  omega  e  k  mu ..." line names the columns
        words = comment.replace("#", " ").split()
        if "omega" in words and "mu" in words:
            names = words
    i_energy = names.index("omega") if names else 0
    i_mu = names.index("mu") if names else 3
    energy = table.column(i_energy, expected=max(i_energy, i_mu) + 1)
    mu = table.column(i_mu, expected=max(i_energy, i_mu) + 1)
    energy, mu = table.checked(energy, mu)
    header = "\n".join(table.comments)
    meta: dict = {}
    element = edge = ""
    if m := _ABS.search(header):
        z = int(m.group(1))
        element = chemical_symbols[z] if 0 < z < len(chemical_symbols) else ""
        edge = m.group(2).upper()
    if "e" in names:
        meta["e0"] = round(float(np.median(energy - table.column(names.index("e")))), 6)
    if (fermi := _header_number(_FERMI, header, path)) is not None:
        meta["fermi_level"] = fermi
    broadening = {}
    if (width := _header_number(_GAM_CH, header, path)) is not None:
        meta["core_hole_fwhm"] = width
        broadening = {"lorentzian_fwhm": width}
    path = os.fspath(path)
    return Spectrum(energy, mu, label=os.path.basename(path), source=path, element=element,
                    edge=edge, broadening=broadening, meta=meta)


@dataclass(frozen=True)
class FeffInput:
    """What ``feff.inp`` says: the cluster (absorber included), which atom absorbs, the edge."""

    cluster: Atoms
    absorber: int
    edge: str
    title: list[str]


def read_feff_inp(path: "os.PathLike[str] | str") -> FeffInput:
    """The cluster of a ``feff.inp`` from its POTENTIALS and ATOMS cards (EDGE, else HOLE, else K)."""
    path = os.fspath(path)
    text = read_text(path)
    potentials: dict[int, int] = {}  # ipot -> Z
    atoms: list[tuple[int, list[float], int]] = []  # (line, xyz, ipot)
    title: list[str] = []
    edge = ""
    card = None
    for lineno, line in enumerate(split_lines(text), start=1):
        words = line.split("!")[0].split()
        if not words or words[0].startswith("*"):
            continue
        word = words[0].upper()
        if word == "END":
            break
        if re.match(r"^[A-Z_]", word):  # a card name; only POTENTIALS and ATOMS own the rows after
            card = word if word in ("POTENTIALS", "ATOMS") else None
            if word == "TITLE":
                title.append(line.strip()[5:].strip())
            elif word == "EDGE" and len(words) > 1:
                edge = words[1].upper()
            elif word == "HOLE" and len(words) > 1 and not edge:
                edge = _HOLES.get(_int(words[1]) or 0, "")
            continue
        if card == "POTENTIALS":
            ipot, z = (_int(w) for w in (words + ["", ""])[:2])
            if ipot is None or z is None:
                raise ReadError(path, lineno, "a POTENTIALS row needs 'ipot Z ...', "
                                              f"found {line.strip()[:60]!r}")
            if not 0 < z < len(chemical_symbols):
                raise ReadError(path, lineno, f"atomic number {z} is not an element")
            potentials[ipot] = z
        elif card == "ATOMS":
            try:
                xyz, ipot = [float(w) for w in words[:3]], int(words[3])
            except (ValueError, IndexError):
                raise ReadError(path, lineno, "an ATOMS row needs 'x y z ipot', "
                                              f"found {line.strip()[:60]!r}") from None
            atoms.append((lineno, xyz, ipot))
    if not potentials:
        raise ReadError(path, None, "no POTENTIALS card (needed for the element of each atom)")
    if not atoms:
        raise ReadError(path, None, "no ATOMS card with atoms (reciprocal-space and CIF inputs "
                                    "are not read; is the file cut short?)")
    numbers = []
    for lineno, _, ipot in atoms:
        if ipot not in potentials:
            raise ReadError(path, lineno, f"potential {ipot} is not in the POTENTIALS card")
        numbers.append(potentials[ipot])
    absorbers = [i for i, (_, _, ipot) in enumerate(atoms) if ipot == 0]
    if len(absorbers) != 1:
        where = atoms[absorbers[1]][0] if absorbers else None
        raise ReadError(path, where, f"expected one absorber (ipot 0) in ATOMS, found {len(absorbers)}")
    cluster = Atoms(numbers=numbers, positions=[xyz for _, xyz, _ in atoms])
    return FeffInput(cluster, absorbers[0], edge or "K", title)


def _int(word: str) -> int | None:
    try:
        return int(word)
    except ValueError:
        return None


def find_poscar(site_dir: "os.PathLike[str] | str", levels: int = 2) -> Path | None:
    """A POSCAR/CONTCAR in the site folder or up to ``levels`` folders above it."""
    here = Path(site_dir).resolve()
    for folder in [here, *here.parents][: levels + 1]:
        for name in _POSCAR_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def read_feff_site(directory: "os.PathLike[str] | str", *, cluster: bool = False,
                   poscars: dict | None = None) -> tuple[Atoms, Spectrum, int]:
    """``(atoms, spectrum, absorber_index)`` of one FEFF site folder (``feff.inp`` + ``xmu.dat``).

    ``atoms[absorber_index]`` is always the absorber. With a POSCAR beside or up to two folders
    above and a ``NNN_El`` folder name, ``atoms`` is that periodic crystal and the index is NNN
    (checked against the POSCAR's and feff.inp's element), since a site descriptor wants the
    whole crystal; otherwise, or with ``cluster=True``, it is the feff.inp cluster and its
    absorber. ``poscars`` caches crystals by path so sites of one crystal share one Atoms.
    ``spectrum.meta["cluster"]`` always holds the feff.inp cluster.
    """
    directory = Path(directory)
    inp_path, xmu_path = directory / "feff.inp", directory / "xmu.dat"
    for needed in (inp_path, xmu_path):
        if not needed.is_file():
            raise ReadError(needed, None, f"missing: a FEFF site folder needs feff.inp and xmu.dat "
                                          f"({directory.name})")
    inp = read_feff_inp(inp_path)
    spectrum = read_feff_xmu(xmu_path)
    element = inp.cluster[inp.absorber].symbol
    if spectrum.element and spectrum.element != element:
        raise ReadError(xmu_path, None, f"the header's absorber is {spectrum.element}, feff.inp's "
                                        f"is {element}: are these from different runs?")
    atoms, index, label = inp.cluster, inp.absorber, directory.name
    named = _SITE_DIR.match(directory.name)
    poscar_path = find_poscar(directory) if named and not cluster else None
    if poscar_path is not None:
        site, site_element = int(named.group(1)), named.group(2)
        if site_element != element:
            raise ReadError(inp_path, None, f"the folder name says {site_element}, "
                                            f"but the absorber is {element}")
        poscars = {} if poscars is None else poscars
        if poscar_path not in poscars:
            poscars[poscar_path] = read_structure(poscar_path)
        crystal = poscars[poscar_path]
        if site >= len(crystal):
            raise ReadError(poscar_path, None, f"{directory.name}: site {site} is beyond the "
                                               f"{len(crystal)} atoms of the POSCAR")
        if crystal[site].symbol != element:
            raise ReadError(poscar_path, None, f"{directory.name}: site {site} of the POSCAR is "
                                               f"{crystal[site].symbol}, not {element}")
        atoms, index, label = crystal, site, f"{poscar_path.parent.name}/{directory.name}"
    spectrum = replace(
        spectrum, element=element, edge=inp.edge, site=index, label=label,
        meta={**spectrum.meta, "cluster": inp.cluster, "cluster_absorber": inp.absorber},
    )
    return atoms, spectrum, index

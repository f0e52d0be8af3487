"""Reading and writing computed site spectra: text columns, FEFF runs and spectrum folders."""
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.geometry import get_distances

from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.io import write_extxyz
from amorpha.engine.spectra.columns import read_columns, write_columns
from amorpha.engine.spectra.edges import edge_of_energies
from amorpha.engine.spectra.feff import read_feff_inp, read_feff_site, read_feff_xmu
from amorpha.engine.spectra.folders import (
    SiteRecord, common_grid, read_spectrum_folder, site_spectra)
from amorpha.engine.spectra.spectrum import Spectrum, SpectrumError, check_grid
from amorpha.engine.tasks import Cancelled

ENERGY = np.linspace(2460.0, 2500.0, 41)


def gauss(energy, centre, width=2.0):
    return np.exp(-((energy - centre) / width) ** 2)


def write_two_columns(path, energy=ENERGY, intensity=None, sep=",", header="energy,intensity"):
    intensity = gauss(energy, 2475.0) if intensity is None else intensity
    rows = [f"{e!r}{sep}{y!r}" for e, y in zip(np.asarray(energy).tolist(), np.asarray(intensity).tolist())]
    Path(path).write_text("\n".join(([header] if header else []) + rows) + "\n")
    return path


def read_error(path) -> ReadError:
    with pytest.raises(ReadError) as info:
        read_columns(path)
    return info.value


# ----------------------------------------------------------------------------- read_columns

@pytest.mark.parametrize("sep", [",", "\t", "   ", ";"])
def test_columns_read_with_any_separator_and_header(tmp_path, sep):
    path = write_two_columns(tmp_path / "s.csv", sep=sep, header="# comment\nEnergy (eV) mu")
    s = read_columns(path)
    assert np.array_equal(s.energy, ENERGY)
    assert np.array_equal(s.intensity, gauss(ENERGY, 2475.0))
    assert s.source == str(path) and s.label == "s.csv"


def test_emsa_y_data_with_several_channels_per_line(tmp_path):
    path = tmp_path / "y.msa"
    path.write_text("#FORMAT : EMSA/MAS Spectral Data File\n#TITLE : core loss\n#NPOINTS : 5\n"
                    "#NCOLUMNS : 2\n#DATATYPE : Y\n#XPERCHAN : 0.5\n#OFFSET : 530\n"
                    "#SPECTRUM : Spectral Data Starts Here\n10, 20,\n30, 40,\n50,\n"
                    "#ENDOFDATA : End Of Data and File\n#CHECKSUM : 0\n")
    s = read_columns(path)
    assert np.array_equal(s.energy, [530.0, 530.5, 531.0, 531.5, 532.0])
    assert np.array_equal(s.intensity, [10, 20, 30, 40, 50])
    assert s.label == "core loss" and s.meta["DATATYPE"] == "Y"


def test_emsa_xy_and_msa_that_is_plain_columns(tmp_path):
    xy = tmp_path / "xy.msa"
    xy.write_text("#DATATYPE : XY\n#XPERCHAN : 1\n#OFFSET : 1\n1.0, 5.0\n2.0, 6.0\n3.0, 7.0\n")
    assert np.array_equal(read_columns(xy).intensity, [5, 6, 7])
    plain = write_two_columns(tmp_path / "plain.msa", sep="\t", header="")
    assert np.array_equal(read_columns(plain).energy, ENERGY)


def test_prose_with_one_line_of_numbers_names_that_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello world\nthis is not a spectrum\n1 2 3\n")
    err = read_error(path)
    assert err.line == 3 and err.reason.startswith("the only line of numbers in the file"), err


def test_one_numeric_column_is_refused_at_its_line(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("intensity\n1.0\n2.0\n3.0\n")
    err = read_error(path)
    assert err.line == 2 and "only one numeric column" in err.reason
    emsa = tmp_path / "y.msa"
    emsa.write_text("#DATATYPE : Y\n1\n2\n3\n")
    assert "XPERCHAN" in read_error(emsa).reason


@pytest.mark.parametrize("step", [0.0, -1.0])  # a repeated and a decreasing energy
def test_non_increasing_energy_names_its_line_like_check_grid(tmp_path, step):
    energy = ENERGY.copy()
    energy[6] = energy[5] + step  # row 6 sits on file line 8 (the header is line 1)
    err = read_error(write_two_columns(tmp_path / "e.csv", energy))
    assert err.line == 8
    with pytest.raises(SpectrumError) as same:
        check_grid(energy, gauss(energy, 2475.0), "spectrum")
    assert err.reason == str(same.value).removeprefix("spectrum: ")
    assert "must increase" in err.reason and str(err).startswith("e.csv, line 8:")


def test_non_numeric_value_names_line_and_token(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("energy,intensity\n1,2\n3,4\n5,oops\n7,8\n")
    err = read_error(path)
    assert (err.line, str(err)) == (4, "bad.csv, line 4: 'oops' is not a number")


def test_nan_truncated_row_empty_and_missing_files(tmp_path):
    nan = tmp_path / "nan.txt"
    nan.write_text("1 2\n2 nan\n3 4\n")
    assert read_error(nan).line == 2
    short = tmp_path / "short.txt"
    short.write_text("1 2\n2 3\n3\n")
    err = read_error(short)
    assert err.line == 3 and "expected 2 numeric columns, found 1" in err.reason
    for text in ("", "  \n\n"):
        (tmp_path / "empty.csv").write_text(text)
        assert read_error(tmp_path / "empty.csv").reason == "the file is empty"
    (tmp_path / "words.txt").write_text("no numbers\nat all\n")
    assert "no columns of numbers" in read_error(tmp_path / "words.txt").reason
    assert read_error(tmp_path / "absent.csv").path.endswith("absent.csv")
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01\x02")
    assert "binary" in read_error(tmp_path / "bin.dat").reason


def test_line_numbers_count_crlf_once(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"e,y\r\n1,2\r\n3,4\r\n2,5\r\n")
    assert read_error(path).line == 4


# ----------------------------------------------------------------------------- write_columns

def spectrum_to_write():
    energy = np.sort(np.random.default_rng(1).uniform(8970, 9050, 300))
    return Spectrum(energy, np.random.default_rng(2).normal(size=300) / 3.0, label="Cu site 7\nb",
                    source="surrogate", element="Cu", edge="K", site=7,
                    broadening={"gaussian_fwhm": 0.5, "lorentzian_fwhm": 1.729})


@pytest.mark.parametrize("fmt", ["csv", "txt"])
def test_write_columns_round_trips_exactly(tmp_path, fmt):
    s = spectrum_to_write()
    path = tmp_path / f"out.{fmt}"
    write_columns(s, path, fmt=fmt)
    back = read_columns(path)
    assert np.array_equal(back.energy, s.energy) and np.array_equal(back.intensity, s.intensity)
    assert (back.element, back.edge, back.site, back.broadening) == ("Cu", "K", 7, s.broadening)
    assert back.label == "Cu site 7 b" and back.meta["SOURCE"] == "surrogate"
    assert back.source == str(path)
    text = path.read_text()
    assert text.startswith("# Amorpha spectrum") and "# element: Cu\n" in text
    if fmt == "txt":  # every non-number line is a comment: numpy reads it as it is
        assert np.array_equal(np.loadtxt(path), np.column_stack([s.energy, s.intensity]))
    else:
        assert "\nenergy_eV,intensity\n" in text


def test_write_columns_is_atomic_and_checks_first(tmp_path):
    path = tmp_path / "keep.csv"
    write_columns(spectrum_to_write(), path)  # format from the suffix
    before = path.read_text()
    bad = Spectrum(np.array([2.0, 1.0]), np.array([1.0, 2.0]))
    with pytest.raises(SpectrumError):
        write_columns(bad, path)
    with pytest.raises(ParameterError):
        write_columns(spectrum_to_write(), path, fmt="xlsx")
    assert path.read_text() == before and os.listdir(tmp_path) == ["keep.csv"]
    assert "," in before.splitlines()[-1]
    write_columns(spectrum_to_write(), tmp_path / "plain.dat")
    assert "," not in (tmp_path / "plain.dat").read_text().splitlines()[-1]


# ----------------------------------------------------------------------------- FEFF

def feff_inp_text(cluster: Atoms, absorber: int = 0, edge: str | None = "K") -> str:
    """A feff.inp in pymatgen's layout: comments, cards, POTENTIALS, ATOMS, END."""
    kinds = [cluster[absorber].number] + sorted(set(cluster.numbers))
    lines = ["* written by the test", "TITLE test cluster", "CONTROL 1 1 1 1 1 1"]
    if edge:
        lines.append(f"EDGE {edge}")
    lines += ["", "POTENTIALS", "  *ipot    Z  tag", "******-  **-  ****-"]
    lines += [f"      {i}   {z}  {Atoms(numbers=[z]).get_chemical_symbols()[0]}   -1  -1  1  0"
              for i, z in enumerate(kinds)]
    lines += ["", "ATOMS", "  *  x  y  z  ipot  Atom  Distance  Number", "*****-  ****-"]
    origin = cluster.positions[absorber]
    for i, atom in enumerate(cluster):
        x, y, z = atom.position - origin
        ipot = 0 if i == absorber else kinds.index(atom.number, 1)
        lines.append(f"   {x:.5f}  {y:.5f}  {z:.5f}  {ipot}  {atom.symbol}  "
                     f"{np.linalg.norm([x, y, z]):.5f}  {i}")
    return "\n".join(lines + ["END", ""])


def xmu_text(z: int = 29, shell: str = "K", e0: float = 8990.0, n: int = 40) -> str:
    omega = e0 - 10 + np.arange(n) * 0.5
    mu = gauss(omega, e0 + 5)
    head = ["# # comment: test  FEFF 9.9.1",
            f"# # Abs   Z={z} Rmt= 1.277 Rnm= 1.348 {shell}  shell",
            "# # Gam_ch=1.729E+00 H-L exch Vi= 0.000E+00 Vr= 0.000E+00",
            "# # Mu=-6.524E+00eV kf=2.470E+00 Vint=-1.678E+01eV Rs_int= 1.468",
            "#  -----------------------------------------------------------------------",
            "#  omega    e    k    mu    mu0     chi     @#"]
    rows = [f"  {w:.3f}  {w - e0:.3f}  0.0  {m:.5E}  {m + 0.1:.5E}  {-0.1:.5E}"
            for w, m in zip(omega, mu)]
    return "\n".join(head + rows) + "\n"


def cu2o():
    """A small crystal with two elements: Cu2O-like cuprite cell (Cu at 2..5)."""
    a = 4.27
    o = [(0, 0, 0), (0.5, 0.5, 0.5)]
    cu = [(0.25, 0.25, 0.25), (0.75, 0.75, 0.25), (0.75, 0.25, 0.75), (0.25, 0.75, 0.75)]
    return Atoms("O2Cu4", scaled_positions=o + cu, cell=[a, a, a], pbc=True)


def make_feff_site(folder: Path, crystal: Atoms, site: int, edge="K", radius=5.0) -> Path:
    """An mp-style site folder: the cluster around ``site``, an xmu.dat, POSCAR two levels up."""
    sup = crystal.repeat(3)
    centre = site + len(crystal) * 13  # the copy of ``site`` in the middle cell of the 3x3x3
    d = np.linalg.norm(sup.positions - sup.positions[centre], axis=1)
    order = np.argsort(d)
    cluster = sup[[i for i in order if d[i] <= radius]]
    site_dir = folder / "FEFF-XANES" / f"{site:03d}_{crystal[site].symbol}"
    site_dir.mkdir(parents=True)
    (site_dir / "feff.inp").write_text(feff_inp_text(cluster, 0, edge))
    (site_dir / "xmu.dat").write_text(xmu_text(crystal[site].number, edge or "K",
                                               8990.0 + site))
    crystal.write(folder / "POSCAR", format="vasp")
    return site_dir


def test_read_feff_xmu_takes_omega_and_mu_and_header(tmp_path):
    path = tmp_path / "xmu.dat"
    path.write_text(xmu_text(29, "K", 8990.0))
    s = read_feff_xmu(path)
    assert np.allclose(s.energy, 8980.0 + 0.5 * np.arange(40))
    assert np.allclose(s.intensity, gauss(s.energy, 8995.0), atol=1e-5)
    assert (s.element, s.edge, s.source) == ("Cu", "K", str(path))
    assert s.meta["e0"] == pytest.approx(8990.0) and s.meta["fermi_level"] == pytest.approx(-6.524)
    assert s.broadening == {"lorentzian_fwhm": 1.729}


def test_read_feff_xmu_errors_name_the_line(tmp_path):
    text = xmu_text().splitlines()
    path = tmp_path / "xmu.dat"
    path.write_text("\n".join(text[:10] + ["  8999.0  9.0  0.0  oops  1 1"] + text[10:]) + "\n")
    err = pytest.raises(ReadError, read_feff_xmu, path).value
    assert (err.line, err.reason) == (11, "'oops' is not a number")
    path.write_text("\n".join(text[:10] + ["  8999.0  9.0"]) + "\n")
    err = pytest.raises(ReadError, read_feff_xmu, path).value
    assert err.line == 11 and "expected 4 numeric columns, found 2" in err.reason
    path.write_text("\n".join(text[:6]) + "\n")
    assert "no columns of numbers" in pytest.raises(ReadError, read_feff_xmu, path).value.reason
    # a damaged header number (was a bare ValueError: "could not convert string to float")
    path.write_text("\n".join(text).replace("Gam_ch=1.729E+00", "Gam_ch=1.729E+") + "\n")
    err = pytest.raises(ReadError, read_feff_xmu, path).value
    assert (err.line, err.reason) == (3, "'Gam_ch=1.729E+' is not a number")


def test_read_feff_inp_cluster_absorber_and_edge(tmp_path):
    site_dir = make_feff_site(tmp_path / "mp-1", cu2o(), 3, edge="L3")
    inp = read_feff_inp(site_dir / "feff.inp")
    assert inp.absorber == 0 and inp.cluster[0].symbol == "Cu" and inp.edge == "L3"
    assert inp.title == ["test cluster"]
    d = np.linalg.norm(inp.cluster.positions, axis=1)
    assert d[0] == 0 and d[1] == pytest.approx(np.sqrt(3) / 4 * 4.27, abs=1e-4)  # Cu-O
    (site_dir / "feff.inp").write_text(feff_inp_text(Atoms("Cu2", [[0, 0, 0], [0, 0, 2.5]]), 0, None))
    assert read_feff_inp(site_dir / "feff.inp").edge == "K"  # FEFF's default edge


def test_read_feff_site_ties_the_spectrum_to_the_poscar_site(tmp_path):
    crystal = cu2o()
    site_dir = make_feff_site(tmp_path / "mp-1", crystal, 4)
    atoms, spectrum, index = read_feff_site(site_dir)
    assert index == 4 and len(atoms) == 6 and atoms.pbc.all() and atoms[index].symbol == "Cu"
    assert (spectrum.element, spectrum.edge, spectrum.site) == ("Cu", "K", 4)
    assert spectrum.label == "mp-1/004_Cu" and spectrum.source == str(site_dir / "xmu.dat")
    assert len(spectrum.meta["cluster"]) > 10 and spectrum.meta["cluster_absorber"] == 0
    cluster, s2, i2 = read_feff_site(site_dir, cluster=True)
    assert i2 == 0 and len(cluster) == len(spectrum.meta["cluster"]) and s2.site == 0


def test_read_feff_site_without_poscar_uses_the_cluster(tmp_path):
    site_dir = tmp_path / "run"
    site_dir.mkdir()
    cluster = Atoms("OCuO", [[0, 0, -1.85], [0, 0, 0], [0, 0, 1.85]])
    (site_dir / "feff.inp").write_text(feff_inp_text(cluster, absorber=1))
    (site_dir / "xmu.dat").write_text(xmu_text())
    atoms, spectrum, index = read_feff_site(site_dir)
    assert atoms[index].symbol == "Cu" and spectrum.site == index and not atoms.pbc.any()


def test_feff_site_problems_name_the_file(tmp_path):
    crystal = cu2o()
    site_dir = make_feff_site(tmp_path / "mp-1", crystal, 2)
    inp = site_dir / "feff.inp"
    full = inp.read_text()
    lines = full.splitlines()
    row = lines.index("ATOMS") + 6  # the fourth atom, cut after its y coordinate
    inp.write_text("\n".join(lines[:row] + [lines[row][:20]]))
    err = pytest.raises(ReadError, read_feff_site, site_dir).value
    assert err.path == str(inp) and err.line == row + 1
    assert "ATOMS row needs" in err.reason
    inp.write_text(full[: full.index("ATOMS")])  # cut before the ATOMS card
    err = pytest.raises(ReadError, read_feff_site, site_dir).value
    assert err.path == str(inp) and "no ATOMS card" in err.reason
    inp.write_text(full.replace("\n      2   29", "\n      2   2x9"))
    err = pytest.raises(ReadError, read_feff_site, site_dir).value
    assert "POTENTIALS row" in err.reason and err.line is not None
    inp.write_text(full.replace("  1  O  ", "  7  O  ", 1))
    assert "potential 7 is not in" in pytest.raises(ReadError, read_feff_site, site_dir).value.reason
    inp.write_text(full)
    (site_dir / "xmu.dat").unlink()
    err = pytest.raises(ReadError, read_feff_site, site_dir).value
    assert err.path == str(site_dir / "xmu.dat") and "missing" in err.reason
    # the folder says site 0, which is an O atom in the POSCAR
    wrong = site_dir.parent / "000_Cu"
    site_dir.rename(wrong)
    (wrong / "xmu.dat").write_text(xmu_text())
    err = pytest.raises(ReadError, read_feff_site, wrong).value
    assert err.path.endswith("POSCAR") and "site 0 of the POSCAR is O" in err.reason


# ----------------------------------------------------------------------------- folders

def molecule(i: int) -> Atoms:
    return Atoms("SOH2", positions=[[0, 0, 0], [1.5 + 0.01 * i, 0, 0], [0, 1.3, 0], [0, 0, 1.3]])


def test_pairs_folder_reads_the_good_pairs_and_names_the_bad_one(tmp_path):
    for i in range(4):
        write_extxyz(molecule(i), tmp_path / f"m{i}.extxyz")
        write_two_columns(tmp_path / f"m{i}.csv", ENERGY, gauss(ENERGY, 2470 + i))
    (tmp_path / "m2.csv").write_text("energy,intensity\n1,2\n3,oops\n")
    write_extxyz(molecule(9), tmp_path / "lonely.extxyz")
    (tmp_path / "notes.txt").write_text("not a spectrum")
    folder = read_spectrum_folder(tmp_path, edge="K")
    assert folder.layout == "pairs" and [r.name for r in folder.records] == ["m0", "m1", "m3"]
    assert sorted(folder.warnings) == ["lonely.extxyz: no spectrum lonely.txt/.csv/.dat beside it; "
                                       "skipped", "m2.csv, line 3: 'oops' is not a number"]
    r = folder.records[2]
    assert (r.absorber, r.spectrum.element, r.spectrum.edge, r.spectrum.site) == (0, "S", "K", 0)
    assert np.array_equal(r.spectrum.intensity, gauss(ENERGY, 2473))
    with pytest.raises(ReadError, match="lonely.extxyz"):
        read_spectrum_folder(tmp_path, strict=True)


def test_pairs_absorber_key_site_names_and_split_folders(tmp_path):
    a = molecule(0)
    a.info["absorber"] = 1
    (tmp_path / "train").mkdir()
    write_extxyz(a, tmp_path / "train" / "w.extxyz")
    write_two_columns(tmp_path / "train" / "w.txt", sep=" ", header="")
    (tmp_path / "test").mkdir()
    write_extxyz(molecule(1), tmp_path / "test" / "two.extxyz")
    for site in (0, 2):
        write_columns(Spectrum(ENERGY, gauss(ENERGY, 2470 + site), element=molecule(1)[site].symbol),
                      tmp_path / "test" / f"two.site{site}.csv")
    folder = read_spectrum_folder(tmp_path)
    assert folder.splits == {"test": 2, "train": 1}
    w = folder.subset("train")[0]
    assert (w.absorber, w.spectrum.element) == (1, "O")
    two = folder.subset("test")
    assert [(r.absorber, r.spectrum.element) for r in two] == [(0, "S"), (2, "H")]
    assert two[0].atoms is two[1].atoms and len(folder.structures) == 2
    # a spectrum whose header names another element than the absorber is a mismatched pair
    write_columns(Spectrum(ENERGY, ENERGY * 0 + 1, element="Fe"), tmp_path / "test" / "two.site1.csv")
    folder = read_spectrum_folder(tmp_path)
    assert len(folder) == 3 and "this spectrum is of Fe" in folder.warnings[0]


def test_xanesnet_layout_with_unpaired_files_and_trailing_absorber_line(tmp_path):
    for split, n in (("train", 3), ("test", 2)):
        (tmp_path / f"xyz_{split}").mkdir()
        (tmp_path / f"xanes_{split}").mkdir()
        for i in range(n):
            a = molecule(i)
            lines = [str(len(a)), "O=S"] + [f"{s} {x:.5f} {y:.5f} {z:.5f}"
                                              for s, (x, y, z) in zip(a.symbols, a.positions)]
            lines.append(lines[2])  # XANESNET files repeat the absorber after the last atom
            (tmp_path / f"xyz_{split}" / f"{i:03d}.xyz").write_text("\n".join(lines) + "\n")
            write_two_columns(tmp_path / f"xanes_{split}" / f"{i:03d}.txt", sep="\t",
                              header="ORCA\nEnergy\t<xanes>")
    write_two_columns(tmp_path / "xanes_train" / "999.txt", sep="\t")
    folder = read_spectrum_folder(tmp_path, edge="K")
    assert folder.layout == "xanesnet" and folder.splits == {"test": 2, "train": 3}
    assert folder.warnings == ["xanes_train/999.txt: no structure 999.xyz in xyz_train; skipped"]
    assert all(len(r.atoms) == 4 and r.atoms[0].symbol == "S" for r in folder.records)
    ss = folder.site_spectra("train")
    assert ss.intensity.shape == (3, len(ENERGY)) and np.array_equal(ss.energy, ENERGY)
    assert (ss.element, ss.edge, list(ss.structures)) == ("S", "K", [0, 1, 2])


def test_a_folder_whose_files_name_no_edge_gets_it_from_their_energies(tmp_path):
    """XANESNET's text spectra name no edge; 2460-2500 eV of an S absorber is the S K edge
    (X-ray Data Booklet 2472 eV), while S L2,3 (165 eV) and L1 (229 eV) are far off."""
    for i in range(3):
        write_extxyz(molecule(i), tmp_path / f"m{i}.extxyz")
        write_two_columns(tmp_path / f"m{i}.csv", ENERGY, gauss(ENERGY, 2470 + i))
    folder = read_spectrum_folder(tmp_path)
    assert {r.spectrum.edge for r in folder.records} == {"K"}
    assert folder.edge_note == "S K edge from the energies (2460–2500 eV; tabulated onset 2472 eV)"
    assert read_spectrum_folder(tmp_path, edge="L1").edge_note == ""  # the user's edge stands
    for i in range(3):  # an edge-relative axis says nothing
        write_two_columns(tmp_path / f"m{i}.csv", ENERGY - 2465.0, gauss(ENERGY, 2470 + i))
    folder = read_spectrum_folder(tmp_path)
    assert {r.spectrum.edge for r in folder.records} == {""} and folder.edge_note == ""


@pytest.mark.parametrize("element, low, high, expected", [
    ("S", 2395.0, 2445.0, ("K", 2472.0)), ("Si", 1830.0, 1900.0, ("K", 1839.0)),
    ("Ti", 450.0, 480.0, ("L2,3", 456.0)), ("Fe", 700.0, 740.0, ("L2,3", 708.0)),
    ("Cu", 8970.0, 9100.0, ("K", 8979.0)), ("S", -5.0, 25.0, None), ("Si", 1200.0, 1300.0, None),
])
def test_the_edge_of_an_absolute_energy_axis(element, low, high, expected):
    assert edge_of_energies(element, low, high) == expected


def test_feff_layout_progress_and_cancel(tmp_path):
    crystal = cu2o()
    for mp, site in (("mp-7", 2), ("mp-7", 5), ("mp-8", 3)):
        make_feff_site(tmp_path / mp, crystal, site)
    seen = []
    folder = read_spectrum_folder(tmp_path, progress=lambda f, m: seen.append(f))
    assert folder.layout == "feff" and len(folder) == 3 and not folder.problems
    assert [r.absorber for r in folder.records] == [2, 5, 3]
    assert folder.records[0].atoms is folder.records[1].atoms  # one crystal, read once
    assert seen[-1] == 1.0 and seen == sorted(seen)
    ss = folder.site_spectra()
    assert list(ss.sites) == [2, 5, 3] and list(ss.structures) == [0, 0, 1]
    assert ss.energy[0] == pytest.approx(8980.0 + 5) and ss.energy[-1] == pytest.approx(8980.0 + 2 + 19.5)
    with pytest.raises(Cancelled):
        read_spectrum_folder(tmp_path, cancel=lambda: True)


def test_not_a_spectrum_folder(tmp_path):
    with pytest.raises(ReadError, match="no site spectra found"):
        read_spectrum_folder(tmp_path)
    with pytest.raises(ReadError, match="no such folder"):
        read_spectrum_folder(tmp_path / "nothing")
    write_extxyz(molecule(0), tmp_path / "a.xyz")
    (tmp_path / "a.txt").write_text("")
    with pytest.raises(ReadError, match=r"no spectrum file could be read \(1 tried\).*empty"):
        read_spectrum_folder(tmp_path)


def test_common_grid_keeps_shared_grids_and_interpolates_over_the_overlap():
    same = [Spectrum(ENERGY, gauss(ENERGY, c)) for c in (2470, 2480)]
    assert common_grid(same) is not None and np.array_equal(common_grid(same), ENERGY)
    shifted = [Spectrum(ENERGY + shift, gauss(ENERGY + shift, 2480), label=str(shift))
               for shift in (0.0, 3.0, -2.0)]
    grid = common_grid(shifted)
    assert grid[0] == 2463.0 and grid[-1] == 2498.0 and np.allclose(np.diff(grid), 1.0)
    records = [SiteRecord(molecule(0), 0, replace(s, element="S")) for s in shifted]
    ss = site_spectra(records)
    assert np.allclose(ss.intensity, gauss(grid, 2480)[None, :], atol=0.05)  # no zero-filled ends
    apart = [Spectrum(ENERGY, ENERGY, label="low"), Spectrum(ENERGY + 100, ENERGY, label="high")]
    with pytest.raises(SpectrumError, match="no common energy range"):
        common_grid(apart)
    mixed = records[:1] + [SiteRecord(molecule(0), 1, Spectrum(ENERGY, ENERGY, element="O"))]
    with pytest.raises(SpectrumError, match="mix"):
        site_spectra(mixed)


# ----------------------------------------------------------------------------- shared data

def test_shared_cu_k_feff_sites(shared_data):
    root = shared_data / "spectra" / "cu_k_feff"
    folder = read_spectrum_folder(root)
    assert folder.layout == "feff" and len(folder) == 10 and not folder.problems
    for r in folder.records:
        s = r.spectrum
        assert (s.element, s.edge, s.site) == ("Cu", "K", r.absorber)
        assert r.atoms[r.absorber].symbol == "Cu" and r.atoms.pbc.all()
        assert r.absorber == int(r.name.split("/")[-1].split("_")[0])
        assert np.all(np.diff(s.energy) > 0) and 8980 < s.energy[0] < 8990 and len(s.energy) == 173
        # the cluster's first shell is the POSCAR site's first shell: the same site
        cluster = s.meta["cluster"]
        first_cluster = np.sort(np.linalg.norm(cluster.positions[1:] - cluster.positions[0], axis=1))[0]
        others = np.delete(np.arange(len(r.atoms)), r.absorber)
        _, d = get_distances(r.atoms.positions[r.absorber], r.atoms.positions[others],
                             cell=r.atoms.cell, pbc=True)
        assert d.min() == pytest.approx(first_cluster, abs=2e-3)
    ss = folder.site_spectra()
    assert ss.intensity.shape[0] == 10 and len(folder.structures) == 7


def test_shared_xanesnet_s_k_pairs(shared_data):
    root = shared_data / "spectra" / "xanesnet_s_k"
    folder = read_spectrum_folder(root, edge="K")
    expected = {}
    for split in ("train", "test"):
        structures = {p.stem for p in (root / f"xyz_{split}").glob("*.xyz")}
        spectra = {p.stem for p in (root / f"xanes_{split}").glob("*.txt")}
        expected[split] = len(structures & spectra)
        assert len(folder.subset(split)) == expected[split]
    # on disk: 110 structures and 110 spectra, of which 108 share a name (98 train + 10 test)
    assert expected == {"train": 98, "test": 10}
    assert len(folder.problems) == 4 and all("skipped" in w for w in folder.warnings)
    for r in folder.records:
        assert r.absorber == 0 and r.atoms[0].symbol == "S" and r.spectrum.element == "S"
        e = r.spectrum.energy
        assert len(e) == 400 and e[0] == 2395.0 and e[-1] == 2445.0
    ss = folder.site_spectra()
    assert ss.intensity.shape == (108, 400) and (ss.element, ss.edge) == ("S", "K")


def test_shared_eels_files_still_read(shared_data):
    eels = shared_data / "eels"
    core = read_columns(eels / "exspy" / "coreloss_spectrum.msa")
    assert len(core.energy) == 2048 and core.energy[0] == 360.0
    assert core.energy[1] == pytest.approx(360.2)
    yag = read_columns(eels / "eelsdb" / "YAG_O_K_Sigle-Sturm.msa")
    assert len(yag.energy) == 1340 and yag.energy[0] == 510.0
    ta = read_columns(eels / "eelsdb" / "ta2o5-amoprhou.headerless_2col.txt")
    assert ta.energy[0] == 150.0 and len(ta.energy) > 100


def test_cancel_is_asked_between_every_two_files(tmp_path):
    """Progress goes by chunks of a fiftieth of the folder, but a CASTEP run takes 0.1 s to read:
    Cancel must not wait for a whole chunk of them."""
    for i in range(150):  # chunks of 3
        write_extxyz(molecule(i % 5), tmp_path / f"m{i}.extxyz")
        write_two_columns(tmp_path / f"m{i}.csv", ENERGY, gauss(ENERGY, 2470 + i % 7))
    asked = []
    folder = read_spectrum_folder(tmp_path, edge="K", cancel=lambda: asked.append(1) and False)
    assert len(folder) == 150 and len(asked) >= 150

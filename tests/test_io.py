"""Structure I/O: formats, lazy frames, errors a person can act on, atomic writes, big files."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import ase.io
from ase import Atoms
from ase.build import bulk

from amorpha.engine.io import (
    FILE_FILTERS,
    LARGE_FILE_BYTES,
    SUPPORTED_EXTENSIONS,
    StructureReadError,
    open_structure,
    read_structure,
    size_warning,
    validate_atoms,
    write_extxyz,
)
from amorpha.engine.tasks import Cancelled
from gil_probe import least_gil_wait

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "structures"


def shared(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def assert_same_atoms(a: Atoms, b: Atoms) -> None:
    assert np.array_equal(a.numbers, b.numbers)
    assert np.allclose(a.positions, b.positions, rtol=0, atol=1e-12)
    assert np.allclose(a.cell, b.cell)
    assert np.array_equal(a.pbc, b.pbc)
    assert sorted(a.arrays) == sorted(b.arrays)
    for key in a.arrays:
        assert np.array_equal(a.arrays[key], b.arrays[key]), key


def silicon_frames(n: int) -> list[Atoms]:
    frames = []
    for k in range(n):
        atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
        atoms.rattle(0.05, seed=k)
        atoms.new_array("q6", np.linspace(0, 1, len(atoms)) + k)
        atoms.info["step"] = k
        frames.append(atoms)
    return frames


# ----------------------------------------------------------------------------- shared examples

def test_sovapy_xyz_amorphous_silica():
    atoms = read_structure(shared("sovapy", "a_SiO2_speed1e11K.xyz"))
    assert len(atoms) == 999
    assert (atoms.numbers == 14).sum() == 333 and (atoms.numbers == 8).sum() == 666
    assert np.allclose(atoms.cell, np.eye(3) * 24.713)
    assert atoms.pbc.all()


def test_sovapy_tri_cell_matches_extxyz_twin():
    sov = open_structure(shared("crystals", "alpha_quartz_444_sovapy.xyz"))
    assert sov.format == "sovapy-xyz" and len(sov) == 1
    atoms = sov[0]
    assert len(atoms) == 576
    assert np.allclose(atoms.cell.cellpar(), [19.6536, 19.6536, 21.6208, 90, 90, 120], atol=1e-4)


def test_rmc_cfg_placeholders_and_symbols():
    path = shared("sovapy", "sio.cfg")
    traj = open_structure(path)
    assert traj.format == "rmc-cfg"
    atoms = traj[0]
    assert len(atoms) == 3000
    assert np.allclose(atoms.cell, np.eye(3) * 35.662, atol=1e-3)
    assert set(atoms.numbers) == {1, 2} and "symbols=" in atoms.info["warning"]
    named = read_structure(path, symbols=["Si", "O"])
    assert (named.numbers == 14).sum() == 1000 and (named.numbers == 8).sum() == 2000
    assert "warning" not in named.info
    frac = named.get_scaled_positions(wrap=False)
    assert frac.min() >= -1e-9 and frac.max() <= 1 + 1e-9
    with pytest.raises(StructureReadError, match="2 atom types"):
        read_structure(path, symbols=["Si"])


@pytest.mark.parametrize("name, natoms", [("aC.cfg", 4001), ("aSi.cfg", 64)])
def test_atomeye_cfg_through_ase(name, natoms):
    path = shared("matscipy", name)
    traj = open_structure(path)
    assert traj.format == "cfg"
    assert_same_atoms(traj[0], ase.io.read(path))
    assert len(traj[0]) == natoms


def test_extxyz_fast_path_equals_ase_with_calculator_columns():
    path = shared("matscipy", "aSi_N64.xyz")  # forces, momenta, masses, energy: ASE semantics
    ours, theirs = read_structure(path), ase.io.read(path)
    assert_same_atoms(ours, theirs)
    assert ours.info == theirs.info
    assert np.array_equal(ours.get_forces(), theirs.get_forces())


def test_cif():
    path = shared("crystals", "alpha_quartz_unitcell.cif")
    traj = open_structure(path)
    assert traj.format == "cif" and len(traj[0]) == 9


# ----------------------------------------------------------------------------- formats written here

def test_multi_frame_extxyz_is_lazy_and_equal_to_ase(tmp_path):
    path = tmp_path / "five.extxyz"
    ase.io.write(path, silicon_frames(5), format="extxyz")
    traj = open_structure(path)
    assert len(traj) == 5 and traj.format == "extxyz"
    for i in (0, 3, -1, 1):
        ours, theirs = traj[i], ase.io.read(path, index=i)
        assert_same_atoms(ours, theirs)
        assert ours.info == theirs.info
    assert len(traj[1:3]) == 2
    with pytest.raises(IndexError):
        traj[5]


def test_lammps_dump_three_frames(tmp_path):
    frames = silicon_frames(3)
    path = tmp_path / "run.lammpstrj"
    with open(path, "w") as f:
        for k, atoms in enumerate(frames):
            L = atoms.cell[0, 0]
            f.write(f"ITEM: TIMESTEP\n{k * 100}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n")
            f.write(f"ITEM: BOX BOUNDS pp pp pp\n0 {L}\n0 {L}\n0 {L}\nITEM: ATOMS id type x y z\n")
            for i, (x, y, z) in enumerate(atoms.positions):
                f.write(f"{i + 1} {1 + i % 2} {x:.8f} {y:.8f} {z:.8f}\n")
    traj = open_structure(path)
    assert traj.format == "lammps-dump-text" and len(traj) == 3
    for i in range(3):
        ours = traj[i]
        theirs = ase.io.read(path, index=i, format="lammps-dump-text")
        assert np.allclose(ours.positions, theirs.positions)
        assert np.array_equal(ours.numbers, theirs.numbers)
        assert set(ours.numbers) == {1, 2} and "atomic numbers" in ours.info["warning"]
    named = read_structure(path, index=2, symbols=["Si", "O"])
    assert set(named.numbers) == {14, 8} and "warning" not in named.info


def test_lammps_dump_with_element_column(tmp_path):
    path = tmp_path / "el.dump"
    path.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n2\nITEM: BOX BOUNDS pp pp pp\n"
                    "0 5\n0 5\n0 5\nITEM: ATOMS id type element x y z\n"
                    "1 1 Si 0 0 0\n2 2 O 1 1 1\n")
    atoms = read_structure(path)
    assert list(atoms.get_chemical_symbols()) == ["Si", "O"] and "warning" not in atoms.info


@pytest.mark.parametrize("name, fmt", [("POSCAR", "vasp"), ("model.pdb", "proteindatabank"),
                                       ("model.xsf", "xsf"), ("model.cif", "cif"),
                                       ("model.lmp", "lammps-data")])
def test_ase_formats_round_trip(tmp_path, name, fmt):
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    path = tmp_path / name
    kwargs = {"atom_style": "atomic"} if fmt == "lammps-data" else {}
    ase.io.write(path, atoms, format=fmt, **kwargs)
    traj = open_structure(path)
    assert traj.format == fmt
    got = traj[0]
    assert len(got) == 8
    assert np.allclose(got.cell.lengths(), atoms.cell.lengths(), atol=1e-3)


def test_lammps_data_types_warn_without_masses(tmp_path):
    path = tmp_path / "box.data"
    path.write_text("test\n\n2 atoms\n2 atom types\n\n0 5 xlo xhi\n0 5 ylo yhi\n0 5 zlo zhi\n\n"
                    "Atoms # atomic\n\n1 1 0 0 0\n2 2 1 1 1\n")
    atoms = read_structure(path)
    assert list(atoms.numbers) == [1, 2] and "symbols=" in atoms.info["warning"]
    assert list(read_structure(path, symbols=["Si", "O"]).numbers) == [14, 8]


def test_plain_xyz_and_content_sniffing(tmp_path):
    text = "2\nwater-ish\nO 0 0 0\nH 0.9 0 0\n"
    (tmp_path / "a.xyz").write_text(text)
    (tmp_path / "a.weird").write_text(text)
    for name in ("a.xyz", "a.weird"):
        traj = open_structure(tmp_path / name)
        assert traj.format == "xyz" and len(traj[0]) == 2
        assert not traj[0].pbc.any()


def test_sovapy_cell_keywords(tmp_path):
    cases = {"HEX 3 5": [3, 3, 5, 90, 90, 120], "ORT 3 4 5": [3, 4, 5, 90, 90, 90],
             "TET 3 5": [3, 3, 5, 90, 90, 90], "MON 3 4 5 100": [3, 4, 5, 90, 100, 90],
             "RHO 4 70": [4, 4, 4, 70, 70, 70],
             "TRI\n2 0 0\n0 3 0\n0 0 4": [2, 3, 4, 90, 90, 90]}
    for k, (line, par) in enumerate(cases.items()):
        path = tmp_path / f"s{k}.xyz"
        path.write_text(f"2\n{line}\nSi 0.1 0.1 0.1\nO 1 1 1\n")
        traj = open_structure(path)
        assert traj.format == "sovapy-xyz"
        atoms = traj[0]
        assert np.allclose(atoms.cell.cellpar(), par), line
        assert atoms.positions[1, 2] == 1.0
    bad = tmp_path / "bad.xyz"
    bad.write_text("1\nHEX 3\nSi 0 0 0\n")
    with pytest.raises(StructureReadError, match="needs 2 numbers") as err:
        open_structure(bad)
    assert err.value.line == 2


@pytest.mark.parametrize("line, reason", [
    ("CUB -5", "the cell line 'CUB' gives a = -5; a box length must be a positive number of Å"),
    ("CUB 0", "the cell line 'CUB' gives a = 0; a box length"),
    ("ORT 3 -4 5", "the cell line 'ORT' gives b = -4; a box length"),
    ("HEX 3 -5", "the cell line 'HEX' gives c = -5; a box length"),
    ("CUB nan", "the cell line 'CUB' gives a = nan; a box length"),
    ("MON 3 4 5 180", "the cell line 'MON' gives beta = 180; it must lie between 0 and 180°"),
    ("RHO 4 130", "the cell line 'RHO' gives alpha = 130; it must lie between 0 and 120°"),
])
def test_a_sovapy_cell_of_no_length_or_angle_is_refused_at_its_line(tmp_path, line, reason):
    """``CUB -5`` opened as an inverted 5 Å box without a word, ``CUB 0`` was refused without its
    line, and ``RHO 4 130`` (three such angles make no cell) failed as a bare AssertionError."""
    path = tmp_path / "box.xyz"
    path.write_text(f"2\n{line}\nSi 0.1 0.1 0.1\nO 1 1 1\n")
    err = _bad(path)
    assert err.reason.startswith(reason) and err.line == 2
    assert str(err).startswith("box.xyz, line 2: ")


def test_a_sovapy_tri_cell_may_point_any_way(tmp_path):
    """TRI gives the vectors themselves: a negative component is a direction, not a length."""
    path = tmp_path / "tri.xyz"
    path.write_text("2\nTRI -2 0 0 0 3 0 0 0 4\nSi 0.1 0.1 0.1\nO 1 1 1\n")
    assert read_structure(path).cell.volume == pytest.approx(24.0)


def test_a_negative_poscar_scale_is_the_cell_volume(tmp_path):
    """VASP reads a negative scale factor as the cell's volume in Å³; ASE's reader, which opens
    POSCARs, applies it so (checked here so that an ASE upgrade that stops doing so is seen)."""
    path = tmp_path / "POSCAR"
    path.write_text("Si2, volume given\n-160.0\n 1.0 0.0 0.0\n 0.0 1.0 0.0\n 0.0 0.0 1.0\n"
                    "Si\n2\nDirect\n 0.0 0.0 0.0\n 0.25 0.25 0.25\n")
    assert read_structure(path).cell.volume == pytest.approx(160.0)


# ----------------------------------------------------------------------------- writing

def test_write_extxyz_round_trip_arrays_and_info(tmp_path):
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    n = len(atoms)
    atoms.new_array("coordination", np.arange(n) % 5)
    atoms.new_array("q6", np.linspace(0.1, 0.9, n))
    atoms.new_array("ring_vec", np.random.default_rng(1).random((n, 3)))
    atoms.info.update(model="test", temperature=300.5)
    path = tmp_path / "out.extxyz"
    write_extxyz(atoms, path)
    back = read_structure(path)
    # ASE writes reals as %16.8f: floats come back to 8 decimals, integers exactly.
    assert np.array_equal(back.arrays["coordination"], atoms.arrays["coordination"])
    assert back.arrays["coordination"].dtype.kind == "i"
    for key in ("q6", "ring_vec"):
        assert back.arrays[key].shape == atoms.arrays[key].shape
        assert np.allclose(back.arrays[key], atoms.arrays[key], rtol=0, atol=5e-9), key
    assert back.info["model"] == "test" and back.info["temperature"] == 300.5
    assert [p.name for p in tmp_path.iterdir()] == ["out.extxyz"]  # no temporary left over
    write_extxyz(silicon_frames(2), path)
    assert len(open_structure(path)) == 2


def test_write_extxyz_reports_progress_and_cancels_mid_frame(tmp_path):
    """ASE writes a frame in one call (10⁶ atoms: 3 s without a progress bar, and Cancel waited for
    it): the file is ASE's, byte for byte, progress comes every MB, and a cancel stops within a
    MB, leaving the file that was there."""
    atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((30, 30, 30))  # 108k atoms, ~9 MB
    atoms.new_array("coordination", np.full(len(atoms), 12))
    atoms.info["model"] = "fcc"
    ours, theirs = tmp_path / "ours.extxyz", tmp_path / "theirs.extxyz"
    reports = []
    write_extxyz(atoms, ours, progress=lambda f, m="": reports.append(f))
    ase.io.write(theirs, atoms, format="extxyz")
    assert ours.read_bytes() == theirs.read_bytes()
    assert len(reports) >= 5 and reports == sorted(reports) and 0.9 < reports[-1] < 1.0

    theirs.write_text("previous content\n")
    ticks = []
    with pytest.raises(Cancelled):
        write_extxyz(atoms, theirs, cancel=lambda: len(ticks) >= 2, progress=lambda f, m="": ticks.append(f))
    assert ticks[-1] < 0.5  # stopped early, not after ASE's whole frame
    assert theirs.read_text() == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours.extxyz", "theirs.extxyz"]


def test_write_extxyz_failure_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.extxyz"
    path.write_text("old")

    def half_write(f, frames, format):
        f.write("1\npartial")
        raise OSError("disk full")

    monkeypatch.setattr(ase.io, "write", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_extxyz(Atoms("Si", positions=[[0, 0, 0]]), path)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.extxyz"]


def test_a_cancelled_write_leaves_the_old_file(tmp_path):
    """Save As cancelled while ASE writes: the file already there stays (a cancelled save of a
    10⁶-atom model was renamed over the target once written), and no temporary is left."""
    path = tmp_path / "keep.extxyz"
    path.write_text("old")
    for frames_written in (0, 1):  # cancelled after the first frame, or after the last (before the rename)
        calls = iter(range(100))
        with pytest.raises(Cancelled):
            write_extxyz(silicon_frames(2), path, cancel=lambda: next(calls) > frames_written)
        assert path.read_text() == "old"
        assert [p.name for p in tmp_path.iterdir()] == ["keep.extxyz"]


# ----------------------------------------------------------------------------- bad input

def _bad(path, **kw) -> StructureReadError:
    with pytest.raises(StructureReadError) as err:
        open_structure(path, **kw)
    assert err.value.path == os.fspath(path)
    assert err.value.reason and str(err.value).startswith(Path(path).name)
    return err.value


def test_empty_file(tmp_path):
    (tmp_path / "e.xyz").write_bytes(b"")
    assert "empty" in _bad(tmp_path / "e.xyz").reason


def test_truncated_xyz_gives_line(tmp_path):
    path = tmp_path / "t.xyz"
    path.write_text("5\ncomment\nSi 0 0 0\nSi 1 1 1\n")
    err = _bad(path)
    assert err.line == 5 and "5 atoms" in err.reason


def test_a_broken_tail_after_complete_frames_is_ignored_with_a_warning(tmp_path):
    """A run still writing its last frame, or XANESNET's absorber line repeated after the atoms:
    the complete frames open, and the structure's warning names the line where reading stopped."""
    frame = "2\nstep\nSi 0 0 0\nO 1.6 0 0\n"
    path = tmp_path / "run.xyz"
    path.write_text(frame * 3 + "2\nstep\nSi 0 0 0\n")
    traj = open_structure(path)
    assert len(traj) == 3
    first = traj[0]
    assert first.get_chemical_symbols() == ["Si", "O"]
    assert first.info["warning"] == ("run.xyz, line 16: the frame says 2 atoms but the file ends "
                                     "after 1 atom lines (the 3 complete frames before it are "
                                     "shown; the rest is ignored)")
    path.write_text(frame + "Si 0 0 0\n")
    assert "line 5: expected the number of atoms" in read_structure(path).info["warning"]


def test_short_coordinate_line(tmp_path):
    path = tmp_path / "quartz.xyz"
    lines = ["Si 0 0 0"] * 12
    lines[9] = "Si 1.0 2.0"
    path.write_text("12\n\n" + "\n".join(lines) + "\n")
    err = _bad(path)
    assert str(err) == "quartz.xyz, line 12: expected 3 coordinates, found 2"


def test_bad_number(tmp_path):
    path = tmp_path / "n.xyz"
    path.write_text("2\n\nSi 0 0 0\nSi 1 x 1\n")
    err = _bad(path)
    assert err.line == 4 and "'1 x 1'" in err.reason


def test_unknown_element(tmp_path):
    path = tmp_path / "u.xyz"
    path.write_text("2\n\nSi 0 0 0\nQq 1 1 1\n")
    err = _bad(path)
    assert err.line == 4 and "Qq" in err.reason


def test_random_bytes(tmp_path):
    path = tmp_path / "r.xyz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert "binary" in _bad(path).reason


def test_unknown_extension(tmp_path):
    path = tmp_path / "notes.foo"
    path.write_text("hello\nworld\n")
    err = _bad(path)
    assert "unknown file type '.foo'" in err.reason and ".xyz" in err.reason


def test_nan_coordinates(tmp_path):
    path = tmp_path / "nan.xyz"
    path.write_text("3\n\nSi 0 0 0\nSi 1 1 1\nSi nan 0 0\n")
    err = _bad(path)
    assert "atom 2" in err.reason and err.line == 5


def test_zero_volume_cell(tmp_path):
    path = tmp_path / "flat.extxyz"
    path.write_text('1\nLattice="5 0 0 0 5 0 0 0 0" Properties=species:S:1:pos:R:3 pbc="T T T"\n'
                    "Si 0 0 0\n")
    assert "zero volume" in _bad(path).reason


def test_nonexistent_file_and_directory(tmp_path):
    assert "no such file" in _bad(tmp_path / "missing.xyz").reason
    assert "folder" in _bad(tmp_path).reason


def test_ase_errors_are_converted(tmp_path):
    path = tmp_path / "broken.cif"
    path.write_text("data_x\n_cell_length_a 5\nloop_\n_atom_site_label\n")
    err = _bad(path)
    assert isinstance(err, StructureReadError)


def test_a_file_named_for_another_format_says_which_reader_failed(tmp_path):
    """extxyz text saved as .cif: ASE's cif reader fails on a bare assertion; the message names
    the format the name chose and what to do."""
    path = tmp_path / "model.cif"
    path.write_text("2\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n"
                    "Si 0 0 0\nSi 1.3 1.3 1.3\n")
    reason = _bad(path).reason
    assert reason.startswith("cannot read this file as cif (the cif reader failed: AssertionError")
    assert reason.endswith("if it is not cif, give it the extension of its real format"), reason


def test_zero_atoms(tmp_path):
    path = tmp_path / "z.xyz"
    path.write_text("0\n\n")
    assert "no atoms" in _bad(path).reason


def test_validate_atoms_directly():
    with pytest.raises(StructureReadError, match="no atoms"):
        validate_atoms(Atoms())
    atoms = Atoms("Si2", positions=[[0, 0, 0], [1, 1, 1]], cell=[[1, 0, 0], [2, 0, 0], [0, 0, 1]],
                  pbc=True)
    with pytest.raises(StructureReadError, match="zero volume"):
        validate_atoms(atoms)
    atoms.pbc = False
    validate_atoms(atoms)


def test_error_message_shape():
    err = StructureReadError("/x/quartz.xyz", 12, "expected 3 coordinates, found 2")
    assert str(err) == "quartz.xyz, line 12: expected 3 coordinates, found 2"
    assert str(StructureReadError("/x/a.cif", None, "bad")) == "a.cif: bad"


# ----------------------------------------------------------------------------- misc API

def test_filters_and_size_warning(tmp_path):
    assert FILE_FILTERS[0].startswith("Structures (") and FILE_FILTERS[-1] == "All files (*)"
    assert ".xyz" in SUPPORTED_EXTENSIONS and ".lammpstrj" in SUPPORTED_EXTENSIONS
    small = tmp_path / "s.xyz"
    small.write_text("1\n\nSi 0 0 0\n")
    assert size_warning(small) is None
    big = tmp_path / "big.xyz"
    with open(big, "wb") as f:
        f.truncate(2 * 2**30)  # sparse: costs no disk
    message = size_warning(big)
    assert message.startswith("big.xyz is 2.0 GB") and "memory" in message
    assert LARGE_FILE_BYTES == 512 * 2**20


def test_progress_and_cancel(tmp_path):
    path = tmp_path / "p.xyz"
    ase.io.write(path, silicon_frames(3), format="extxyz")
    seen = []
    open_structure(path, progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    with pytest.raises(Cancelled):
        open_structure(path, cancel=lambda: True)


# ----------------------------------------------------------------------------- big files

def _write_big_xyz(path: Path, n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    pos = np.round(rng.random((n, 3)) * 100.0, 6)
    sym = np.where(np.arange(n) % 3 == 0, "Si", "O").astype(object)
    with open(path, "w") as f:
        f.write(f'{n}\nLattice="100 0 0 0 100 0 0 0 100" Properties=species:S:1:pos:R:3\n')
        np.savetxt(f, np.column_stack([sym, pos]), fmt="%s %.6f %.6f %.6f")
    return pos


def test_million_atoms_keep_the_gil_free(tmp_path):
    n = 10**6
    path = tmp_path / "big.xyz"
    pos = _write_big_xyz(path, n)
    atoms, seconds, worst = least_gil_wait(lambda: open_structure(path)[0], 0.1)
    assert len(atoms) == n and np.array_equal(atoms.positions, pos)
    assert (atoms.numbers == 14).sum() == (n + 2) // 3
    assert worst < 0.1, f"main thread starved for {worst * 1e3:.0f} ms"
    assert seconds < 10


def test_crlf_and_missing_final_newline(tmp_path):
    path = tmp_path / "w.xyz"
    path.write_bytes(b"2\r\ncomment\r\nSi 0 0 0\r\nO 1 2 3")
    atoms = read_structure(path)
    assert list(atoms.numbers) == [14, 8] and atoms.positions[1, 2] == 3.0


def test_cancel_midway_through_a_frame(tmp_path):
    path = tmp_path / "mid.xyz"
    _write_big_xyz(path, 200_000)
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 4

    with pytest.raises(Cancelled):
        open_structure(path, cancel=cancel)


def test_write_extxyz_gives_a_normal_file_mode(tmp_path):
    """The atomic write goes through mkstemp (0600); the result must be readable like any file."""
    from amorpha.engine.atomic import _umask

    write_extxyz(Atoms("Si2", positions=[[0, 0, 0], [1, 1, 1]]), tmp_path / "m.extxyz")
    assert (tmp_path / "m.extxyz").stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_extxyz_with_fixed_atoms_reads_through_ase(tmp_path):
    """A move_mask column takes ASE's reader, whose read_xyz became a generator in ASE 3.29."""
    from ase.build import bulk
    from ase.constraints import FixAtoms

    atoms = bulk("Cu", "fcc", 3.6, cubic=True)
    atoms.set_constraint(FixAtoms([0, 1]))
    write_extxyz(atoms, tmp_path / "fixed.extxyz")
    back = read_structure(tmp_path / "fixed.extxyz")
    assert len(back) == 4 and list(back.constraints[0].index) == [0, 1]


def test_a_cif_without_a_complete_cell_is_refused_not_read_as_angstroms(tmp_path):
    """ASE takes fractional coordinates as Å when the CIF has no cell, or lengths without angles:
    a 5 Å cubic cell without its angles opened as two atoms 0.87 Å apart, bonded, and periodic
    in nothing. The refusal names what is missing; a molecule in Cartesian coordinates needs no
    cell and still opens."""
    sites = ("loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
             "_atom_site_fract_z\nSi1 Si 0 0 0\nO1 O 0.5 0.5 0.5\n")
    lengths = "_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n"
    angles = "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
    (no_angles := tmp_path / "no_angles.cif").write_text("data_x\n" + lengths + sites)
    assert "no _cell_angle_alpha, _cell_angle_beta, _cell_angle_gamma" in _bad(no_angles).reason
    (no_cell := tmp_path / "no_cell.cif").write_text("data_x\n" + sites)
    assert "fractional coordinates but the cell is incomplete (no _cell_length_a" in _bad(no_cell).reason
    (whole := tmp_path / "whole.cif").write_text("data_x\n" + lengths + angles + sites)
    atoms = open_structure(whole).read(0)
    assert atoms.cell.rank == 3 and atoms.positions[1] == pytest.approx([2.5, 2.5, 2.5])
    (molecule := tmp_path / "molecule.cif").write_text(
        "data_m\nloop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_Cartn_x\n_atom_site_Cartn_y\n"
        "_atom_site_Cartn_z\nO1 O 0 0 0\nH1 H 0.96 0 0\nH2 H -0.24 0.93 0\n")
    assert len(open_structure(molecule).read(0)) == 3


def test_latin1_text_is_named_by_its_line_not_called_binary(tmp_path):
    """An "é" in Latin-1 on a comment line is text in another encoding, not binary data."""
    path = tmp_path / "latin1.xyz"
    path.write_bytes(b"1\nmod\xe9le\nSi 0 0 0\n")
    err = _bad(path)
    assert err.line == 2 and "binary" not in err.reason and "UTF-8" in err.reason


def test_a_cell_packed_beyond_any_solid_is_refused(tmp_path):
    """3000 Si in a 3 Å cube (a cell in nm, or wrong) made 13 million bonds and 4 GB before anything
    was said; diamond, the densest solid, holds 0.18 atoms/Å³. α-quartz itself opens."""
    from amorpha.engine.build.crystals import alpha_quartz

    dense = Atoms("Si3000", positions=np.random.default_rng(0).random((3000, 3)) * 3.0, cell=[3.0] * 3, pbc=True)
    write_extxyz(dense, path := tmp_path / "dense.extxyz")
    assert "111 atoms/Å³, more than five times the densest solid" in _bad(path).reason
    write_extxyz(alpha_quartz((2, 2, 2)), path)
    assert len(open_structure(path).read(0)) == 72


def test_an_atomic_number_no_element_has_is_refused(tmp_path):
    """LAMMPS types beyond 118 (or a damaged file) became numbers the viewer's colour table
    indexes past its end; the check every reader (and every project) applies names the atom."""
    from amorpha.engine.io import validate_atoms

    atoms = Atoms(numbers=[14, 200, 8], positions=np.eye(3))
    with pytest.raises(StructureReadError, match="atom 1 has the atomic number 200, which no element has"):
        validate_atoms(atoms, tmp_path / "x.xyz")
    validate_atoms(Atoms("XSiO", positions=np.eye(3)))  # ASE's "X" (0) is a placeholder an xyz may hold


def test_a_readers_own_exception_is_said_in_words(tmp_path):
    """A LAMMPS data file listing fewer atoms than its header counts ended as "StopIteration", a
    CIF with a 0° angle as "Singular matrix": now what they mean, with the reader's words kept."""
    (short := tmp_path / "short.data").write_text(
        "test\n\n3 atoms\n1 atom types\n\n0 5 xlo xhi\n0 5 ylo yhi\n0 5 zlo zhi\n\nAtoms # atomic\n\n1 1 0 0 0\n")
    assert "ends before the data its header announces" in _bad(short, symbols=["Si"]).reason
    (flat := tmp_path / "flat.cif").write_text(
        "data_x\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n_cell_angle_alpha 0\n_cell_angle_beta 90\n"
        "_cell_angle_gamma 90\nloop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"
        "_atom_site_fract_y\n_atom_site_fract_z\nSi1 Si 0 0 0\n")
    assert "its cell cannot be built" in _bad(flat).reason


def test_a_write_that_cannot_start_names_the_file_asked_for(tmp_path):
    """Saving into a folder that does not exist said "No such file or directory:
    '.x.amorpha.599oscyr.tmp'", the temporary written beside the target; now the target."""
    from amorpha.engine.atomic import atomic_write

    target = tmp_path / "missing" / "x.amorpha"
    with pytest.raises(FileNotFoundError) as err:
        with atomic_write(target) as handle:
            handle.write("never")
    assert err.value.filename == str(target) and ".tmp" not in str(err.value)

"""The .amorpha project file: exact round trips, atomic saves (kill, cancel), clear errors on bad files."""
import dataclasses
import io
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import ase.io
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixAtoms

from amorpha.engine import project as P
from amorpha.engine.build.crystals import alpha_quartz, beta_cristobalite
from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.order.rings import RingParams, RingResult, compute_rings
from amorpha.engine.project import (PROJECT_EXTENSION, PROJECT_FILTER, AnalysisResult, Project, load_project,
                                    looks_like_project, peek_project, save_project)
from amorpha.engine.spectra.spectrum import SiteSpectra, Spectrum
from amorpha.engine.descriptors import SoapParams
from amorpha.engine.surrogate.model import SpectrumModel, SurrogateParams
from amorpha.engine.tasks import Cancelled

ENERGY = np.linspace(1830.0, 1870.0, 161)


# ----------------------------------------------------------------------------- building a project

def decorated_quartz() -> Atoms:
    """α-quartz with every kind of per-atom array and info entry a session may attach."""
    atoms = alpha_quartz((2, 2, 1))
    n = len(atoms)
    rng = np.random.default_rng(1)
    atoms.positions += rng.normal(0.0, 0.05, (n, 3))  # digits extxyz would round away
    atoms.arrays["charge"] = rng.normal(size=n)
    atoms.arrays["kind"] = rng.integers(0, 5, n).astype(np.int32)
    atoms.arrays["selected"] = rng.random(n) > 0.5
    atoms.arrays["displacement"] = rng.normal(size=(n, 3))
    atoms.arrays["q32"] = rng.random(n).astype(np.float32)
    atoms.arrays["label"] = np.array([f"a{i}" for i in range(n)])
    atoms.set_tags(np.arange(n) % 3)
    atoms.info.update({
        "name": "α-quartz 2×2×1 (perturbed)",
        "temperature": 300.5, "steps": 12, "ok": True, "nothing": None,
        "history": ["built", "perturbed"], "pair": (1, 2.5, "x"),
        "params": {"seed": 1, "sigma": 0.05, "by_size": {4: 0.1, 6: 0.9}},
        "weights": rng.random(4), "scale": np.float32(1.25), "count": np.int64(7),
    })
    atoms.set_constraint(FixAtoms(indices=[0, 3, 5]))
    atoms.calc = SinglePointCalculator(atoms, energy=-12.5, forces=rng.normal(size=(n, 3)))
    return atoms


def small_training_set(n=40, seed=0):
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, (n, 4))
    pos = 1845 + 3 * np.tanh(x[:, 0])
    y = np.exp(-0.5 * ((ENERGY - pos[:, None]) / (1 + 0.3 * x[:, 1, None] ** 2)) ** 2)
    return x, SiteSpectra(ENERGY, y, np.arange(n), "Si", "K", "synthetic")


@pytest.fixture(scope="module")
def rings():
    crystal = beta_cristobalite((2, 2, 2))
    return crystal, compute_rings(crystal, RingParams(max_size=12, count_element="Si"))


@pytest.fixture(scope="module")
def model():
    x, y = small_training_set()
    soap = SoapParams(species=("Si",), n_max=1, l_max=3).to_dict()  # 4 features, as small_training_set makes
    return SpectrumModel.train(x, y, soap, SurrogateParams(regressor="gp"),
                               reference="synthetic")


@pytest.fixture
def project(rings, model):
    crystal, ring_result = rings
    rng = np.random.default_rng(2)
    measured = Spectrum(ENERGY, np.exp(-0.5 * ((ENERGY - 1847) / 1.5) ** 2) + rng.normal(0, 0.01, len(ENERGY)),
                        label="Si K measured", source="/data/si_k.csv", element="Si", edge="K",
                        broadening={"gaussian_fwhm": 0.5}, meta={"TITLE": "sample 3", "e0": 1846.2,
                                                                 "cluster": crystal[:5]})
    predicted = Spectrum(ENERGY, np.linspace(0, 1, len(ENERGY)), label="average", source="surrogate",
                         element="Si", edge="K", site=4)
    x, train = small_training_set(12, seed=3)
    sites = SiteSpectra(ENERGY, train.intensity, np.arange(12) * 3, "Si", "K", "xTB (qualitative)",
                        structures=np.arange(12) % 2, labels=[f"site {i}" for i in range(12)],
                        meta={"onset_at_ev": 0.9, "onset_at_from": "a measured peak"},
                        distance=np.linspace(0.2, 3.0, 12))
    coordination = AnalysisResult("coordination", {"z": rng.integers(0, 5, len(crystal)),
                                                   "pairs": rng.random((len(crystal), 2))},
                                  {"cutoff": 2.0, "elements": ("Si", "O")}, structure="cristobalite")
    return Project(
        structures={"quartz": decorated_quartz(), "cristobalite": crystal},
        spectra={"measured": measured, "predicted": predicted},
        site_spectra={"xtb sites": sites},
        results={"rings": AnalysisResult.from_dataclass(ring_result, "cristobalite"), "coordination": coordination},
        models={"Si K surrogate": model},
        view={"camera": {"azimuth": 30.0, "elevation": 12.5, "distance": 40.0}, "colour_by": "ring_count",
              "slab": {"axis": 2, "from": 0.25, "to": 0.75}, "selected_atom": 17, "docks": ["spectra", "rings"]},
        meta={"title": "Si K of quartz"},
    )


# ----------------------------------------------------------------------------- comparing

def assert_same_value(a, b, where="value"):
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same_value(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_value(x, y, f"{where}[{i}]")
    elif isinstance(a, Atoms):
        assert_same_atoms(a, b, where)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_atoms(a: Atoms, b: Atoms, where="atoms"):
    assert list(a.arrays) == list(b.arrays), where
    for key in a.arrays:
        assert_same_value(a.arrays[key], b.arrays[key], f"{where}.arrays[{key!r}]")
    assert_same_value(a.cell.array, b.cell.array, f"{where}.cell")
    assert_same_value(a.pbc, b.pbc, f"{where}.pbc")
    assert_same_value(a.get_celldisp(), b.get_celldisp(), f"{where}.celldisp")
    assert_same_value(a.info, b.info, f"{where}.info")
    assert [c.todict() for c in a.constraints].__repr__() == [c.todict() for c in b.constraints].__repr__()
    if a.calc is not None:
        assert_same_value(dict(a.calc.results), dict(b.calc.results), f"{where}.calc")
    else:
        assert b.calc is None


def assert_same_project(a: Project, b: Project, model_features=None):
    assert list(a.structures) == list(b.structures)
    for name in a.structures:
        assert_same_atoms(a.structures[name], b.structures[name], f"structures[{name!r}]")
    assert list(a.spectra) == list(b.spectra)
    for name in a.spectra:
        for f in dataclasses.fields(Spectrum):
            assert_same_value(getattr(a.spectra[name], f.name), getattr(b.spectra[name], f.name),
                              f"spectra[{name!r}].{f.name}")
    assert list(a.site_spectra) == list(b.site_spectra)
    for name in a.site_spectra:
        for f in dataclasses.fields(SiteSpectra):
            assert_same_value(getattr(a.site_spectra[name], f.name), getattr(b.site_spectra[name], f.name),
                              f"site_spectra[{name!r}].{f.name}")
    assert list(a.results) == list(b.results)
    for name in a.results:
        assert_same_value(dataclasses.asdict(a.results[name]), dataclasses.asdict(b.results[name]),
                          f"results[{name!r}]")
    assert list(a.models) == list(b.models)
    for name in a.models:
        ma, mb = a.models[name], b.models[name]
        assert ma.meta() == mb.meta()
        np.testing.assert_array_equal(ma._training[0], mb._training[0])
        np.testing.assert_array_equal(ma._training[1], mb._training[1])
        if model_features is not None:
            ya, sa = ma.predict(model_features, return_std=True)
            yb, sb = mb.predict(model_features, return_std=True)
            np.testing.assert_array_equal(ya, yb)
            np.testing.assert_array_equal(sa, sb)
    assert a.view == b.view


def temp_files(folder, name):
    return sorted(f for f in os.listdir(folder) if f.startswith(f".{name}.") and f.endswith(".tmp"))


# ----------------------------------------------------------------------------- round trip

def test_constants():
    assert PROJECT_EXTENSION == ".amorpha"
    assert "*.amorpha" in PROJECT_FILTER


def test_save_and_reopen_is_exact(tmp_path, project, rings):
    path = tmp_path / "session.amorpha"
    fractions = []
    save_project(project, path, progress=lambda f, m: fractions.append(f))
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    loaded = load_project(path)
    features = small_training_set(7, seed=9)[0]
    assert_same_project(project, loaded, features)

    # meta: created/modified/version written, user keys kept; a second save keeps "created"
    assert loaded.meta["title"] == "Si K of quartz" and loaded.meta["amorpha"]
    assert project.meta["created"] == loaded.meta["created"] and "modified" in loaded.meta
    created = loaded.meta["created"]
    again = tmp_path / "again.amorpha"
    save_project(loaded, again)
    reloaded = load_project(again)
    assert_same_project(project, reloaded, features)
    assert reloaded.meta["created"] == created

    # the ring result comes back as the RingResult it was
    ring = loaded.results["rings"].to_dataclass()
    assert isinstance(ring, RingResult)
    for f in dataclasses.fields(RingResult):
        assert_same_value(getattr(rings[1], f.name), getattr(ring, f.name), f.name)
    assert ring.histogram() == rings[1].histogram()
    assert loaded.results_of("cristobalite").keys() == {"rings", "coordination"}

    # nested Atoms in spectrum meta and exact numpy scalar types in info
    assert isinstance(loaded.spectra["measured"].meta["cluster"], Atoms)
    assert type(loaded.structures["quartz"].info["scale"]) is np.float32
    assert loaded.structures["quartz"].info["params"]["by_size"] == {4: 0.1, 6: 0.9}


def test_file_layout(tmp_path, project):
    path = tmp_path / "layout.amorpha"
    save_project(project, path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        doc = json.loads(zf.read("project.json"))
        infos = {zi.filename: zi for zi in zf.infolist()}
        text = zf.read("structures/000-quartz/structure.extxyz").decode()
        nested = zf.read(doc["models"][0]["member"])
    assert doc["format"] == "amorpha-project" and doc["version"] == 1
    assert {m["name"] for m in doc["members"]} == set(names) - {"project.json"}
    assert "structures/000-quartz/arrays/positions.npy" in names
    assert "structures/001-cristobalite/cell.npy" in names
    assert "results/000-rings/indptr.npy" in names
    assert doc["models"][0]["member"] == "models/000-Si_K_surrogate.amodel"
    assert all(zi.compress_type == zipfile.ZIP_DEFLATED for n, zi in infos.items() if not n.endswith(".amodel"))
    assert all((zi.external_attr >> 16) & 0o444 for zi in infos.values())  # readable when unpacked
    # the nested model is a model file as SpectrumModel.save writes it
    with zipfile.ZipFile(io.BytesIO(nested)) as zf:
        assert set(zf.namelist()) == {"meta.json", "training.npz"}  # a GP: no pickle
    # the extxyz copy is readable by other programs, to extxyz precision
    (tmp_path / "q.extxyz").write_text(text)
    atoms = ase.io.read(tmp_path / "q.extxyz", format="extxyz")
    np.testing.assert_allclose(atoms.positions, project.structures["quartz"].positions, atol=1e-7)
    np.testing.assert_array_equal(atoms.arrays["kind"], project.structures["quartz"].arrays["kind"])
    # peeking reads names without the arrays
    peek = peek_project(path)
    assert [s["name"] for s in peek["structures"]] == ["quartz", "cristobalite"]
    assert looks_like_project(path) and not looks_like_project(tmp_path / "q.extxyz")


def test_without_extxyz_and_empty_project(tmp_path, project):
    path = tmp_path / "lean.amorpha"
    save_project(project, path, extxyz=False)
    with zipfile.ZipFile(path) as zf:
        assert not any(n.endswith(".extxyz") for n in zf.namelist())
    assert_same_project(project, load_project(path))
    save_project(Project(), tmp_path / "empty.amorpha")
    empty = load_project(tmp_path / "empty.amorpha")
    assert not (empty.structures or empty.spectra or empty.results or empty.models) and empty.view == {}


def test_unstorable_info_is_left_out_with_a_warning(tmp_path):
    atoms = Atoms("Si2", positions=[[0, 0, 0], [1.2, 1.2, 1.2]], cell=[4, 4, 4], pbc=True)
    atoms.info["callback"] = print
    atoms.info["kept"] = [1, 2]
    atoms.arrays["objects"] = np.array([object(), object()], dtype=object)
    path = tmp_path / "p.amorpha"
    with pytest.warns(UserWarning) as caught:
        save_project(Project(structures={"si": atoms}), path)
    messages = sorted(str(w.message) for w in caught)
    assert messages == ["structure 'si': info['callback'] is not saved in the project: it holds a "
                        "builtins.builtin_function_or_method",
                        "structure 'si': per-atom array 'objects' is not saved in the project: it holds an "
                        "array of Python objects (object)"]
    assert all(w.filename == __file__ for w in caught)
    loaded = load_project(path).structures["si"]
    assert loaded.info == {"kept": [1, 2]} and "objects" not in loaded.arrays
    assert peek_project(path)["structures"][0]["skipped"] == ["arrays['objects']", "info['callback']"]


def test_bad_input_is_refused_before_writing(tmp_path, project):
    path = tmp_path / "p.amorpha"
    save_project(Project(view={"ok": 1}), path)
    before = path.read_bytes()
    bad = [
        Project(view={"camera": object()}),
        Project(results={"r": AnalysisResult("x", {}, {"fn": print})}),
        Project(results={"r": AnalysisResult("x", {"a": np.array([None, 1])})}),
        Project(models={"untrained": SpectrumModel(SurrogateParams(), {}, ENERGY)}),
        Project(structures={"": project.structures["quartz"]}),
        Project(spectra={"s": Spectrum(ENERGY, ENERGY[:-1])}),
        Project(structures={"s": "not atoms"}),
    ]
    for p in bad:
        with pytest.raises(ParameterError):
            save_project(p, path)
        assert path.read_bytes() == before
    assert temp_files(tmp_path, path.name) == []


def test_result_kinds_are_only_imported_from_amorpha():
    with pytest.raises(ParameterError):
        AnalysisResult("os:system", {}, {"command": "true"}).to_dataclass()
    with pytest.raises(ParameterError):
        AnalysisResult("amorpha.engine.project:_now", {}, {}).to_dataclass()
    assert AnalysisResult("anything", {"a": np.ones(2)}, {"b": 1}).to_dataclass(dict) == {"a": pytest.approx([1, 1]),
                                                                                           "b": 1}


# ----------------------------------------------------------------------------- damaged files

def rewrite(src, dst, change):
    """Copy a zip, letting ``change(members)`` edit the {name: bytes} dict first."""
    with zipfile.ZipFile(src) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    change(members)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def edit_index(edit):
    def change(members):
        doc = json.loads(members["project.json"])
        edit(doc)
        members["project.json"] = json.dumps(doc).encode()
    return change


def npy_bytes(array):
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def short_positions(members):
    """Positions with one row too few, the manifest updated to match: only the structure check sees it."""
    name = "structures/001-cristobalite/arrays/positions.npy"
    array = np.load(io.BytesIO(members[name]))[:-1]
    members[name] = npy_bytes(array)
    doc = json.loads(members["project.json"])
    entry = next(m for m in doc["members"] if m["name"] == name)
    entry.update(size=len(members[name]), shape=list(array.shape))
    members["project.json"] = json.dumps(doc).encode()


def flip_a_byte(path):
    """Corrupt the compressed data of the biggest member in place (its CRC no longer matches)."""
    with zipfile.ZipFile(path) as zf:
        zi = max(zf.infolist(), key=lambda z: z.compress_size)
    data = bytearray(path.read_bytes())
    k = zi.header_offset + 30 + len(zi.filename.encode()) + len(zi.extra) + zi.compress_size // 2
    data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    return zi.filename


CORRUPTIONS = {
    "truncated": (lambda good, bad: bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2]),
                  "not a complete zip"),
    "random bytes": (lambda good, bad: bad.write_bytes(np.random.default_rng(0).bytes(5000)), "not a complete zip"),
    "empty": (lambda good, bad: bad.write_bytes(b""), "not a complete zip"),
    "text file": (lambda good, bad: bad.write_text("3\n\nSi 0 0 0\n"), "not a complete zip"),
    "no project.json": (lambda good, bad: rewrite(good, bad, lambda m: m.pop("project.json")), "no project.json"),
    "bad json": (lambda good, bad: rewrite(good, bad, lambda m: m.update({"project.json": b"{\"format\": "})),
                 "project.json is damaged"),
    "other format": (lambda good, bad: rewrite(good, bad, edit_index(lambda d: d.update(format="x"))),
                     "not an Amorpha project"),
    "member missing": (lambda good, bad: rewrite(good, bad, lambda m: m.pop("spectra/000-measured/energy.npy")),
                       "spectra/000-measured/energy.npy is missing"),
    "model missing": (lambda good, bad: rewrite(good, bad, lambda m: m.pop("models/000-Si_K_surrogate.amodel")),
                      "models/000-Si_K_surrogate.amodel is missing"),
    "array replaced": (lambda good, bad: rewrite(good, bad, lambda m: m.update(
        {"results/000-rings/sizes.npy": npy_bytes(np.zeros(3))})), "results/000-rings/sizes.npy has"),
    "wrong shape": (lambda good, bad: rewrite(good, bad, short_positions),
                    "structures/001-cristobalite/arrays/positions.npy has shape (191, 3)"),
    "model damaged": (lambda good, bad: rewrite(good, bad, lambda m: m.update(
        {"models/000-Si_K_surrogate.amodel": m["models/000-Si_K_surrogate.amodel"][:-30]})),
        "models/000-Si_K_surrogate.amodel"),
    "manifest mangled": (lambda good, bad: rewrite(good, bad, edit_index(lambda d: d.update(members=7))),
                         "project.json is damaged"),
}


@pytest.fixture
def good_file(tmp_path, project):
    path = tmp_path / "good.amorpha"
    save_project(project, path)
    return path


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_damaged_files_give_a_clear_read_error(tmp_path, good_file, kind):
    make, message = CORRUPTIONS[kind]
    bad = tmp_path / "bad.amorpha"
    make(good_file, bad)
    before, mtime = bad.read_bytes(), bad.stat().st_mtime_ns
    with pytest.raises(ReadError, match="bad.amorpha: ") as err:
        load_project(bad)
    assert message in str(err.value), str(err.value)
    assert bad.read_bytes() == before and bad.stat().st_mtime_ns == mtime
    assert sorted(os.listdir(tmp_path)) == ["bad.amorpha", "good.amorpha"]


def edit_array(member, edit):
    """Change a member's values in place, its shape and dtype kept: the manifest still fits, only a
    check of the values can see it."""
    def change(members):
        array = np.load(io.BytesIO(members[member])).copy()
        edit(array)
        members[member] = npy_bytes(array)
    return change


QUARTZ = "structures/000-quartz/"
#: values no model can have, each with what the error must say (which member, what is wrong)
BAD_VALUES = {
    "no such element": (QUARTZ + "arrays/numbers.npy", lambda a: a.put(1, 999),
                        "structures/000-quartz is not a usable structure: atom 1 has the atomic number 999, "
                        "which no element has"),
    "negative element": (QUARTZ + "arrays/numbers.npy", lambda a: a.put(2, -3), "atom 2 has the atomic number -3"),
    "NaN position": (QUARTZ + "arrays/positions.npy", lambda a: a.put(15, np.nan),
                     "structures/000-quartz is not a usable structure: atom 5 (O) has a non-finite coordinate"),
    "NaN cell": (QUARTZ + "cell.npy", lambda a: a.put(0, np.nan), "the cell holds non-finite numbers"),
    "zero cell": (QUARTZ + "cell.npy", lambda a: a.fill(0.0), "the cell has zero volume"),
}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_a_model_a_structure_file_could_not_hold_is_refused(tmp_path, good_file, kind):
    """Shapes right, values impossible: refused as a structure file would be (the window would
    otherwise show it and fail later), naming the member; an empty structure is still fine."""
    member, edit, message = BAD_VALUES[kind]
    bad = tmp_path / "bad.amorpha"
    rewrite(good_file, bad, edit_array(member, edit))
    with pytest.raises(ReadError, match="bad.amorpha: the project is damaged: ") as err:
        load_project(bad)
    assert message in str(err.value), str(err.value)
    save_project(Project(structures={"empty": Atoms()}), tmp_path / "empty.amorpha")
    assert len(load_project(tmp_path / "empty.amorpha").structures["empty"]) == 0


def set_constraints(*constraints):
    """Replace the stored constraints of the quartz (FixAtoms on atoms 0, 3 and 5 of 36)."""
    return edit_index(lambda doc: doc["structures"][0]["atoms"].update(constraints=list(constraints)))


def fix_atoms(*indices):
    return {"name": "FixAtoms", "kwargs": {"indices": list(indices)}}


#: constraints no structure of 36 atoms can have, each with what the error must say
BAD_CONSTRAINTS = {
    "beyond the atoms": (set_constraints(fix_atoms(0, 3, 36)),
                         "structures/000-quartz has constraint 0 (FixAtoms) on atom 36, but the structure "
                         "has 36 atoms (0 to 35, or -36 to -1 counted from the end)"),
    "negative beyond the atoms": (set_constraints(fix_atoms(0), fix_atoms(-37)),
                                  "structures/000-quartz has constraint 1 (FixAtoms) on atom -37, but the "
                                  "structure has 36 atoms"),
    "pair beyond the atoms": (set_constraints({"name": "FixBondLengths", "kwargs": {"pairs": [[0, 1], [2, 99]]}}),
                              "constraint 0 (FixBondLengths) on atom 99, but the structure has 36 atoms"),
    "two atoms, one negative": (set_constraints({"name": "ExternalForce", "kwargs": {"a1": 1, "a2": -40,
                                                                                     "f_ext": 0.1}}),
                                "constraint 0 (ExternalForce) on atom -40"),
    "not whole numbers": (set_constraints(fix_atoms(0.5, 2)),
                          "structures/000-quartz has constraint 0 (FixAtoms), which cannot be rebuilt "
                          "(Indices must be integers"),
    "floats ASE takes": (set_constraints({"name": "ExternalForce", "kwargs": {"a1": 0.5, "a2": 1, "f_ext": 0.1}}),
                         "constraint 0 (ExternalForce) names its atoms as [0.5, 1.0], not as whole numbers"),
    "unknown kind": (set_constraints({"name": "os.system", "kwargs": {"command": "true"}}),
                     "structures/000-quartz has constraint 0 ('os.system'), which is not an ASE constraint"),
    "not a constraint": (set_constraints([1, 2]), "structures/000-quartz has constraint 0 ([1, 2]), which is not "
                                                  "an ASE constraint"),
    "the base class": (set_constraints({"name": "FixConstraint", "kwargs": {}}),
                       "constraint 0 ('FixConstraint'), which is not an ASE constraint"),
    "missing settings": (set_constraints({"name": "FixBondLengths", "kwargs": {}}),
                         "structures/000-quartz has constraint 0 (FixBondLengths), which cannot be rebuilt"),
}


@pytest.mark.parametrize("kind", list(BAD_CONSTRAINTS))
def test_a_constraint_on_atoms_the_structure_lacks_is_refused(tmp_path, good_file, kind):
    """A constraint is part of its structure (it decides which atoms an optimiser or MD may move),
    so one naming atoms the structure does not have is refused like an impossible atom, naming the
    structure and the constraint: it loaded, then failed at the first move (IndexError); a damaged
    entry was refused as "project.json is damaged", without saying which structure holds it."""
    edit, message = BAD_CONSTRAINTS[kind]
    bad = tmp_path / "bad.amorpha"
    rewrite(good_file, bad, edit)
    with pytest.raises(ReadError, match="bad.amorpha: the project is damaged: ") as err:
        load_project(bad)
    assert message in str(err.value), str(err.value)


def test_constraints_on_the_structures_atoms_read_back(tmp_path, good_file):
    """The check refuses only what names atoms the structure lacks: the last atom, atoms counted
    from the end as ASE counts them (-36 is atom 0), a pair and a constraint on every atom (FixCom)
    read back; and so does a constraint on the last atom saved as ``FixAtoms([-1])``."""
    path = tmp_path / "ok.amorpha"
    rewrite(good_file, path, set_constraints(fix_atoms(1, 35, -36), {"name": "FixCom", "kwargs": {}},
                                             {"name": "FixBondLengths", "kwargs": {"pairs": [[0, 1], [34, 35]]}}))
    constraints = load_project(path).structures["quartz"].constraints
    assert [type(c).__name__ for c in constraints] == ["FixAtoms", "FixCom", "FixBondLengths"]
    assert constraints[0].get_indices().tolist() == [1, 35, -36]
    atoms = Atoms("Si3", positions=np.eye(3) * 2.0, cell=[6, 6, 6], pbc=True)
    atoms.set_constraint(FixAtoms(indices=[-1]))
    save_project(Project(structures={"si": atoms}), tmp_path / "last.amorpha")
    assert load_project(tmp_path / "last.amorpha").structures["si"].constraints[0].get_indices().tolist() == [-1]


def test_flipped_bits_name_the_member(tmp_path, good_file):
    bad = tmp_path / "bad.amorpha"
    bad.write_bytes(good_file.read_bytes())
    member = flip_a_byte(bad)
    with pytest.raises(ReadError, match="damaged") as err:
        load_project(bad)
    assert member in str(err.value)


def test_missing_folder_and_model_file(tmp_path, model):
    with pytest.raises(ReadError, match="no such file"):
        load_project(tmp_path / "nothing.amorpha")
    with pytest.raises(ReadError, match="folder"):
        load_project(tmp_path)
    model.save(tmp_path / "m.amodel")
    with pytest.raises(ReadError, match="spectrum model, not a project"):
        load_project(tmp_path / "m.amodel")


def test_a_newer_version_is_refused_and_left_alone(tmp_path, good_file):
    future = tmp_path / "future.amorpha"
    rewrite(good_file, future, edit_index(lambda d: d.update(version=7, brand_new={"x": 1})))
    before = future.read_bytes()
    with pytest.raises(ReadError, match=r"made by a newer Amorpha \(project version 7, this one reads up to 1\)"):
        load_project(future)
    with pytest.raises(ReadError, match="newer Amorpha"):
        peek_project(future)
    assert future.read_bytes() == before


def test_older_versions_go_through_the_upgrade_steps(tmp_path, good_file, monkeypatch, project):
    old = tmp_path / "old.amorpha"

    def as_version_0(doc):  # pretend version 0 called the view "window"
        doc["version"] = 0
        doc["window"] = doc.pop("view")
    rewrite(good_file, old, edit_index(as_version_0))
    with pytest.raises(ReadError, match="project version 0 is too old"):
        load_project(old)

    def upgrade_0(doc, archive):
        doc["view"] = doc.pop("window")
        return doc
    monkeypatch.setitem(P._UPGRADES, 0, upgrade_0)
    monkeypatch.setattr(P, "_OLDEST_VERSION", 0)
    assert load_project(old).view == project.view


# ----------------------------------------------------------------------------- interrupted saves

BIG_PROJECT = textwrap.dedent("""
    import numpy as np
    from amorpha.engine.build.crystals import beta_cristobalite
    from amorpha.engine.project import Project, AnalysisResult
    from amorpha.engine.spectra.spectrum import Spectrum

    def big_project():
        atoms = beta_cristobalite((14, 14, 14))  # 65856 atoms: one save takes about 0.5-1 s
        rng = np.random.default_rng(5)
        atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
        atoms.arrays["charge"] = rng.normal(size=len(atoms))
        atoms.arrays["velocity"] = rng.normal(size=(len(atoms), 3))
        e = np.linspace(0, 10, 2001)
        return Project(structures={"big": atoms},
                       spectra={"s": Spectrum(e, np.sin(e))},
                       results={"r": AnalysisResult("demo", {"q": rng.random(len(atoms))}, {"k": 1})},
                       view={"camera": [1, 2, 3]})
""")


def big_project() -> Project:
    namespace = {}
    exec(BIG_PROJECT, namespace)
    return namespace["big_project"]()


def test_killing_a_save_leaves_the_previous_file(tmp_path):
    path = tmp_path / "big.amorpha"
    reference = big_project()
    save_project(reference, path)
    child = BIG_PROJECT + textwrap.dedent(f"""
        import sys
        from amorpha.engine.project import save_project
        p = big_project()
        while True:
            print("saving", flush=True)
            save_project(p, {str(path)!r})
    """)
    rng = random.Random(11)
    interrupted = 0
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "saving"
            time.sleep(rng.uniform(0.05, 1.2))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        temps = temp_files(tmp_path, path.name)
        interrupted = max(interrupted, len(temps))
        assert_same_project(reference, load_project(path))
    # at least one kill hit a save in the middle (its temporary file is left, and ignored)
    assert interrupted >= 1
    leftovers = temp_files(tmp_path, path.name)
    for name in leftovers:  # pretend they are old: the next save removes them
        os.utime(tmp_path / name, (time.time() - P.STALE_TEMP_SECONDS - 60,) * 2)
    save_project(reference, path)
    assert temp_files(tmp_path, path.name) == []


def test_only_stale_temporary_files_of_this_project_are_removed(tmp_path):
    path = tmp_path / "p.amorpha"
    old = time.time() - P.STALE_TEMP_SECONDS - 60
    names = {".p.amorpha.abcd1234.tmp": old, ".p.amorpha.fresh123.tmp": time.time(),
             ".q.amorpha.abcd1234.tmp": old, ".p.amorpha.notatemp.txt": old}
    for name, mtime in names.items():
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (mtime, mtime))
    save_project(Project(), path)
    assert sorted(os.listdir(tmp_path)) == sorted(set(names) - {".p.amorpha.abcd1234.tmp"} | {"p.amorpha"})


def test_cancel_during_save_and_load(tmp_path):
    path = tmp_path / "big.amorpha"
    save_project(Project(view={"first": True}), path)
    before = path.read_bytes()
    big = big_project()
    for stop_at in (0.2, 0.6, 0.95):  # in the arrays, in the extxyz text, near the end
        seen = []
        with pytest.raises(Cancelled):
            save_project(big, path, progress=lambda f, m: seen.append(f),
                         cancel=lambda: bool(seen) and seen[-1] >= stop_at)
        assert seen[-1] < 1.0 and path.read_bytes() == before
        assert temp_files(tmp_path, path.name) == [] and os.listdir(tmp_path) == ["big.amorpha"]
    save_project(big, path)
    seen = []
    with pytest.raises(Cancelled):
        load_project(path, progress=lambda f, m: seen.append(f), cancel=lambda: bool(seen) and seen[-1] >= 0.3)
    assert_same_project(big, load_project(path))

"""One zip helper (engine/model_zip.py) writes and reads the spectrum models, the atomic-energy
models and the diffusion surrogates. The shipped models keep their layout: re-saving one gives
the same members in the same order, the same meta.json and training arrays, and the same
predictions on the a-SiO2 example; damaged files name what is wrong."""
import json
import zipfile

import numpy as np
import pytest
from ase.build import bulk

from amorpha.engine.errors import ReadError
from amorpha.engine.examples import load_example
from amorpha.engine.gb.atomic_energy import AtomicEnergyModel
from amorpha.engine.model_zip import read_fitted_zip, read_model_zip, write_model_zip
from amorpha.resources import path as resource_path
from amorpha.engine.surrogate.model import SpectrumModel

MODELS = resource_path("models")


def members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def assert_same_layout(shipped, saved, layout):
    old, new = members(shipped), members(saved)
    assert list(new) == list(old) == layout
    meta = json.loads(old["meta.json"])
    assert json.loads(new["meta.json"]) == meta
    _, _, x0, y0 = read_fitted_zip(shipped, meta["format"], meta["version"], "model")
    _, _, x1, y1 = read_fitted_zip(saved, meta["format"], meta["version"], "model")
    assert x1.dtype == x0.dtype and np.array_equal(x1, x0) and np.array_equal(y1, y0)


@pytest.mark.parametrize("name", ["Si-K-xtb.amodel", "O-K-xtb.amodel"])
def test_shipped_spectrum_models_resave_unchanged_and_predict_the_same(tmp_path, name):
    from amorpha.engine.descriptors import compute, params_from_dict

    shipped = MODELS / name
    model = SpectrumModel.load(shipped)
    model.save(tmp_path / name)
    # Gaussian processes: training data and hyperparameters, no pickle
    assert_same_layout(shipped, tmp_path / name, ["meta.json", "training.npz"])
    atoms = load_example("a-SiO2")
    sites = model.sites_of(atoms)[:40]
    features = compute(atoms, params_from_dict(model.descriptor), sites)
    again = SpectrumModel.load(tmp_path / name)
    np.testing.assert_array_equal(again.predict(features), model.predict(features))


def test_shipped_atomic_energy_model_resaves_unchanged(tmp_path):
    shipped = MODELS / "Cu-EMT-atomic-energy.aemodel"
    model = AtomicEnergyModel.load(shipped)
    model.save(tmp_path / "cu.aemodel")
    assert_same_layout(shipped, tmp_path / "cu.aemodel", ["meta.json", "model.skops", "training.npz"])
    crystal = bulk("Cu", "fcc", 3.615, cubic=True).repeat(3)
    crystal.rattle(0.05, seed=1)
    np.testing.assert_array_equal(AtomicEnergyModel.load(tmp_path / "cu.aemodel").predict(crystal),
                                  model.predict(crystal))


def test_members_arrays_and_refusals(tmp_path):
    path = tmp_path / "m.zip"
    meta = {"format": "test-model", "version": 2, "note": "Å"}
    write_model_zip(path, meta, {"a": np.arange(3.0)}, "numbers.npz", {"extra.bin": b"\x00\x01"})
    assert list(members(path)) == ["meta.json", "extra.bin", "numbers.npz"]
    got, arrays, extra = read_model_zip(path, "test-model", 2, "test model", "numbers.npz",
                                        ("extra.bin",))
    assert got == meta and extra == b"\x00\x01" and np.array_equal(arrays["a"], [0.0, 1.0, 2.0])
    with pytest.raises(ReadError, match="newer Amorpha"):
        read_model_zip(path, "test-model", 1, "test model", "numbers.npz")
    with pytest.raises(ReadError, match=r"not an Amorpha other model \(format 'test-model'\)"):
        read_model_zip(path, "other", 2, "other model", "numbers.npz")
    with pytest.raises(ReadError, match="not an Amorpha test model"):  # no arrays.npz in it
        read_model_zip(path, "test-model", 2, "test model")
    write_model_zip(path, meta, {"x": np.zeros((2, 2))}, "training.npz", {"model.skops": b""})
    with pytest.raises(ReadError, match="damaged.*'y'"):
        read_fitted_zip(path, "test-model", 2, "test model")
    with pytest.raises(ReadError, match="no such file"):
        read_fitted_zip(tmp_path / "missing.zip", "test-model", 2, "test model")


def test_a_damaged_member_is_a_read_error(tmp_path):
    """A byte changed inside a member's deflate stream raises zlib.error from zipfile, not
    BadZipFile: found by feeding corrupted copies of the shipped models to the reader."""
    path = tmp_path / "m.zip"
    write_model_zip(path, {"format": "test-model", "version": 1}, {"a": np.arange(3.0)})
    with zipfile.ZipFile(path) as zf:
        offset = zf.getinfo("meta.json").header_offset
    data = bytearray(path.read_bytes())
    name_length, extra_length = np.frombuffer(bytes(data[offset + 26:offset + 30]), "<u2")
    data[offset + 30 + int(name_length) + int(extra_length)] = 0xFF  # a deflate block of the reserved type
    path.write_bytes(bytes(data))
    with pytest.raises(ReadError, match=r"m.zip: the test model file is damaged \(Error -3"):
        read_model_zip(path, "test-model", 1, "test model")

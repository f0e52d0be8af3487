"""Engine side of the training audit: a model says when it was trained and which file it came
from, and exported queries are named by the atom's index (query-16 was the 16th Si, not atom 16)."""
import numpy as np
import pytest
from ase.build import bulk

from amorpha.engine.errors import ReadError
from amorpha.engine.spectra import SiteSpectra
from amorpha.engine.surrogate.active import export_queries, exported_rows, import_results
from amorpha.engine.surrogate.model import SpectrumModel, SurrogateParams

ENERGY = np.linspace(0, 10, 21)


def small_model() -> SpectrumModel:
    x = np.random.default_rng(0).normal(size=(6, 2))
    y = np.exp(-(ENERGY[None, :] - 5 - x[:, :1]) ** 2)
    data = SiteSpectra(ENERGY, y, np.arange(6), "Si", "K", "rule")
    return SpectrumModel.train(x, data, {"kind": "soap", "species": ["Si"], "r_cut": 4.0, "n_max": 1, "l_max": 1,
                                                "sigma": 0.3}, SurrogateParams(regressor="ridge"))


def test_a_model_keeps_when_it_was_trained_and_says_where_it_was_read_from(tmp_path):
    model = small_model()
    assert model.trained_at.endswith("+00:00") and not model.source_path and not model.written_by
    model.save(tmp_path / "m.amodel")
    back = SpectrumModel.load(tmp_path / "m.amodel")
    assert back.trained_at == model.trained_at and back.source_path == str(tmp_path / "m.amodel")
    assert back.written_by == __import__("amorpha.engine", fromlist=["x"]).__version__

    model.trained_at = ""  # a file written before the time was stored: it still loads, time unknown
    model.save(tmp_path / "old.amodel")
    assert SpectrumModel.load(tmp_path / "old.amodel").trained_at == ""


def test_queries_are_named_by_atom_index_and_come_back_to_their_pool_rows(tmp_path):
    si = bulk("Si", "diamond", 5.43, cubic=True)
    pool_sites = np.array([[0, 0], [0, 3], [0, 7]])
    written = export_queries(tmp_path, [si], pool_sites, [2, 1])
    assert sorted(p.split("/")[-1] for p in written) == ["query-atom-3.extxyz", "query-atom-7.extxyz"]
    assert exported_rows(tmp_path, pool_sites) == [1, 2]
    np.savetxt(tmp_path / "query-atom-7.txt", np.column_stack([ENERGY, ENERGY]))
    np.savetxt(tmp_path / "query-0.txt", np.column_stack([ENERGY, 2 * ENERGY]))  # a folder of before: by row
    rows, spectra = import_results(tmp_path, pool_sites)
    assert rows.tolist() == [0, 2]
    np.testing.assert_allclose(spectra.intensity, [2 * ENERGY, ENERGY])
    np.savetxt(tmp_path / "query-atom-5.txt", np.column_stack([ENERGY, ENERGY]))  # atom 5: no site of the pool
    with pytest.raises(ReadError, match="query-atom-5: atom 5 is not one of the sites the loop learns on"):
        import_results(tmp_path, pool_sites)

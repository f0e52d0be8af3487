"""Grain-boundary search engine: candidate grids, oracles, cache, pools, strategies, bad input."""
from __future__ import annotations

import time

import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.gb import (GbBoundary, GbSearchParams, SearchFailed, available_oracles,
                               candidate_grid, in_plane_periods, make_oracle, run_search)
from amorpha.engine.gb.oracles import EMTOracle, EV_PER_A2_TO_J_PER_M2
from amorpha.engine.gb.search import evaluations_to_target, make_strategy

SMALL = GbSearchParams(GbBoundary("Cu", 5, (3, 1, 0), bulk_thickness=10.0), nx=2, ny=3,
                       dz=(0.0, 0.4), removal=(0.7,))


@pytest.fixture(scope="module")
def oracle():
    return make_oracle("fastest")


def test_candidate_count_and_keys_before_anything_runs():
    params = GbSearchParams(GbBoundary("Cu", 5, (2, 1, 0)), nx=12, ny=24,
                            dz=(0.0, 0.15, 0.3, 0.45, 0.6, 0.75), removal=(0.5, 0.7, 0.9))
    assert params.count == 12 * 24 * 6 * 3
    cs = candidate_grid(params)
    assert len(cs) == params.count and cs.shape == (12, 24, 6, 3)
    keys = {c.key for c in cs}
    assert len(keys) == len(cs)
    assert candidate_grid(params)[777].key == cs[777].key  # stable across builds
    c = cs[777]
    i, j, k, r = cs.grid_index[777]
    assert (c.fx, c.fy, c.dz, c.removal) == (i / 12, j / 24, params.dz[k], params.removal[r])
    px, py = in_plane_periods(params.boundary, 3.6)
    t = c.params(3.6).translation
    assert t == pytest.approx((c.fx * px, c.fy * py, c.dz))


@pytest.mark.parametrize("change, parameter", [({"nx": 0}, "nx"), ({"ny": -1}, "ny"),
                                               ({"dz": ()}, "dz"), ({"removal": ()}, "removal"),
                                               ({"removal": (1.2,)}, "removal")])
def test_zero_point_grid_is_a_clear_error(change, parameter):
    params = GbSearchParams(**{**SMALL.__dict__, **change})
    with pytest.raises(ParameterError) as err:
        candidate_grid(params)
    assert err.value.parameter == parameter
    assert "grid" in str(err.value) or "fraction" in str(err.value)


def test_unknown_element_is_a_clear_error():
    params = GbSearchParams(GbBoundary("Ta", 5, (3, 1, 0)), nx=1, ny=1, dz=(0.0,), removal=(0.7,))
    with pytest.raises(ParameterError, match="EMT has no parameters for Ta; it knows"):
        run_search(candidate_grid(params), make_oracle("emt"), "exhaustive")
    with pytest.raises(ParameterError, match="unknown oracle"):
        make_oracle("dft")


def test_gamma_is_excess_energy_per_two_boundaries_and_periodic(oracle, tmp_path):
    """Per-atom energies add up to γ·2A + N·e_bulk; a translation by a full CSL period is a no-op."""
    cs = candidate_grid(SMALL)
    ref = oracle.reference("Cu")
    ev = oracle.evaluate(cs[3], ref)
    excess = ev.site_energies.sum() - ev.n_atoms * ref.e_bulk
    assert excess / (2 * ev.area) * EV_PER_A2_TO_J_PER_M2 == pytest.approx(ev.gamma, abs=1e-6)
    c = cs[3]
    shifted = type(c)(c.boundary, c.index, c.fx + 1.0, c.fy - 1.0, c.dz, c.removal)
    assert oracle.evaluate(shifted, ref).gamma == pytest.approx(ev.gamma, abs=2e-4)
    atoms = ev.atoms(ref.e_bulk)
    assert atoms.arrays["site_energy"].sum() == pytest.approx(excess)
    # the structure the Structure panel shows says which boundary it is, as a built bicrystal does
    assert (atoms.info["sigma"], atoms.info["plane"], atoms.info["axis"]) == (5, "(310)", "[001]")
    assert atoms.info["misorientation_deg"] == pytest.approx(36.87, abs=0.01) and atoms.info["gb_gamma"] == ev.gamma


def test_search_result_cache_hits_and_maps(oracle, tmp_path):
    cs = candidate_grid(SMALL)
    seen = []
    first = run_search(cs, oracle, "exhaustive", cache_dir=tmp_path, on_evaluation=seen.append)
    assert len(first.evaluations) == len(cs) == len(seen)
    assert not any(e.cached for e in first.evaluations)
    t0 = time.perf_counter()
    again = run_search(cs, oracle, "exhaustive", cache_dir=tmp_path)
    assert all(e.cached for e in again.evaluations)
    assert np.array_equal(again.gammas, first.gammas)
    assert time.perf_counter() - t0 < 2.0
    best = first.best_so_far()
    assert np.all(np.diff(best) <= 0) and best[-1] == first.gammas.min()
    emap = first.energy_map()
    assert emap.shape == (2, 3) and np.nanmin(emap) == first.gammas.min()
    x, y = first.energy_map_axes()
    px, py = in_plane_periods(SMALL.boundary, first.reference.a)
    assert np.allclose(x, [0, px / 2]) and np.allclose(y, [0, py / 3, 2 * py / 3])
    partial = run_search(cs, oracle, "random", n_evals=2, cache_dir=tmp_path, seed=3)
    assert np.isnan(partial.energy_map()).sum() >= 6 - 2 * 2
    atoms = first.best_atoms()
    assert len(atoms) == first.best.n_atoms and "site_energy" in atoms.arrays


def test_cancel_keeps_what_was_found(oracle, tmp_path):
    cs = candidate_grid(SMALL)
    seen = []
    result = run_search(cs, oracle, "random", n_evals=len(cs), cache_dir=tmp_path,
                        on_evaluation=seen.append, cancel=lambda: len(seen) >= 2)
    assert result.stopped and len(result.evaluations) == 2
    assert [e.candidate.index for e in seen] == result.indices.tolist()


def test_cancel_stops_a_slow_relaxation_within_half_a_second(tmp_path):
    """ASE EMT relaxes a 120-atom Σ5(210) cell for seconds: cancel is seen between its steps."""
    cs = candidate_grid(GbSearchParams(GbBoundary("Cu", 5, (2, 1, 0)), nx=1, ny=2, dz=(0.0,),
                                       removal=(0.7,)))
    oracle = make_oracle("emt", fmax=1e-4)
    oracle.reference("Cu")  # not part of the timing
    t0 = time.perf_counter()
    result = run_search(cs, oracle, "exhaustive", cache_dir=tmp_path,
                        cancel=lambda: time.perf_counter() > t0 + 0.3)
    assert result.stopped and result.evaluations == []
    assert time.perf_counter() - t0 < 0.3 + 0.5


class _BrokenOracle(EMTOracle):
    """EMT that fails on candidate 2: a worker crash in the middle of a search."""

    def evaluate(self, candidate, reference, cancel=None):
        if candidate.index == 2:
            raise RuntimeError("the worker died")
        return super().evaluate(candidate, reference, cancel)


def test_failed_evaluation_keeps_results(tmp_path):
    cs = candidate_grid(GbSearchParams(SMALL.boundary, nx=1, ny=3, dz=(0.0,), removal=(0.7,)))
    with pytest.raises(SearchFailed, match="after 2 evaluations.*the worker died") as err:
        run_search(cs, _BrokenOracle(fmax=0.05), "exhaustive", cache_dir=tmp_path)
    assert err.value.result.indices.tolist() == [0, 1]
    assert np.all(np.isfinite(err.value.result.gammas))


def test_unreachable_scheduler_is_a_clear_error_and_results_stay(oracle, tmp_path):
    cs = candidate_grid(SMALL)
    done = run_search(cs, oracle, "exhaustive", n_evals=3, cache_dir=tmp_path)
    t0 = time.perf_counter()
    with pytest.raises(ParameterError, match="no Dask scheduler answered at tcp://127.0.0.1:9") as err:
        run_search(cs, oracle, "exhaustive", scheduler="tcp://127.0.0.1:9", cache_dir=tmp_path)
    assert err.value.parameter == "scheduler"
    assert time.perf_counter() - t0 < 10.0
    kept = run_search(cs, oracle, "exhaustive", n_evals=3, cache_dir=tmp_path)
    assert all(e.cached for e in kept.evaluations)
    assert np.array_equal(kept.gammas, done.gammas)


def test_bayesian_optimisation_finds_a_known_minimum_fast():
    """A smooth periodic test function on 12 × 12 × 4 × 2 candidates with one global minimum."""
    cs = candidate_grid(GbSearchParams(GbBoundary("Cu", 5, (2, 1, 0)), nx=12, ny=12,
                                       dz=(0.0, 0.2, 0.4, 0.6), removal=(0.5, 0.8)))
    tx, ty = 2 * np.pi * cs.fx, 2 * np.pi * cs.fy
    values = (1.0 - 0.08 * np.cos(tx - 2 * np.pi * 5 / 12) - 0.05 * np.cos(ty - 2 * np.pi * 7 / 12)
              - 0.04 * np.cos(2 * ty) + 0.3 * (cs.dz - 0.4) ** 2 + 0.02 * (cs.removal == 0.5))
    target = values.min() + 1e-9
    assert np.sum(values <= target) == 1
    bo = [evaluations_to_target(make_strategy("bo", cs, seed=s, acquisition=acq), values, target, 60)
          for s, acq in ((0, "ei"), (1, "lcb"))]
    assert all(n is not None and n <= 40 for n in bo), bo
    rand = [evaluations_to_target(make_strategy("random", cs, seed=s), values, target) for s in range(5)]
    assert np.median(rand) > 3 * max(bo)


def test_oracles_listed_and_screening_needs_a_model():
    assert "emt" in available_oracles()
    with pytest.raises(ParameterError, match="trained on other boundaries"):
        make_strategy("screening", candidate_grid(SMALL))
    with pytest.raises(ParameterError, match="acquisition"):
        make_strategy("bo", candidate_grid(SMALL), acquisition="ucb")


def test_cli_gb_search_writes_results_and_rejects_bad_grid(tmp_path, capsys, monkeypatch):
    import json

    from amorpha.engine.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    args = ["gb-search", "--plane", "3,1,0", "--thickness", "10", "--grid", "2,3", "--dz", "0,0.4",
            "--removal", "0.7", "--oracle", "fastest", "--strategy", "random", "--evals", "3",
            "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "12 candidates" in out and "best γ" in out and "of the in-plane CSL periods, dz" in out
    doc = json.loads((tmp_path / "Cu_S5_310_gb.json").read_text())
    assert doc["evaluations"] == 3 and len(doc["gammas"]) == 3
    assert doc["best_gamma"] == min(doc["gammas"])
    # every evaluation as a record: the landscape without the grid-order formula
    records = doc["evaluated"]
    assert [r["gamma"] for r in records] == doc["gammas"] and [r["candidate"] for r in records] == doc["indices"]
    a = doc["lattice_constant"]
    assert all(r["dx"] == pytest.approx(r["fx"] * a) and r["n_atoms"] > 0 and r["removal"] == 0.7
               for r in records)  # Σ5(310): the first in-plane period is a
    assert (tmp_path / "Cu_S5_310_gb_best.extxyz").is_file()
    assert main(args + ["--quiet"]) == 0  # "print only the result": it printed nothing
    quiet = capsys.readouterr().out.splitlines()
    assert len(quiet) == 1 and quiet[0].startswith("best γ")
    # a twist boundary (the window could search one, the CLI could not)
    twist = ["gb-search", "--kind", "twist", "--plane", "0,0,1", "--thickness", "6", "--grid", "2,2",
             "--dz", "0", "--removal", "0.7", "--oracle", "emt", "--strategy", "random", "--evals", "1",
             "--out", str(tmp_path / "twist")]
    assert main(twist) == 0
    assert json.loads((tmp_path / "twist" / "Cu_S5_001_gb.json").read_text())["boundary"]["kind"] == "twist"
    capsys.readouterr()
    assert main(["gb-search", "--grid", "0,3", "--out", str(tmp_path)]) == 2
    assert "at least one point" in capsys.readouterr().err
    # grains thinner than the panel allows: the two boundaries of the cell would interact
    assert main(["gb-search", "--thickness", "0", "--out", str(tmp_path)]) == 2
    assert "at least 2 Å of bulk per grain" in capsys.readouterr().err


def test_two_threads_share_the_lammps_instance_safely():
    import threading

    from amorpha.engine.gb.oracles import lammps_available

    if not lammps_available():
        pytest.skip("LAMMPS is not installed")
    oracle = make_oracle("eam")
    ref = oracle.reference("Cu")
    cs = candidate_grid(SMALL)
    serial = [oracle.evaluate(c, ref).gamma for c in cs]
    out = {}

    def work(k):
        out[k] = [oracle.evaluate(c, ref).gamma for c in cs]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(v == serial for v in out.values())


def test_a_broken_potential_file_is_named_not_a_traceback(tmp_path):
    """A file that is not EAM, or one LAMMPS refuses, gives a sentence naming it (a bare
    IndexError or LAMMPS' Exception before), and the next search with a good file runs."""
    from amorpha.engine.gb.oracles import lammps_available

    if not lammps_available():
        pytest.skip("LAMMPS is not installed")
    garbage = tmp_path / "garbage.eam.alloy"
    garbage.write_text("garbage\n")
    with pytest.raises(ParameterError, match="garbage.eam.alloy is not an EAM file: line 4"):
        make_oracle("eam", potential=str(garbage)).reference("Cu")
    truncated = tmp_path / "truncated.eam.alloy"
    truncated.write_text("c\nc\nc\n1 Cu\n")
    with pytest.raises(ParameterError, match="LAMMPS could not use .*truncated.eam.alloy"):
        make_oracle("eam", potential=str(truncated)).reference("Cu")
    assert make_oracle("eam").reference("Cu").a == pytest.approx(3.615, abs=2e-3)


def test_a_search_goes_into_a_project_and_comes_back_whole(tmp_path):
    """A project kept the model a search showed but not the search (the landscape, the γ curve,
    Show best were gone on reopening): stored whole, it comes back equal."""
    from amorpha.engine.gb.search import SearchResult
    from amorpha.engine.project import AnalysisResult, Project, load_project, save_project

    cs = candidate_grid(SMALL)
    found = run_search(cs, make_oracle("emt", fmax=0.05), "random", n_evals=3, cache_dir=tmp_path, seed=1)
    arrays, params = found.to_stored()
    project = Project()
    project.results["gb search"] = AnalysisResult("gb_search", arrays, params)
    save_project(project, tmp_path / "p.amorpha")
    entry = load_project(tmp_path / "p.amorpha").results["gb search"]
    back = SearchResult.from_stored(entry.arrays, entry.params)
    assert back.to_dict() == found.to_dict()
    np.testing.assert_array_equal(back.energy_map(), found.energy_map())
    a, b = back.best_atoms(), found.best_atoms()
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.arrays["site_energy"], b.arrays["site_energy"])
    assert a.info == b.info
    damaged = dict(entry.arrays, gammas=entry.arrays["gammas"][:-1])
    with pytest.raises(ValueError, match="do not fit"):
        SearchResult.from_stored(damaged, entry.params)

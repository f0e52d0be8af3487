"""Fixes from the second GB-search audit (/tmp/s46/gbaudit2/REPORT.md): a scheduler address where
something else listens is refused within seconds; a damaged cache entry is computed again; the
cache follows an EAM file's content; screening refuses boundaries unlike those it learnt from;
BO scores candidates in bounded chunks, hears Stop between them, and spreads a batch; the CLI
refuses a negative seed and counts workers as every amorpha-cli command does."""
from __future__ import annotations

import http.server
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.gb import GbBoundary, GbSearchParams, candidate_grid, make_oracle, run_search
from amorpha.engine.gb import search as gb_search
from amorpha.engine.gb.oracles import eam_potential, lammps_available
from amorpha.engine.gb import parallel
from amorpha.engine.tasks import Cancelled

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from bench_gb_search import narrow_well  # noqa: E402 - the audit's synthetic narrow minimum

SMALL = GbSearchParams(GbBoundary("Cu", 5, (3, 1, 0), bulk_thickness=10.0), nx=1, ny=2,
                       dz=(0.0,), removal=(0.7,))


@pytest.fixture(scope="module")
def oracle():
    return make_oracle("fastest")


# --------------------------------------------------------------------------- 1. not a scheduler


def _serve(handle) -> str:
    """A TCP server on a free local port whose connections ``handle`` gets; its tcp:// address."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    kept = []

    def loop():
        while True:
            conn, _ = server.accept()
            kept.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}"


def _http_server() -> str:
    """Python's HTTP server (waits for a whole request line: Dask's connect waited for ever)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"tcp://127.0.0.1:{httpd.server_address[1]}"


def _answers_400(conn) -> None:
    """An HTTP 400 at once: Dask read it as a frame of 3 EiB (MemoryError)."""
    conn.recv(1024)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
    conn.close()


@pytest.mark.parametrize("server", ["http", "silent", "400"])
def test_an_address_where_no_dask_scheduler_listens_is_refused_within_seconds(server, oracle, tmp_path):
    address = {"http": _http_server, "silent": lambda: _serve(lambda conn: None),
               "400": lambda: _serve(_answers_400)}[server]()
    t0 = time.perf_counter()
    with pytest.raises(ParameterError, match="answered but is not a Dask scheduler") as err:
        run_search(candidate_grid(SMALL), oracle, "exhaustive", scheduler=address, cache_dir=tmp_path)
    assert time.perf_counter() - t0 < 8.0
    assert address in str(err.value) and ":8787" in str(err.value) and ":8786" in str(err.value)


def test_a_connect_stuck_inside_dask_is_given_up_after_its_deadline():
    """The backstop behind the socket check (tls:// and other schemes skip it)."""
    address = _serve(lambda conn: None)
    t0 = time.perf_counter()
    with pytest.raises(ParameterError, match="handshake did not finish"):
        parallel._bounded_client(address, 0.5)
    assert time.perf_counter() - t0 < 6.0


def test_a_refused_address_keeps_its_message():
    with pytest.raises(ParameterError, match="no Dask scheduler answered at tcp://127.0.0.1:9"):
        parallel.make_pool(scheduler="tcp://127.0.0.1:9", timeout=1.0)


# --------------------------------------------------------------------------- 2. damaged cache


def test_an_empty_or_truncated_cache_entry_is_computed_again_and_replaced(oracle, tmp_path):
    cs = candidate_grid(SMALL)
    first = run_search(cs, oracle, "exhaustive", cache_dir=tmp_path)
    files = sorted(tmp_path.rglob("*.npz"))
    assert len(files) == 2
    files[0].write_bytes(b"")  # a full disk
    files[1].write_bytes(files[1].read_bytes()[:100])  # a killed copy: BadZipFile
    again = run_search(cs, oracle, "exhaustive", cache_dir=tmp_path)
    assert [e.cached for e in again.evaluations] == [False, False]
    assert np.allclose(sorted(again.gammas), sorted(first.gammas), atol=1e-9)
    third = run_search(cs, oracle, "exhaustive", cache_dir=tmp_path)  # the entries were replaced
    assert [e.cached for e in third.evaluations] == [True, True]


def test_a_cache_entry_whose_gamma_is_not_a_number_is_computed_again(oracle, tmp_path):
    cs = candidate_grid(SMALL)
    run_search(cs, oracle, "exhaustive", cache_dir=tmp_path)
    path = sorted(tmp_path.rglob("*.npz"))[0]
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["gamma"] = np.nan
    np.savez(path, **arrays)
    again = run_search(cs, oracle, "exhaustive", cache_dir=tmp_path)
    assert np.all(np.isfinite(again.gammas)) and sum(not e.cached for e in again.evaluations) == 1


# --------------------------------------------------------------------------- 6. cache follows the file


@pytest.mark.skipif(not lammps_available(), reason="LAMMPS is not installed")
def test_an_eam_file_overwritten_at_the_same_path_is_not_answered_from_the_cache(tmp_path):
    mine = tmp_path / "mycu.eam.alloy"
    shutil.copy(eam_potential("Cu", "Cu_mishin1.eam.alloy"), mine)
    cs = candidate_grid(SMALL)
    first = run_search(cs, make_oracle("eam", potential=str(mine)), "exhaustive", n_evals=1,
                       cache_dir=tmp_path / "cache")
    shutil.copy(eam_potential("Cu", "Cu_zhou.eam.alloy"), mine)  # refitted in place
    os.utime(mine, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    again = run_search(cs, make_oracle("eam", potential=str(mine)), "exhaustive", n_evals=1,
                       cache_dir=tmp_path / "cache")
    assert not again.evaluations[0].cached
    assert abs(again.gammas[0] - first.gammas[0]) > 0.01  # Zhou's Cu is another potential


# --------------------------------------------------------------------------- 3. screening's domain


def test_screening_refuses_a_boundary_of_another_axis_or_kind():
    from amorpha.engine.gb.screening import ScreeningModel, comparable

    tilt = candidate_grid(GbSearchParams(GbBoundary("Cu", 5, (3, 1, 0), bulk_thickness=6.0), 2, 2,
                                         (0.0,), (0.5, 0.8)))
    model = ScreeningModel(n_estimators=10).fit([tilt], [np.linspace(0.9, 1.1, len(tilt))])
    twin = GbBoundary("Cu", 3, (1, 1, 1), (1, 1, 1), "twist", bulk_thickness=6.0)
    twin_set = candidate_grid(GbSearchParams(twin, 1, 1, (0.0,), (0.5,)))
    with pytest.raises(ParameterError, match="worse than chance"):
        run_search(twin_set, make_oracle("emt"), "screening", n_evals=1, screening_model=model,
                   cache=False)
    # Σ and plane may change within the family; [100] is [001] by cubic symmetry
    assert comparable(tilt.boundary, GbBoundary("Cu", 13, (5, 1, 0)))
    assert comparable(tilt.boundary, GbBoundary("Cu", 5, (0, 3, 1), (1, 0, 0)))
    assert not comparable(tilt.boundary, GbBoundary("Cu", 5, (0, 0, 1), kind="twist"))
    assert not comparable(tilt.boundary, GbBoundary("Al", 5, (3, 1, 0)))


# --------------------------------------------------------------------------- 4. BO in chunks


def _bo_case(n=3000, m=40, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.random((n, 4))
    values = np.sin(3 * features).sum(axis=1)
    evaluated = {int(i): float(values[i]) for i in rng.choice(n, m, replace=False)}
    return features, evaluated


def test_bo_scores_in_chunks_equal_one_prediction_and_the_same_candidates(monkeypatch):
    features, evaluated = _bo_case()
    whole = gb_search.BayesianOptimisation(features, n_initial=5).propose(evaluated, set(evaluated), 3)
    monkeypatch.setattr(gb_search, "ACQUISITION_BYTES", 1)  # 256 candidates a chunk: 12 chunks
    bo = gb_search.BayesianOptimisation(features, n_initial=5)
    assert bo.propose(evaluated, set(evaluated), 3) == whole
    # the chunks' scores are those of one prediction over all candidates
    from sklearn.gaussian_process import GaussianProcessRegressor

    x = features / bo.scale
    done = np.array(list(evaluated))
    gp = GaussianProcessRegressor(bo._kernel, normalize_y=True, optimizer=None).fit(
        x[done], list(evaluated.values()))
    pool = np.arange(len(x))
    mu, sigma = gp.predict(x, return_std=True)
    best = min(evaluated.values())
    expected = gb_search._acquisition("ei", mu, sigma, best, bo.xi, bo.kappa)
    assert np.allclose(bo.scores(gp, x, pool, best), expected, rtol=1e-12, atol=1e-15)


def test_bo_chunks_stay_within_the_memory_bound():
    for m in (10, 150, 1000):
        assert gb_search.acquisition_chunk(m, 4) * 8 * 10 * (m + 5) <= gb_search.ACQUISITION_BYTES


def test_bo_hears_stop_between_chunks(monkeypatch):
    features, evaluated = _bo_case()
    monkeypatch.setattr(gb_search, "ACQUISITION_BYTES", 1)
    asked = []

    def cancel():
        asked.append(1)
        return len(asked) > 3  # Stop while the third chunk is scored

    bo = gb_search.BayesianOptimisation(features, n_initial=5, cancel=cancel)
    with pytest.raises(Cancelled):
        bo.propose(evaluated, set(evaluated), 1)
    assert len(asked) == 4


# --------------------------------------------------------------------------- 5. batches spread out


def _four_in_flight(strategy, values, target, budget=200):
    """As GbSearch on Dask: 4 candidates running, the oldest finishes first."""
    evaluated, running = {}, []
    while len(evaluated) < budget:
        room = min(4 - len(running), budget - len(evaluated) - len(running))
        if room > 0:
            running += strategy.propose(evaluated, set(evaluated) | set(running), room)
        i = running.pop(0)
        evaluated[i] = float(values[i])
        if evaluated[i] <= target:
            return len(evaluated)
    return budget


WELL = GbSearchParams(GbBoundary("Cu", 5, (2, 1, 0)), 12, 24, (0.0, 0.3, 0.6), (0.5, 0.9))


def test_a_batch_spreads_over_the_candidates_instead_of_crowding_one_optimum():
    cs = candidate_grid(WELL)
    values = narrow_well(cs, seed=1)
    bo = gb_search.make_strategy("bo", cs, seed=0, n_initial=5)
    evaluated = {}
    while len(evaluated) < 12:
        for i in bo.propose(evaluated, set(evaluated), 1):
            evaluated[i] = float(values[i])
    batch = bo.propose(evaluated, set(evaluated), 4)
    x = bo.x / bo.scale
    spacing = np.sort(np.linalg.norm(x - x[batch[0]], axis=1))[1]
    pairs = np.linalg.norm(x[batch][:, None] - x[batch][None], axis=-1)[np.triu_indices(4, 1)]
    # before: the four best-scored were grid neighbours (closest pair = one grid step)
    assert pairs.min() > 2 * spacing, (batch, pairs.min(), spacing)


def test_four_in_flight_need_fewer_evaluations_than_before_on_a_narrow_minimum():
    cs = candidate_grid(WELL)
    values = narrow_well(cs, seed=1)
    target = values.min() + 0.001
    runs = [_four_in_flight(gb_search.make_strategy("bo", cs, seed=s, n_initial=5), values, target)
            for s in range(5)]
    # measured: before (running candidates ignored) 222 in all, runs [26, 28, 64, 65, 39];
    # with them believed at the GP mean 188, [25, 29, 54, 51, 29]
    assert sum(runs) <= 200, runs


# --------------------------------------------------------------------------- 6. CLI


def test_cli_refuses_a_negative_seed(tmp_path, capsys):
    from amorpha.engine.cli import main

    assert main(["gb-search", "--seed", "-1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "seed" in err and "≥ 0" in err and "Traceback" not in err


def test_cli_scheduler_local_uses_one_worker_per_core():
    from amorpha.engine.gb.cli import _workers

    assert _workers(None, "local") == (os.cpu_count() or 1)
    assert _workers(None, None) == 1 and _workers(3, "local") == 3
    assert _workers(0, None) == (os.cpu_count() or 1)
    with pytest.raises(ParameterError, match="≥ 1"):
        _workers(-1, None)

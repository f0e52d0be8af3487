"""Grain-boundary evaluations on Dask: a local cluster gives the serial result; a cluster that goes
away mid-search stops it with a clear error and the results found so far."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from amorpha.engine.gb import GbBoundary, GbSearchParams, SearchFailed, candidate_grid, make_oracle, run_search

SMALL = GbSearchParams(GbBoundary("Cu", 5, (3, 1, 0), bulk_thickness=10.0), nx=2, ny=3,
                       dz=(0.0, 0.4), removal=(0.7,))


@pytest.fixture(scope="module")
def oracle():
    return make_oracle("fastest")


def test_dask_local_cluster_equals_serial(oracle):
    cs = candidate_grid(SMALL)
    serial = run_search(cs, oracle, "exhaustive", cache=False)
    spread = run_search(cs, oracle, "exhaustive", dask=True, workers=2, cache=False)
    order = np.argsort(spread.indices)
    assert spread.indices[order].tolist() == serial.indices.tolist()
    assert np.allclose(spread.gammas[order], serial.gammas, atol=1e-9)


def test_lost_scheduler_stops_the_search_and_keeps_results(oracle):
    from dask.distributed import LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
    seen = []

    def on_evaluation(evaluation):
        seen.append(evaluation)
        if len(seen) == 2:
            threading.Thread(target=cluster.close).start()

    t0 = time.perf_counter()
    # the cluster closes from another thread: one more evaluation may finish before it is gone
    with pytest.raises(SearchFailed, match=r"stopped after [23] evaluations") as err:
        run_search(candidate_grid(SMALL), oracle, "exhaustive", scheduler=cluster.scheduler_address,
                   cache=False, on_evaluation=on_evaluation)
    assert time.perf_counter() - t0 < 30.0
    kept = [e.candidate.index for e in err.value.result.evaluations]
    assert kept == [e.candidate.index for e in seen] and kept[:2] == [0, 1]
    assert np.all(np.isfinite(err.value.result.gammas))

"""What a GB search should say before it starts: Bayesian optimisation over very many candidates
spends seconds choosing each (the Gaussian process scores all of them: ~5 s a candidate at 10⁶
after 150 evaluations), and grains thinner than 4 nearest-neighbour distances hold no bulk, so the
cell's two boundaries are ranked as one. Both are warnings, estimated from the settings alone."""
from __future__ import annotations

import pytest

from amorpha.engine.gb import GbBoundary, GbSearchParams
from amorpha.engine.gb.candidates import thin_grain_note
from amorpha.engine.gb.search import SLOW_BO_SECONDS, bo_seconds, search_notes

THICK = GbBoundary("Cu", 5, (3, 1, 0), bulk_thickness=20.0)
#: 1000 × 500 translations × 2 dz × 1 threshold: the 10⁶ candidates a search holds at most
MILLION = GbSearchParams(THICK, 1000, 500, (0.0, 0.3), (0.7,))


def test_bo_over_a_million_candidates_is_announced_and_small_grids_are_not():
    # the per-proposal times measured at 10⁶ candidates (one BLAS thread, this 2-core machine)
    # against the estimate after m evaluations (bo_seconds(n, m + 1, m): its last proposal)
    measured = {10: 1.0, 40: 1.4, 100: 3.0, 150: 5.4, 200: 7.2, 300: 13.0}
    for m, seconds in measured.items():
        assert bo_seconds(MILLION.count, m + 1, m)[0] == pytest.approx(seconds, rel=0.25), m
    last, total = bo_seconds(MILLION.count, 40, 8)
    assert total == pytest.approx(sum(bo_seconds(MILLION.count, m + 1, m)[0] for m in range(8, 40)))
    assert total >= SLOW_BO_SECONDS
    assert bo_seconds(MILLION.count // 10, 40, 8)[1] == pytest.approx(total / 10)
    notes = search_notes(MILLION, "bo", 40, 8)
    assert len(notes) == 1 and "1,000,000 candidates" in notes[0]
    assert "fewer translations or random order" in notes[0]
    assert search_notes(MILLION, "random", 40, 8) == []  # random order does not choose
    small = GbSearchParams(THICK, 6, 12, (0.0, 0.3, 0.6), (0.6, 0.8))  # the default grid
    assert search_notes(small, "bo", 100, 5) == []


def test_grains_thinner_than_four_neighbour_distances_are_warned_about():
    thin = GbBoundary("Cu", 5, (3, 1, 0), bulk_thickness=6.0)
    note = thin_grain_note(thin)
    assert "10.3 Å" in note and "both boundaries" in note and "two boundaries at once" in note
    assert thin_grain_note(GbBoundary("Cu", 5, (3, 1, 0), bulk_thickness=10.3)) is None
    notes = search_notes(GbSearchParams(thin, 2, 3, (0.0,), (0.7,)), "exhaustive", 6)
    assert len(notes) == 1 and notes[0].startswith("Grains of 6 Å")
    GbSearchParams(thin, 2, 3, (0.0,), (0.7,)).validate()  # a warning, not a refusal


def test_cli_warns_on_stderr_before_the_search(tmp_path, capsys, monkeypatch):
    from amorpha.engine.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    args = ["gb-search", "--plane", "3,1,0", "--thickness", "6", "--grid", "1,1", "--dz", "0",
            "--removal", "0.7", "--oracle", "fastest", "--strategy", "random", "--evals", "1",
            "--quiet", "--out", str(tmp_path)]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "gb-search: warning: Grains of 6 Å are thinner than 10.3 Å" in err

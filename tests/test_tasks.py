"""The progress/cancel protocol every long engine call follows."""
import pytest

from amorpha.engine.tasks import CancelToken, Cancelled, chunked, sub_progress


def test_chunked_covers_range_and_reports_progress():
    seen = []
    ranges = list(chunked(10, 3, progress=lambda f, m: seen.append(f)))
    assert ranges == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert seen == pytest.approx([0.3, 0.6, 0.9, 1.0])


def test_chunked_stops_when_cancelled():
    token = CancelToken()
    done = []
    with pytest.raises(Cancelled):
        for start, stop in chunked(100, 10, cancel=token):
            done.append(start)
            if start == 20:
                token.set()
    assert done == [0, 10, 20]


def test_sub_progress_maps_into_span():
    seen = []
    inner = sub_progress(lambda f, m: seen.append(f), 0.5, 1.0)
    for _ in chunked(4, 2, progress=inner):
        pass
    assert seen == pytest.approx([0.75, 1.0])


def test_run_chunks_in_threads_covers_every_piece_once_and_reports_progress():
    import threading

    from amorpha.engine.tasks import run_chunks

    pieces, names, seen = [], set(), []

    def work(start, stop):
        pieces.append((start, stop))
        names.add(threading.current_thread().name)

    run_chunks(10, 3, work, 2, progress=lambda f, m: seen.append(f))
    assert sorted(pieces) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert threading.current_thread().name not in names  # the pieces ran in the pool
    assert seen[-1] == pytest.approx(1.0) and seen == sorted(seen)


def test_run_chunks_gives_every_thread_several_pieces_of_a_big_task():
    """20 000 items in pieces of at most 4096 on two threads: not 3 pieces against 2 (the cores
    idle a sixth of the time) but at least four each; a small task stays in one piece."""
    import threading

    from amorpha.engine.tasks import PIECES_PER_THREAD, SMALLEST_PIECE, run_chunks

    pieces, lock = [], threading.Lock()

    def work(start, stop):
        with lock:
            pieces.append((start, stop))

    run_chunks(20_000, 4096, work, 2)
    sizes = [stop - start for start, stop in sorted(pieces)]
    assert sum(sizes) == 20_000 and sorted(pieces)[0][0] == 0
    assert len(sizes) >= 2 * PIECES_PER_THREAD and max(sizes) <= 4096
    pieces.clear()
    run_chunks(SMALLEST_PIECE, 4096, work, 2)
    assert pieces == [(0, SMALLEST_PIECE)]


def test_run_chunks_stops_on_cancel_and_passes_errors_on():
    import time

    from amorpha.engine.tasks import run_chunks

    token, done = CancelToken(), []

    def slow(start, stop):
        done.append(start)
        if start == 2:
            token.set()
        time.sleep(0.05)

    with pytest.raises(Cancelled):
        run_chunks(100, 1, slow, 2, cancel=token)
    assert len(done) < 20  # stopped soon after the flag, not after all 100 pieces

    def broken(start, stop):
        raise ValueError(f"piece {start}")

    with pytest.raises(ValueError, match="piece"):
        run_chunks(10, 2, broken, 2)


def test_run_phases_checks_cancel_before_handing_out_a_long_queue():
    """50 000 groups in one phase (a fine diffusion grid has thousands): they are handed to the
    threads a few at a time, so a Cancel is seen within a chunk, not after queueing them all."""
    import time

    from amorpha.engine.tasks import run_phases

    ran = []
    start = time.perf_counter()
    with pytest.raises(Cancelled):
        run_phases([[[k] for k in range(50_000)]], ran.append, 2, None, lambda: True, "")
    assert time.perf_counter() - start < 0.3 and len(ran) < 100  # queued all at once: 0.9 s


def test_thread_count_refuses_nonsense():
    from amorpha.engine.errors import ParameterError
    from amorpha.engine.tasks import thread_count

    assert thread_count(3) == 3 and thread_count(None, 2) == 2 and thread_count(None) >= 1
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(ParameterError, match="threads"):
            thread_count(bad)

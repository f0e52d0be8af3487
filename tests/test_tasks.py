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

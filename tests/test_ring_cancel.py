"""Cancel of a ring search on a large model frees its thread at once, in every phase."""
import threading
import time

import pytest
from ase.build import bulk

from amorpha.engine.bonds import bonds
from amorpha.engine.order.rings import RingParams, compute_rings
from amorpha.engine.tasks import Cancelled, CancelToken


@pytest.fixture(scope="module")
def copper():
    """5·10⁵ fcc Cu atoms and their bonds (6·10⁶ pairs), as the window hands them over."""
    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat((50, 50, 50))
    return atoms, bonds(atoms)


@pytest.mark.parametrize("after", [0.0, 0.05])
def test_cancel_before_the_search_of_a_large_model_stops_at_once(copper, after):
    """The audit's 10⁶-atom Cu ran 2-19 s past Cancel: before the search (whose kernels see a
    StopFlag) the bonds given were cut again and the bond graph built, each a numpy pass over all
    pairs with no look at Cancel (~1 s here; ten times that in a busy window, whose worker runs at
    nice 10). Cancelled before the start or 50 ms in, the search must stop within 0.3 s."""
    atoms, bonded = copper
    token = CancelToken()
    pressed = []

    def press():
        pressed.append(time.monotonic())
        token.set()

    timer = threading.Timer(after, press)
    timer.start()
    with pytest.raises(Cancelled):
        compute_rings(atoms, RingParams(max_size=24, definition="primitive"), neighbors=bonded, cancel=token)
    stopped = time.monotonic()
    timer.join()
    assert stopped - pressed[0] < 0.3

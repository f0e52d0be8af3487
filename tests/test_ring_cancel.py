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


@pytest.fixture(scope="module")
def glass_absurd_cutoff():
    """The a-SiO2 example (3000 atoms, 35.7 Å) bonded Si–O up to 14 Å (5·10⁵ bonds, CN(Si) ~340):
    every atom reaches its own image in 4 bonds, so the check of whether the cell holds rings of
    24 atoms runs over all of them (~2 s on a free core) before any ring is searched."""
    from amorpha.engine.examples import load_example

    atoms = load_example("a-SiO2")
    cutoffs = {("Si", "O"): 14.0, ("Si", "Si"): 0, ("O", "O"): 0}
    return atoms, cutoffs, bonds(atoms, cutoffs)


def test_cancel_during_the_cell_size_check_stops_the_worker_at_once(glass_absurd_cutoff):
    """The audit's 10 Å Si–O cutoff on a 24.7 Å glass: the panel said "cancelled", but the
    check for a supercell (one numba call over every atom, then again over a 4×4×4 supercell of
    64·10³ atoms) ran on for minutes at 100 % of a core. Cancel pressed as that check starts (the
    bond graph's last chunk) must stop the worker thread within 0.5 s and leave the CPU idle."""
    atoms, cutoffs, bonded = glass_absurd_cutoff
    token = CancelToken()
    pressed, raised = [], []

    def progress(fraction, message):
        if message == "bond network" and fraction >= 0.05 - 1e-9 and not pressed:  # the graph is built
            pressed.append(time.monotonic())
            token.set()

    def work():
        try:
            compute_rings(atoms, RingParams(max_size=24, cutoffs=cutoffs, count_element="Si"),
                          neighbors=bonded, progress=progress, cancel=token)
        except Cancelled:
            raised.append(time.monotonic())

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(30)
    assert pressed and raised, "the search was not cancelled"
    assert raised[0] - pressed[0] < 0.5
    cpu = time.process_time()
    time.sleep(0.5)
    assert time.process_time() - cpu < 0.15  # nothing runs on behind the caller's back

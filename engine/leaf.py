"""``@leaf``: numba kernels that allocate nothing and keep no array past the call, compiled
without reference counting.

Why: numba counts references to every array a kernel names: each view (``row = c[lm]``), each
array argument of an inlined helper, each array taken out of a tuple costs a call and an atomic
add and subtract. In the per-point loops of the diffusion potentials that was a large part of
the time (the stencil rows of one SOAP energy: 1.6 µs of counting against 0.13 µs of work), and
on two cores the shared arrays' counters bounce between the cores' caches. A leaf kernel only
reads and writes arrays its caller owns and keeps alive, so it needs no counting; numba refuses
to compile one that allocates (``np.empty`` needs the runtime), which keeps the rule honest.

Two rules numba cannot check: a leaf returns no array (its caller would release a reference the
leaf never took), and it keeps none (no array stored where it outlives the call).
``inline="always"`` would make it an ordinary kernel again (numba inlines the source into the
caller, which counts as usual), so a leaf is always a call of its own: a few ns. Whatever a leaf
calls is compiled without the runtime too, so it may not allocate either (numba says so).
"""
from numba import njit


def leaf(fn=None, *, fastmath=False):
    """``njit(nogil=True, cache=True)`` without numba's reference counting (its ``_nrt`` flag)."""
    def wrap(f):
        return njit(nogil=True, cache=True, fastmath=fastmath, _nrt=False)(f)
    return wrap if fn is None else wrap(fn)

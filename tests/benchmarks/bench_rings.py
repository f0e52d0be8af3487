"""Side-by-side benchmark: amorpha's rings against sovapy and matscipy on the 999-atom a-SiO2.

Run ``python tests/benchmarks/bench_rings.py``. It reads
``../shared/data/structures/sovapy/a_SiO2_speed1e11K.xyz`` (Si–O bonds at 2.0 Å, sizes in Si);
without that folder it builds a jittered beta-cristobalite of about 1000 atoms instead (peers
that need the file are then skipped). sovapy's primitive rings take minutes (454 s measured on a
2-core machine): they run only with ``--with-slow-peers``; otherwise the known time is printed as
"not run". Times are the best of ``--repeat`` runs, single-threaded, after a warm-up.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from amorpha.engine.order.rings import RingParams, compute_rings, warm_up  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_neighbors import best_time  # noqa: E402

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "structures"
MODEL = SHARED / "sovapy" / "a_SiO2_speed1e11K.xyz"
SI_O = {("Si", "O"): 2.0, ("Si", "Si"): 0, ("O", "O"): 0}
SOVAPY_PRIMITIVE_KNOWN = 454.0  # s, shared/data README (2-core machine)


def quiet(fn):
    def run():
        with warnings.catch_warnings(), redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            return fn()
    return run


def load_model():
    if MODEL.is_file():
        from amorpha.engine.io import read_structure

        return read_structure(MODEL), True
    from amorpha.engine.build.crystals import beta_cristobalite

    print(f"{MODEL} is absent: using a jittered 3x3x3 beta-cristobalite (648 atoms); peers skipped")
    atoms = beta_cristobalite((3, 3, 3))
    atoms.positions += np.random.default_rng(0).normal(0, 0.1, atoms.positions.shape)
    return atoms, False


def sovapy_runner(ring_type):
    try:
        from sovapy.computation.rings import RINGs
        from sovapy.core.file import File
    except ImportError:
        return None
    sv_atoms = quiet(lambda: File.open(str(MODEL)).get_atoms())()
    sv_atoms.set_bond_lengths({("Si", "O"): 2.0, ("Si", "Si"): -1.0, ("O", "O"): -1.0})

    def run():
        rings = RINGs(sv_atoms).calculate(ring_type=getattr(RINGs.RingType, ring_type),
                                          pair_atom_symbols=[["Si", "O"]], cutoff_size=24)
        return [r for r in rings if r.closed]

    return quiet(run)


def brute_strong_time(atoms, max_len):
    """Time of the brute force the tests check strong rings against (networkx simple cycles)."""
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from test_rings import _brute_strong, _closed_cycles
    except ImportError:
        return None
    t, _ = best_time(lambda: _brute_strong(_closed_cycles(atoms, SI_O, max_len)), 1)
    return t


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-slow-peers", action="store_true",
                        help="also run sovapy's primitive rings (minutes)")
    args = parser.parse_args(argv)

    atoms, have_file = load_model()
    warm_up()
    print(f"model: {len(atoms)} atoms; Si–O 2.0 Å; ring sizes up to 24 atoms (12 Si)")
    rows = []
    for definition, sovapy_type in (("guttman", "GUTTMAN"), ("king", "KING"), ("primitive", "PRIMITIVE")):
        params = RingParams(definition=definition, max_size=24, cutoffs=SI_O, count_element="Si")
        t_ours, res = best_time(lambda: compute_rings(atoms, params), args.repeat)
        print(f"\n{definition}: ours {t_ours * 1e3:8.1f} ms   {res.histogram()}")
        if not have_file:
            continue
        if definition != "primitive" or args.with_slow_peers:
            run = sovapy_runner(sovapy_type)
            if run is None:
                print("  sovapy: not installed")
            else:
                reps = args.repeat if definition != "primitive" else 1
                t_sv, _ = best_time(run, reps)
                print(f"  sovapy {t_sv * 1e3:10.1f} ms   ours is {t_sv / t_ours:7.1f}x faster")
                rows.append((definition, "sovapy", t_sv, t_ours))
        else:
            print(f"  sovapy primitive: not run (known {SOVAPY_PRIMITIVE_KNOWN:.0f} s from the README; "
                  f"--with-slow-peers runs it) -> ours is {SOVAPY_PRIMITIVE_KNOWN / t_ours:7.0f}x faster")
            rows.append((definition, "sovapy (known)", SOVAPY_PRIMITIVE_KNOWN, t_ours))
        if definition == "primitive":
            try:
                from matscipy.rings import ring_statistics
            except ImportError:
                print("  matscipy: not installed")
                continue
            t_ms, stat = best_time(lambda: ring_statistics(atoms, 2.0, 24), args.repeat)
            print(f"  matscipy {t_ms * 1e3:8.1f} ms   ours is {t_ms / t_ours:7.1f}x faster")
            ours_atoms = np.bincount(res.sizes[~res.wraps], minlength=len(stat))
            same = ours_atoms[: len(stat)].tolist() == list(np.asarray(stat))
            print(f"  same counts as matscipy (in atoms): {same}")
            rows.append((definition, "matscipy", t_ms, t_ours))
    t_strong, strong = best_time(lambda: compute_rings(atoms, RingParams(
        definition="strong", max_size=24, cutoffs=SI_O, count_element="Si")), args.repeat)
    print(f"\nstrong: ours {t_strong * 1e3:8.1f} ms   {strong.histogram()}")
    print("  no peer offers strong rings (sovapy 0.8: Guttman, King, primitive; matscipy: primitive)")
    t_16, _ = best_time(lambda: compute_rings(atoms, RingParams(definition="strong", max_size=16,
                                                                cutoffs=SI_O)), args.repeat)
    t_nx = brute_strong_time(atoms, 16)
    if t_nx is not None:
        print(f"  up to 16 atoms: ours {t_16 * 1e3:.1f} ms, networkx cycles + GF(2) elimination "
              f"{t_nx * 1e3:.1f} ms -> ours is {t_nx / t_16:.1f}x faster")
        rows.append(("strong<=16", "networkx brute", t_nx, t_16))
    print("\nsummary (peer time / our time):")
    for definition, peer, t_peer, t_ours in rows:
        print(f"  {definition:10s} vs {peer:15s} {t_peer / t_ours:8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

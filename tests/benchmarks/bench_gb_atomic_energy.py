"""Per-atom EMT energies of a ≥10⁶-atom Cu polycrystal by the learnt model vs ASE's EMT.

The model predicts every atom of a 10⁶-atom polycrystal (target: under 60 s); ASE's EMT, too
slow for that, runs on a smaller polycrystal cut the same way; the per-atom times and their ratio
are printed (target: ≥ 100×), with the model's error against EMT on that smaller cell.

Both run on one thread in this process (``threads=1``; the model's default, one thread per
core, is timed afterwards for its wall time). The ratio is taken from CPU time
(``process_time``), the best of three runs of each: on a machine shared with other jobs, wall
time mostly measures how often each run was scheduled, and the two runs are not scheduled alike.
Wall times are printed too.
"""
import os
import time

import numpy as np
from ase.calculators.emt import EMT

from amorpha.engine.build.polycrystal import PolycrystalParams, build_polycrystal
from amorpha.engine.gb.atomic_energy import default_model


def timed(work, repeat: int = 1):
    """(result, wall s, CPU s) of the run with the least CPU time of ``repeat``."""
    best = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        run = (result, time.perf_counter() - wall, time.process_time() - cpu)
        best = run if best is None or run[2] < best[2] else best
    return best


def main() -> None:
    model = default_model()
    model.predict(build_polycrystal(PolycrystalParams("Cu", box=(20.0,) * 3, n_grains=2)))  # compile
    big = build_polycrystal(PolycrystalParams("Cu", box=(230.0,) * 3, n_grains=60, seed=1))
    excess, wall, ours = timed(lambda: model.excess(big, threads=1), repeat=3)
    print(f"model: {len(big):,} atoms in {wall:.1f} s wall, {ours:.2f} s CPU on one thread "
          f"({1e6 * ours / len(big):.2f} µs/atom); mean excess {1e3 * excess.mean():.1f} meV/atom, "
          f"{np.mean(excess > 0.05):.1%} of atoms above 50 meV")
    again, wall, cpu = timed(lambda: model.excess(big))
    print(f"model, {os.cpu_count()} threads: {wall:.1f} s wall, {cpu:.2f} s CPU; "
          f"largest difference to one thread {np.abs(again - excess).max():.1e} eV")

    small = build_polycrystal(PolycrystalParams("Cu", box=(40.0,) * 3, n_grains=6, seed=1))

    def emt_energies():
        small.calc = EMT()  # a fresh calculator: nothing cached between runs
        return small.get_potential_energies()

    emt, wall, theirs = timed(emt_energies, repeat=3)
    predicted = model.predict(small, threads=1)
    print(f"ASE EMT: {len(small):,} atoms in {wall:.1f} s wall, {theirs:.2f} s CPU "
          f"({1e6 * theirs / len(small):.0f} µs/atom); model vs EMT there: "
          f"MAE {1e3 * np.abs(predicted - emt).mean():.1f} meV/atom")
    print(f"per-atom speed-up over ASE EMT (CPU time): {theirs / len(small) / (ours / len(big)):.0f}×")


if __name__ == "__main__":
    main()

"""Per-atom EMT energies of a ≥10⁶-atom Cu polycrystal by the learnt model vs ASE's EMT.

The model predicts every atom of a 10⁶-atom polycrystal (target: under 60 s); ASE's EMT, too
slow for that, runs on a smaller polycrystal cut the same way; the per-atom times and their ratio
are printed (target: ≥ 100×), with the model's error against EMT on that smaller cell.

Both run on one thread in this process. The ratio is taken from CPU time (``process_time``):
on a machine shared with other jobs, wall time mostly measures how often each run was scheduled,
and the two runs are not scheduled alike. Wall times are printed too.
"""
import time

import numpy as np
from ase.calculators.emt import EMT

from amorpha.engine.build.polycrystal import PolycrystalParams, build_polycrystal
from amorpha.engine.gb.atomic_energy import default_model


def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    model = default_model()
    model.predict(build_polycrystal(PolycrystalParams("Cu", box=(20.0,) * 3, n_grains=2)))  # compile
    big = build_polycrystal(PolycrystalParams("Cu", box=(230.0,) * 3, n_grains=60, seed=1))
    excess, wall, ours = timed(lambda: model.excess(big))
    print(f"model: {len(big):,} atoms in {wall:.1f} s wall, {ours:.2f} s CPU "
          f"({1e6 * ours / len(big):.2f} µs/atom); mean excess {1e3 * excess.mean():.1f} meV/atom, "
          f"{np.mean(excess > 0.05):.1%} of atoms above 50 meV")

    small = build_polycrystal(PolycrystalParams("Cu", box=(40.0,) * 3, n_grains=6, seed=1))
    small.calc = EMT()
    emt, wall, theirs = timed(small.get_potential_energies)
    predicted = model.predict(small)
    print(f"ASE EMT: {len(small):,} atoms in {wall:.1f} s wall, {theirs:.2f} s CPU "
          f"({1e6 * theirs / len(small):.0f} µs/atom); model vs EMT there: "
          f"MAE {1e3 * np.abs(predicted - emt).mean():.1f} meV/atom")
    print(f"per-atom speed-up over ASE EMT (CPU time): {theirs / len(small) / (ours / len(big)):.0f}×")


if __name__ == "__main__":
    main()

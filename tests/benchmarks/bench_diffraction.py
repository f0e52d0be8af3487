"""Side-by-side benchmark: amorpha's virtual Å-beam pattern against the formula in plain numpy.

Run ``python tests/benchmarks/bench_diffraction.py``. The input is a column through the a-SiO2
example (built if missing) at 0.5 and 1 nm diameter and a 100-atom column, on a 256 x 256 detector
out to 1.5 1/Å with the 200 kV Ewald sphere. The reference evaluates
``|sum_j f_j(|k|) exp(2 pi i q.r_j)|^2`` directly (one complex exponential per atom and pixel, in
blocks of pixels); ours factorises the phase into k_x and k_y parts and sums each element with one
complex matrix product. No peer library on PyPI is light enough to install for this (abTEM and
py4DSTEM pull in the whole multislice stack). Times are the best of three; the target for
interactive updates is 0.2 s per pattern.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from bench_neighbors import best_time  # noqa: E402
from amorpha.engine.examples import load_example  # noqa: E402
from amorpha.engine.order.diffraction import (  # noqa: E402
    DiffractionParams, detector_axis, pattern, select_column, wavelength, warm_up)
from amorpha.engine.order.electron_factors import electron_form_factors  # noqa: E402


def reference(column, k, lam, block=4096):
    """The formula, vectorised over atoms and blocks of pixels."""
    kx, ky = (a.ravel() for a in np.meshgrid(k, k))
    out = np.empty(len(kx))
    zs = np.unique(column.numbers)
    for start in range(0, len(kx), block):
        sl = slice(start, start + block)
        q = np.stack([kx[sl], ky[sl], -0.5 * lam * (kx[sl] ** 2 + ky[sl] ** 2)], axis=1)
        f = electron_form_factors(zs, np.hypot(kx[sl], ky[sl]) / 2)  # (elements, pixels)
        fj = f[np.searchsorted(zs, column.numbers)]  # (atoms, pixels)
        phase = np.exp(2j * np.pi * column.xyz @ q.T)
        out[sl] = np.abs(np.sum(column.weights[:, None] * fj * phase, axis=0)) ** 2
    return out.reshape(len(k), len(k))


def main() -> int:
    warm_up()
    atoms = load_example("a-SiO2")
    point = atoms.positions[0]
    lam = wavelength(200)
    k = detector_axis(1.5, 256)
    print(f"a-SiO2 example: {len(atoms)} atoms, cell {atoms.cell.lengths().round(2).tolist()} Å; "
          f"256 x 256 pixels, k_max 1.5 1/Å, 200 kV")
    print(f"{'column':>28} {'atoms':>6} {'ours (s)':>9} {'numpy (s)':>10} {'ratio':>7}  max rel. diff")
    for label, params in [("d = 0.5 nm, parallel", DiffractionParams(diameter=5.0)),
                          ("d = 1 nm, parallel", DiffractionParams(diameter=10.0)),
                          ("d = 0.5 nm, convergent", DiffractionParams(diameter=5.0, probe="convergent"))]:
        column = select_column(atoms, point, [0.3, 0.2, 1.0], params)
        ours_t, ours = best_time(lambda: pattern(column, k, lam), 3)
        ref_t, ref = best_time(lambda: reference(column, k, lam), 3)
        diff = float(np.max(np.abs(ours - ref)) / ref.max())
        print(f"{label:>28} {len(column):>6} {ours_t:>9.4f} {ref_t:>10.3f} {ref_t / ours_t:>6.0f}x  {diff:.1e}")
    rng = np.random.default_rng(0)
    from ase import Atoms

    hundred = Atoms("Si33O67", positions=rng.random((100, 3)) * [5, 5, 30])
    column = select_column(hundred, [2.5, 2.5, 15], [0, 0, 1], DiffractionParams(diameter=20.0))
    select_t, _ = best_time(lambda: select_column(atoms, point, [0.3, 0.2, 1.0], DiffractionParams(diameter=10.0)), 3)
    ours_t, ours = best_time(lambda: pattern(column, k, lam), 3)
    ref_t, ref = best_time(lambda: reference(column, k, lam), 3)
    print(f"{'100 atoms (target < 0.2 s)':>28} {len(column):>6} {ours_t:>9.4f} {ref_t:>10.3f} {ref_t / ours_t:>6.0f}x")
    print(f"column search on the a-SiO2 model (d = 1 nm): {select_t * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

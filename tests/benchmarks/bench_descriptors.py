"""Side-by-side benchmark: amorpha's SOAP and ACSF against DScribe's, single thread.

Run ``python tests/benchmarks/bench_descriptors.py`` (``--repeats N``, ``--cells K`` for a K×K×K
repeat). The model is the 999-atom sovapy a-SiO2 of ../shared/data repeated 2×2×2 (7992 atoms),
or, without the shared data, the built-in 3000-atom a-SiO2 example repeated 2×2×2 (24 000).
Both codes get the same structure in one process, end to end (structure in, features out,
neighbour search included); times are the best of ``--repeats`` runs. The last column is
t_dscribe / t_ours: above 1 means ours is faster. ``max rel diff`` is the largest difference
relative to the largest feature.

SOAP: r_cut 5 Å, n_max 8, l_max 6, σ 1 Å, GTO basis, periodic. ACSF: r_cut 6 Å with three G2,
two G3, three G4 and two G5 functions.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# One thread for everything: numba, and the BLAS behind SOAP's small matrix products.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_neighbors import best_time  # noqa: E402

from amorpha.engine.descriptors import (  # noqa: E402
    AcsfParams,
    SoapParams,
    compute_acsf,
    compute_soap,
)
from amorpha.engine.descriptors import acsf as acsf_module  # noqa: E402
from amorpha.engine.descriptors import soap as soap_module  # noqa: E402

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SOAP_SETTINGS = dict(r_cut=5.0, n_max=8, l_max=6, sigma=1.0)
ACSF_SETTINGS = dict(
    r_cut=6.0,
    g2_params=[[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]],
    g3_params=[1.0, 2.0],
    g4_params=[[1.0, 1.0, 1.0], [1.0, 2.0, 1.0], [1.0, 1.0, -1.0]],
    g5_params=[[1.0, 2.0, -1.0], [0.5, 1.0, 1.0]],
)


def structure(cells: int):
    shared = SHARED / "structures/sovapy/a_SiO2_speed1e11K.xyz"
    if shared.is_file():
        from amorpha.engine.io import read_structure
        atoms, name = read_structure(shared), "sovapy a-SiO2 (999 atoms)"
    else:
        from amorpha.engine.examples import load_example
        atoms, name = load_example("a-SiO2"), "built-in a-SiO2 example (3000 atoms)"
    atoms = atoms.repeat((cells, cells, cells))
    atoms.wrap()  # DScribe's periodic copies assume atoms inside the cell
    return atoms, f"{name} × {cells}³"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cells", type=int, default=2)
    args = parser.parse_args(argv)

    from importlib.metadata import version

    import numba
    from dscribe.descriptors import ACSF, SOAP

    numba.set_num_threads(1)
    soap_module.warm_up()
    acsf_module.warm_up()
    atoms, name = structure(args.cells)
    print(f"{len(atoms)} atoms: {name}; one thread each (DScribe {version('dscribe')}, n_jobs=1)")

    soap_params = SoapParams(("Si", "O"), periodic=True, **SOAP_SETTINGS)
    soap_peer = SOAP(species=["Si", "O"], rbf="gto", periodic=True, **SOAP_SETTINGS)
    acsf_params = AcsfParams(("Si", "O"), periodic=True, **ACSF_SETTINGS)
    acsf_peer = ACSF(species=["Si", "O"], periodic=True, **ACSF_SETTINGS)
    rows = [
        ("SOAP", soap_params.n_features, lambda: compute_soap(atoms, soap_params),
         lambda: soap_peer.create(atoms, n_jobs=1)),
        ("ACSF", acsf_params.n_features, lambda: compute_acsf(atoms, acsf_params),
         lambda: acsf_peer.create(atoms, n_jobs=1)),
    ]
    header = f"{'descriptor':>10} {'features':>8} {'t_ours/s':>9} {'t_dscribe/s':>11} " \
             f"{'dscribe/ours':>12} {'max rel diff':>12}"
    print(header)
    print("-" * len(header))
    for label, n_features, ours, peer in rows:
        t_ours, mine = best_time(ours, args.repeats)
        t_peer, ref = best_time(peer, args.repeats)
        diff = float(np.abs(mine - ref).max() / np.abs(ref).max())
        print(f"{label:>10} {n_features:8d} {t_ours:9.3f} {t_peer:11.3f} {t_peer / t_ours:12.2f} "
              f"{diff:12.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

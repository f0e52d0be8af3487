"""Side-by-side benchmark: amorpha's periodic CSL bicrystal against pymatgen's GrainBoundaryGenerator.

Run ``python tests/benchmarks/bench_bicrystal.py`` (Cu Σ5(310)[001] and Σ11(1-13)[110], one
boundary period laterally, grains of increasing thickness) or ``--thickness 20 100 400``. Both
builders make the same cell (pymatgen from the primitive fcc cell, its smallest planar CSL cell;
``expand_times`` chosen for the same grain thickness) and remove close pairs at 0.7 × the
nearest-neighbour distance. Times are the best of three. A last line times ours at ~10^6 atoms.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from bench_neighbors import best_time  # noqa: E402
from amorpha.engine.build.bicrystal import BicrystalParams, build_bicrystal  # noqa: E402

A_CU = 3.615
CASES = [((0, 0, 1), 5, (3, 1, 0)), ((1, 1, 0), 11, (1, -1, 3))]


def pymatgen_builder(params: BicrystalParams, angle: float):
    from pymatgen.core import Lattice, Structure
    from pymatgen.core.interface import GrainBoundaryGenerator

    half = A_CU / 2
    primitive = Structure(Lattice([[0, half, half], [half, 0, half], [half, half, 0]]), ["Cu"],
                          [[0, 0, 0]])
    generator = GrainBoundaryGenerator(primitive)
    # pymatgen's grain is expand_times oriented cells thick: measure one along the plane normal.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unit = generator.gb_from_parameters(params.axis, angle, expand_times=1, plane=params.plane,
                                            rm_ratio=0.0)
    a, b, c = unit.lattice.matrix
    normal = np.cross(a, b) / np.linalg.norm(np.cross(a, b))
    times = max(1, math.ceil(params.bulk_thickness / abs(c @ normal / 2)))

    def build():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return generator.gb_from_parameters(params.axis, angle, expand_times=times,
                                                plane=params.plane, rm_ratio=0.7)
    return build


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thickness", type=float, nargs="+", default=[20.0, 80.0, 320.0])
    args = parser.parse_args(argv)
    build_bicrystal(BicrystalParams())  # warm up the neighbour-list kernels

    header = f"{'boundary':>22} {'bulk/Å':>7} {'N_ours':>8} {'N_pmg':>8} {'t_ours/s':>9} {'t_pmg/s':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for axis, sigma, plane in CASES:
        for thickness in args.thickness:
            params = BicrystalParams("Cu", axis=axis, sigma=sigma, plane=plane, bulk_thickness=thickness)
            t_ours, ours = best_time(lambda: build_bicrystal(params), 3)
            t_pmg, theirs = best_time(pymatgen_builder(params, ours.info["misorientation_deg"]), 3)
            print(f"{ours.info['name']:>22} {thickness:>7.0f} {len(ours):>8} {len(theirs):>8} "
                  f"{t_ours:>9.3f} {t_pmg:>9.3f} {t_pmg / t_ours:>6.1f}")
    params = BicrystalParams(bulk_thickness=200.0, lateral_repeat=(48, 32))
    t_ours, ours = best_time(lambda: build_bicrystal(params), 3)
    print(f"ours alone: {len(ours):,} atoms in {t_ours:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

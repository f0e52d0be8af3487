"""Build the a-SiO example (relaxed Si/SiO2 interfaces) and print how it compares (issue 5).

``python packaging/build_relaxed_asio.py [OUT.extxyz] [--compare OTHER.extxyz]`` builds the a-SiO
example (:data:`amorpha.engine.examples.EXAMPLES` ``["a-SiO"]``: the interface-cluster mixture
with ``interface_switches``), writes it (default ``build/a-SiO-relaxed.extxyz``) and prints, for
it and for each ``--compare`` file: Si coordination histogram and the share with ≤ 3 bonds (the
project's bond cutoffs), Si–Si and Si–O bond lengths, Si0..Si4+ fractions, density, build time.
``--tersoff`` also describes the model minimised with Munetoh's Tersoff potential, box relaxed
(needs the optional LAMMPS): an independent check that the bonds hold. The unrelaxed mixture the
example used to be is in git history (``git show 21284b0:resources/examples/a-SiO.extxyz``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from amorpha.engine.bonds import bonds
from amorpha.engine.build.melt_quench import minimize_structure
from amorpha.engine.examples import EXAMPLES
from amorpha.engine.io import read_structure, write_extxyz


def describe(atoms, label: str) -> str:
    z = atoms.numbers
    nl = bonds(atoms)
    rows = np.repeat(np.arange(len(atoms)), nl.counts())
    si = z == 14
    cn = nl.counts()[si]
    n_o = np.bincount(rows[z[nl.indices] == 8], minlength=len(atoms))[si]
    once = rows < nl.indices
    pair = (np.minimum(z[rows], z[nl.indices]) * 100 + np.maximum(z[rows], z[nl.indices]))[once]
    lines = [f"{label}: {len(atoms)} atoms, x = {(~si).sum() / si.sum():.3f}, "
             f"{atoms.get_masses().sum() / atoms.get_volume() * 1.66053906660:.3f} g/cm³",
             f"  Si bonds: {dict(enumerate(np.bincount(cn).tolist()))}; <= 3: {(cn <= 3).sum()} "
             f"({(cn <= 3).mean():.1%}), 4: {(cn == 4).mean():.1%}, >= 5: {(cn >= 5).mean():.1%}",
             "  Si0..Si4+: " + " ".join(f"{f:.3f}" for f in np.bincount(n_o, minlength=5)[:5] / si.sum())]
    for name, code in (("Si–Si", 1414), ("Si–O", 814)):
        d = nl.distances[once][pair == code]
        if len(d):
            lines.append(f"  {name} bonds: {len(d)}, mean {d.mean():.3f} Å, sd {d.std():.3f}, "
                         f"5-95 % {np.percentile(d, 5):.3f}-{np.percentile(d, 95):.3f} Å")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="build/a-SiO-relaxed.extxyz")
    parser.add_argument("--compare", action="append", default=[], help="another model to describe")
    parser.add_argument("--tersoff", action="store_true",
                        help="also describe each model minimised with the Tersoff potential")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    atoms = EXAMPLES["a-SiO"].build(None, None)
    elapsed = time.perf_counter() - start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_extxyz(atoms, out)
    models = [(f"{out} (built in {elapsed:.0f} s)", atoms)]
    models += [(path, read_structure(path)) for path in args.compare]
    for label, model in models:
        print(describe(model, label), flush=True)
        if args.tersoff:
            relaxed = minimize_structure(model)
            print(describe(relaxed, f"  {label}, Tersoff minimum ("
                                    f"{relaxed.info['energy_eV_per_atom']:.3f} eV/atom)"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

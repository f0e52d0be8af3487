"""Write a synthetic "measured" Si K spectrum of the a-SiO example for the README screenshot.

The shared EELS files hold no Si edge, so the measured spectrum is made here: the built-in
surrogate's predicted average of ``resources/examples/a-SiO.extxyz``, scaled to counts on a
constant dark level, with Poisson noise, written as EMSA/MSA. The Explain fit of it with the
model's Si site classes should return the model's own Si0…Si4+ fractions.

    python packaging/synthetic_measured.py OUT.msa [--counts 4000] [--seed 1]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import numpy as np

from amorpha.engine.examples import load_example
from amorpha.engine.spectra.export import write_msa
from amorpha.engine.surrogate.model import SpectrumModel
from amorpha.resources import path as resource_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--counts", type=float, default=4000.0, help="counts at the spectrum's maximum")
    parser.add_argument("--dark", type=float, default=150.0, help="constant dark level (counts)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    model = SpectrumModel.load(resource_path("models") / "Si-K-xtb.amodel")
    atoms = load_example("a-SiO")
    average = model.average(model.predict_structure(atoms))
    y = average.intensity / average.intensity.max() * args.counts + args.dark
    counts = np.random.default_rng(args.seed).poisson(np.clip(y, 0, None)).astype(float)
    measured = replace(average, intensity=counts, label="synthetic a-SiO Si K (prediction + Poisson noise)")
    write_msa(measured, args.out, signal_type="EELS")
    print(f"wrote {args.out}: {len(counts)} channels, {average.energy[0]:g} to {average.energy[-1]:g} eV")
    return 0


if __name__ == "__main__":
    sys.exit(main())

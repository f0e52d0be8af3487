"""Write a synthetic "measured" Si K EELS spectrum of the a-SiO example for the README screenshot.

The shared EELS files hold no usable Si edge, so the measured spectrum is made here as a
microscope records it: on the energy-loss axis (1700-2000 eV, 0.2 eV per channel), a power-law
background A·E^-3 under the built-in surrogate's predicted average of
``resources/examples/a-SiO.extxyz`` placed at the tabulated Si K onset (1839 eV) and shifted by
``--shift`` eV (what alignment must find), with Poisson noise, written as EMSA/MSA. Subtract
background, Align and Explain with the model's Si site classes should return r = 3, the shift
and the model's own Si0…Si4+ fractions.

    python packaging/synthetic_measured.py OUT.msa [--counts 20000] [--shift 1.5] [--seed 2]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from amorpha.engine.examples import load_example
from amorpha.engine.spectra.edges import place_at_onset
from amorpha.engine.spectra.export import write_msa
from amorpha.engine.spectra.spectrum import Spectrum
from amorpha.engine.surrogate.model import SpectrumModel
from amorpha.resources import path as resource_path

SI_K_ONSET = 1839.0  # eV, the EELS Atlas onset the window places predictions at
BACKGROUND_R = 3.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--counts", type=float, default=20000.0, help="counts of the edge's main peak")
    parser.add_argument("--background", type=float, default=3e14, help="A of the background A·E^-3")
    parser.add_argument("--shift", type=float, default=1.5, help="eV the edge lies above the tabulated onset")
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args(argv)
    model = SpectrumModel.load(resource_path("models") / "Si-K-xtb.amodel")
    average = place_at_onset(model.average(model.predict_structure(load_example("a-SiO"))), SI_K_ONSET)
    e = np.arange(1700.0, 2000.0, 0.2)
    # past the prediction's last energy the continuum stays at its last value
    edge = np.interp(e - args.shift, average.energy, average.intensity, left=0.0, right=average.intensity[-1])
    y = args.background * e ** -BACKGROUND_R + args.counts * edge / average.intensity.max()
    counts = np.random.default_rng(args.seed).poisson(y).astype(float)
    write_msa(Spectrum(e, counts, label="synthetic a-SiO Si K (prediction on a power law, Poisson noise)"),
              args.out, beam_energy_kev=200.0, signal_type="EELS")
    print(f"wrote {args.out}: {len(e)} channels, {e[0]:g} to {e[-1]:g} eV")
    return 0


if __name__ == "__main__":
    sys.exit(main())

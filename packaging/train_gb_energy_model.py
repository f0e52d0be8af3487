"""Build the per-atom EMT energy model that ships in resources/models/ (``make models``).

Cu bicrystals of ten CSL tilt boundaries ([001], [110], [111]) at the CSL registry and two random
rigid-body translations, relaxed with ASE's EMT (unrelaxed, half-way and relaxed frames), plus
rattled and strained bulk; tested on Σ5(210)[001] and Σ11(1-13)[110], which it never saw. Prints
the held-out errors and boundary energies and stores them in the model.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from amorpha.engine.gb.atomic_energy import DEFAULT_MODEL, train_default_model

OUT = Path(__file__).resolve().parent.parent / "resources" / "models" / DEFAULT_MODEL


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--element", default="Cu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    model = train_default_model(args.element, seed=args.seed,
                                progress=lambda f, m: print(f"  {f:4.0%} {m}", flush=True))
    test = model.metrics["test_relaxed"]
    print(f"trained on {model.n_train} atoms in {time.perf_counter() - t0:.0f} s")
    print(f"held-out relaxed boundaries: MAE {test['mae_mev']:.2f} meV/atom "
          f"(boundary atoms {test['boundary_mae_mev']:.2f}, max {test['max_error_mev']:.0f})")
    print(f"held-out, all frames: MAE {model.metrics['test_all_frames']['mae_mev']:.2f} meV/atom")
    for g in test["gamma"]:
        print(f"  {g['boundary']}: γ EMT {g['emt']:.3f} J/m², predicted {g['predicted']:.3f}")
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

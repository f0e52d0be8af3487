"""Mobile-atom surrogate on the a-SiO2 example with Cu.

Default: evaluations per second of the trained surrogate's numba pass (energy; energy + forces)
against the UFF pair sum and against scikit-learn's own predict on the same features
(features + predict), on the same 10⁵ random points; the surrogate is trained on UFF.

``--xtb``: the whole pipeline on GFN1-xTB (cluster 4 Å, cached): 1800 + 200 energies (about
a second each: run it with ``nice`` in the background), test RMSE/MAE, and barriers along the
surrogate's paths re-evaluated with xTB on ``--hops`` paths (mean |Δ|).
"""
import argparse
import time

import numpy as np

from amorpha.engine.diffusion import HostPotential
from amorpha.engine.diffusion.paths import LandscapeParams, PathParams, build_network
from amorpha.engine.diffusion.sites import SiteSearchParams
from amorpha.engine.diffusion.surrogate import SurrogateParams, build_surrogate, compare_barriers
from amorpha.engine.examples import load_example


def rate(fn, points):
    fn(points[:10])
    t = time.perf_counter()
    fn(points)
    return len(points) / (time.perf_counter() - t)


def speed(host):
    uff = HostPotential(host, "Cu")
    t = time.perf_counter()
    surrogate = build_surrogate(host, uff, SurrogateParams())
    print(f"trained on UFF in {time.perf_counter() - t:.0f} s: {surrogate.metrics()}")
    potential = surrogate.potential
    points = np.random.default_rng(0).random((100_000, 3)) @ host.cell.array
    y_mean, y_scale = potential.network[4], potential.network[5]

    def sklearn(q):
        return surrogate.model.predict(surrogate.scaler.transform(potential.features(q))) \
            * y_scale + y_mean

    ours = rate(potential.energy, points)
    forces = rate(potential.energy_and_gradient, points)
    theirs = rate(sklearn, points)
    pair = rate(uff.energy, points)
    print(f"surrogate energy   {ours:12.0f} /s   (target ≥ 1e5)")
    print(f"surrogate + forces {forces:12.0f} /s")
    print(f"sklearn predict    {theirs:12.0f} /s   (features in numba + MLPRegressor.predict)")
    print(f"UFF pair sum       {pair:12.0f} /s")
    print(f"ratio surrogate / sklearn {ours / theirs:.2f}, surrogate / UFF {ours / pair:.2f}")


def xtb(host, hops):
    from amorpha.engine.diffusion.reference import XtbReference

    reference = XtbReference(host, "Cu", cluster_radius=4.0)
    t = time.perf_counter()
    last = [0.0]

    def progress(fraction, message):
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            print(f"{time.perf_counter() - t:7.0f} s {fraction:.3f} {message}", flush=True)

    surrogate = build_surrogate(host, reference, SurrogateParams(), progress=progress)
    print(f"xTB surrogate in {time.perf_counter() - t:.0f} s: {surrogate.metrics()}", flush=True)
    params = LandscapeParams(SiteSearchParams(element="Cu", spacing=0.4), PathParams())
    sites, paths, network = build_network(host, params, potential=surrogate.potential)
    print(f"{len(sites)} sites, {len(paths)} hops on the surrogate", flush=True)
    chosen = np.argsort(paths.barriers[:, 0])[:hops]
    comparison = compare_barriers(reference, paths, hops=chosen)
    print(f"barriers on {len(chosen)} lowest hops: mean |Δ| {comparison.mean_abs_difference:.3f} "
          f"eV, max {comparison.max_abs_difference:.3f} eV (target mean ≤ 0.1)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--xtb", action="store_true")
    parser.add_argument("--hops", type=int, default=40)
    args = parser.parse_args()
    host = load_example("a-SiO2")
    xtb(host, args.hops) if args.xtb else speed(host)

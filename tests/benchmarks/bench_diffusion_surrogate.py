"""Mobile-atom surrogate on the a-SiO2 example with Cu.

Default: evaluations per second of the trained surrogate's numba pass (energy; energy + forces)
against the UFF pair sum and against scikit-learn's own predict on the same features
(features + predict), on the same 10⁵ random points; the surrogate is trained on UFF.

``--xtb``: the whole pipeline on GFN1-xTB (cluster 4 Å averaged over a ``--buffer`` Å shell;
0: one radius; cached): 1800 + 200 energies (1–3 s each: run it with ``nice`` in the
background; a rerun takes the cached cluster energies), test RMSE/MAE with the penalty chosen by
cross-validation on the training set, sites and hops against UFF's, and barriers along the
surrogate's paths re-evaluated with xTB on ``--hops`` paths (mean |Δ|).

``--soap``: the quadratic kernel model on the SOAP of the mobile point instead of the network on
symmetry functions (both paths).

Last measured (``--xtb --buffer 0``, the one-radius cluster whose energies are cached; the
radius-averaged energies differ from them by 0.012 eV RMS on 282 of those points):

* network (default, no proposal cap): test RMSE 0.109 eV on all 200 held-out positions (target
  0.05; before cross-validation 0.238); 637 sites and 1395 hops against UFF's 563 and 1057
  (its guard starts at 31 eV: no site is near it);
  barriers on the 40 lowest hops mean |Δ| 0.042 eV, max 0.171 (target 0.1). With the 1.5 eV
  proposal cap: 0.090 eV, but 4608 sites and barriers 0.734 eV off (minima where no sample is).
* ``--soap`` (SOAP_TRAINING: 1.5 eV cap; 1827 of its positions shared with the uncapped draw):
  test RMSE 0.047 eV (3-fold CV 0.051 at alpha 1e-5; without the taper 0.045; without the cap
  0.075); with the guard 697 sites and 1142 hops (UFF: 563, 1057); without it 1125 sites and
  2055 hops, 492 of 1180 sites where UFF lies above the cap; barriers on the 40 lowest hops
  mean |Δ| 0.029 eV, max 0.081 (the same with and without the guard).
* speed (trained on UFF, one thread, CPU time, 2-core VM shared with another job, so runs
  spread ±20%): network 1.12–1.18·10⁵ energies/s (target 10⁵), 0.82–0.87·10⁵ with forces,
  1.15–1.20·10⁵ on the grid; sklearn's MLP predict on the same features 1.17–1.24·10⁵.
  ``--soap``: 8.2·10⁴ energies/s on one thread (~12 µs per point, see
  :mod:`amorpha.engine.diffusion.point_soap`), 2.6·10⁴ with forces, 8.3·10⁴ on the grid;
  sklearn's KernelRidge.predict 1.6·10⁴ (ratio 5.1). With one thread per core (2 here, wall
  time; energies, grids and minimisations spread their points over the cores): 1.45·10⁵
  energies/s (target 10⁵ met), 4.7·10⁴ with forces, 1.67·10⁵ on the grid. Re-run 2026-11-22
  after the threading: RMSE 0.047, 697 sites / 1141 hops, barriers 0.029 / 0.081 eV unchanged. On UFF's larger energy range
  the 40 kept eigenpairs differ from the full kernel sum by up to 0.06 eV (on xTB: nothing
  measurable); that comparison leaves out points where the guard acts (sklearn knows no
  guard). 2026-11-23, idle machine (Xeon @ 2.8 GHz, AVX-512), same code: ``--soap`` 3.1·10⁴
  energies/s on one thread, 6.3·10⁴ on two, grid 6.6·10⁴; sklearn 1.09·10⁴ (ratio 2.8); UFF
  1.29·10⁵. Per point on one thread: gather 4.7 µs, coefficients 8.9, spectrum 5.6, model 6.0
  (session 9: 2.5, ~5.9, 2.2, 2.4): every stage ~2× slower, the machine, not a stage, so the 10⁵
  target holds or not with the day's machine. Later that day, defaults n, l ≤ 5 (cross-validated
  RMSE 0.0517 against 0.0512 eV, 1.3× faster, :class:`~amorpha.engine.diffusion.point_soap.PointSoapParams`)
  and pieces balanced over the threads (:func:`amorpha.engine.tasks.balanced_chunk`: 20 000
  points in pieces of 4096 had left one core idle a sixth of the time): ``--xtb --buffer 0``
  test RMSE 0.048 eV (CV 0.052), 667 sites / 1104 hops, barriers on the 40 lowest hops mean
  |Δ| 0.032 eV, max 0.089; speed one thread 5.2·10⁴, two threads 1.14·10⁵ (grid 9.0·10⁴),
  sklearn 2.2·10⁴ (ratio 2.35), UFF 1.6·10⁵; an hour later, the machine slower again, two
  threads 7.5–8.7·10⁴. 2026-11-23 (session 13), the per-point kernels without numba's reference
  counting (:mod:`amorpha.engine.leaf`): the same model 1.2–1.4× faster per point in one
  process against the previous code (min of 30 runs: 15.5–18 → 12.8–13.2 µs); this bench, on a
  slow hour of the machine, one thread 5.3–6.0·10⁴, two threads 9.0·10⁴ (wall time, which
  also counts the time the VM's host takes the cores away: /proc/stat's steal is ~8 % here),
  grid 1.03–1.05·10⁵, forces 2.4–2.9·10⁴ one thread, sklearn ratio 2.8–3.0, UFF 1.6–1.8·10⁵.
  2026-11-23 (session 14), the whole per-point path leaves with buffers sized once per host
  and Y ⊗ R held in registers (one process against the previous code: energy 1.14–1.20×,
  forces 1.09–1.15×): three runs within 40 minutes (the first before the Y ⊗ R change), one
  thread 7.2 / 5.8 / 9.0·10⁴, two threads 1.01 / 1.02 / 1.73·10⁵ (target met in all three),
  grid 1.30 / 1.38 / 1.66·10⁵,
  forces 2.4–3.2·10⁴ one thread, sklearn ratio 2.95–3.98, UFF 1.8–2.4·10⁵.
  Clear ``engine/diffusion/__pycache__`` numba files before timing a changed
  kernel: numba does not notice changes in the kernels a cached one calls.
"""
import argparse
import os
import time

import numpy as np

from amorpha.engine.diffusion import HostPotential
from amorpha.engine.diffusion import potential as potential_module
from amorpha.engine.diffusion.paths import LandscapeParams, PathParams, build_network
from amorpha.engine.diffusion.sites import SiteSearchParams, energy_grid
from amorpha.engine.diffusion.surrogate import (SOAP_TRAINING, SurrogateParams, build_surrogate,
                                                compare_barriers)
from amorpha.engine.examples import load_example


def rate(fn, points):
    """(evaluations per second of CPU time of this thread, per second of wall time) in one
    thread: on a machine shared with other jobs the first is the single-thread speed, the second
    what one got."""
    potential_module.THREADS = 1
    fn(points[:10])
    best_cpu = best_wall = 0.0
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.thread_time()
        fn(points)
        best_cpu = max(best_cpu, len(points) / (time.thread_time() - cpu))
        best_wall = max(best_wall, len(points) / (time.perf_counter() - wall))
    potential_module.THREADS = None
    return best_cpu, best_wall


def threaded_rate(fn, points):
    """Evaluations per second of wall time with one thread per core (what a user's grid,
    minimisation or batch of energies gets: the points are spread over the cores)."""
    potential_module.THREADS = None
    fn(points[:10])
    best = 0.0
    for _ in range(3):
        wall = time.perf_counter()
        fn(points)
        best = max(best, len(points) / (time.perf_counter() - wall))
    return best


def speed(host, params):
    uff = HostPotential(host, "Cu")
    t = time.perf_counter()
    surrogate = build_surrogate(host, uff, params)
    print(f"trained on UFF in {time.perf_counter() - t:.0f} s: {surrogate.metrics()}")
    potential = surrogate.potential
    points = np.random.default_rng(0).random((100_000 if potential.kind == "network" else 20_000,
                                              3)) @ host.cell.array

    def sklearn(q):
        x = potential.features(q)
        if potential.kind == "network":
            y_mean, y_scale = potential.network[4], potential.network[5]
            return surrogate.model.predict(surrogate.scaler.transform(x)) * y_scale + y_mean
        y_mean, y_scale = potential.network[2], potential.network[3]
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        return surrogate.model.predict(unit) * y_scale + y_mean  # the whole kernel sum

    free = points[:2000][~potential.overlaps(points[:2000])]  # sklearn knows no wall
    free = free[potential.uff_energy(free) <= potential.guard]  # nor the guard
    gap = np.abs(sklearn(free) - potential.energy(free)).max()
    print(f"largest |ours − sklearn| {gap:.2e} eV (network: same numbers; SOAP: the kept "
          f"eigenpairs of the kernel sum)")
    ours = rate(potential.energy, points)
    forces = rate(potential.energy_and_gradient, points)
    theirs = rate(sklearn, points)
    pair = rate(uff.energy, points)
    grid = rate(lambda q: energy_grid(potential, 0.4), points[:1])
    n_grid = energy_grid(potential, 0.4).energies.size
    many = (threaded_rate(potential.energy, points),
            threaded_rate(potential.energy_and_gradient, points),
            threaded_rate(lambda q: energy_grid(potential, 0.4), points[:1]) * n_grid)
    print("evaluations per second, one thread: CPU time (wall time on this machine)")
    print(f"surrogate energy   {ours[0]:10.0f} ({ours[1]:8.0f}) /s   (target ≥ 1e5)")
    print(f"surrogate + forces {forces[0]:10.0f} ({forces[1]:8.0f}) /s")
    print(f"surrogate grid     {grid[0] * n_grid:10.0f} ({grid[1] * n_grid:8.0f}) /s   "
          f"(energy_grid, 0.4 Å, {n_grid} points)")
    print(f"sklearn predict    {theirs[0]:10.0f} ({theirs[1]:8.0f}) /s   "
          f"(features in numba + {type(surrogate.model).__name__}.predict)")
    print(f"UFF pair sum       {pair[0]:10.0f} ({pair[1]:8.0f}) /s")
    print(f"{os.cpu_count()} threads (wall time): energy {many[0]:.0f} /s   (target ≥ 1e5), "
          f"+ forces {many[1]:.0f} /s, grid {many[2]:.0f} /s")
    print(f"ratio surrogate / sklearn {ours[0] / theirs[0]:.2f}, surrogate / UFF "
          f"{ours[0] / pair[0]:.2f}")


def xtb(host, hops, buffer, params):
    from amorpha.engine.diffusion.reference import XtbReference

    reference = XtbReference(host, "Cu", cluster_radius=4.0, buffer=buffer)
    t = time.perf_counter()
    last = [0.0]

    def progress(fraction, message):
        if time.perf_counter() - last[0] > 60:
            last[0] = time.perf_counter()
            print(f"{time.perf_counter() - t:7.0f} s {fraction:.3f} {message}", flush=True)

    surrogate = build_surrogate(host, reference, params, progress=progress)
    m = surrogate.metrics()
    print(f"{reference.label}: surrogate in {time.perf_counter() - t:.0f} s: {m}", flush=True)
    print(f"test RMSE on all {m['n_test']} held-out positions {m['rmse_ev']:.3f} eV (target "
          f"≤ 0.05), training {m['train_rmse_ev']:.3f}, {SurrogateParams().cv_folds}"
          f"-fold CV {m['cv_rmse_ev']:.3f} at alpha {m['alpha']:g}", flush=True)
    landscape = LandscapeParams(SiteSearchParams(element="Cu", spacing=0.4), PathParams())
    uff_sites, uff_paths, _ = build_network(host, landscape)
    sites, paths, network = build_network(host, landscape, potential=surrogate.potential)
    print(f"{len(sites)} sites, {len(paths)} hops on the surrogate; UFF {len(uff_sites)} sites, "
          f"{len(uff_paths)} hops", flush=True)
    potential = surrogate.potential
    if potential.guard is not None:
        above = potential.uff_energy(sites.positions) > potential.guard
        print(f"{above.sum()} of the sites lie where the guard acts (UFF within "
              f"{potential.cutoff:g} Å above {potential.guard:.2f} eV, the training points' "
              "highest)", flush=True)
    if params.proposal_cap is not None:
        high = HostPotential(host, "Cu").energy(sites.positions) > uff_sites.energies.min() + \
            params.proposal_cap
        print(f"{high.sum()} of the sites lie where UFF is more than the {params.proposal_cap} eV "
              "cap above its lowest site", flush=True)
    chosen = np.argsort(paths.barriers[:, 0])[:hops]
    comparison = compare_barriers(reference, paths, hops=chosen, progress=progress)
    print(f"barriers on {len(chosen)} lowest hops: mean |Δ| {comparison.mean_abs_difference:.3f} "
          f"eV, max {comparison.max_abs_difference:.3f} eV (target mean ≤ 0.1)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--xtb", action="store_true")
    parser.add_argument("--hops", type=int, default=40)
    parser.add_argument("--buffer", type=float, default=0.5)
    parser.add_argument("--soap", action="store_true",
                        help="the quadratic model on SOAP instead of the network on ACSF")
    args = parser.parse_args()
    host = load_example("a-SiO2")
    params = SOAP_TRAINING if args.soap else SurrogateParams()
    xtb(host, args.hops, args.buffer, params) if args.xtb else speed(host, params)

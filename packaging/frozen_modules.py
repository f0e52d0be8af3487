"""Modules the packaged app needs that PyInstaller's import analysis does not find (used by
amorpha.spec; tests/test_packaging.py checks them against what a model load imports)."""
from __future__ import annotations

import pathlib


def skops_modules() -> list[str]:
    """Every module of skops.io: it imports its per-library loaders by name when it reads a
    fitted model, some from a folder without __init__.py (skops/io/old) that PyInstaller's
    collect_submodules does not list."""
    import skops.io

    base = pathlib.Path(skops.io.__file__).parent
    return ["skops.io." + ".".join(path.relative_to(base).with_suffix("").parts)
            for path in sorted(base.rglob("*.py")) if "tests" not in path.parts and path.name != "__init__.py"]

"""Data files shipped with Amorpha (example models, colour tables, icons).

Kept as a package so that ``importlib.resources`` finds them both in a checkout and in an
installed or frozen app.
"""
from pathlib import Path


def path(name: str) -> Path:
    """Absolute path of a shipped resource file."""
    return Path(__file__).resolve().parent / name

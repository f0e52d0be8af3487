"""PyInstaller runtime hook: numba's cache goes to a writable place (the app folder may be
read-only), and vispy uses PySide6."""
import os
from pathlib import Path

cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "amorpha" / "numba"
os.environ.setdefault("NUMBA_CACHE_DIR", str(cache))
os.environ.setdefault("QT_API", "pyside6")

"""Shared test set-up: isolated settings, vispy on PySide6, GL tests only with a display."""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Settings (recent files, last folder) and caches (xTB site spectra) go to throw-away folders,
# never the user's.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="amorpha-test-config-")
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="amorpha-test-cache-")
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="amorpha-test-state-")  # autosave
for _kind in ("CONFIG", "CACHE", "STATE"):
    atexit.register(shutil.rmtree, os.environ[f"XDG_{_kind}_HOME"], ignore_errors=True)
HAS_DISPLAY = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
if not HAS_DISPLAY:
    # Qt's offscreen platform works for widgets but cannot make an OpenGL context.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import vispy  # noqa: E402

vispy.use("pyside6")

#: Public validation data beside the repository (absent on users' machines).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_collection_modifyitems(config, items):
    if HAS_DISPLAY:
        return
    skip = pytest.mark.skip(reason="needs a display with OpenGL: run 'make test' (uses Xvfb)")
    for item in items:
        if "gl" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def shared_data():
    """Path of ../shared/data, or skip the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (validation data lives beside the repo)")
    return SHARED_DATA

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


def test_the_packaged_app_holds_every_skops_module_a_model_load_imports(tmp_path):
    """skops imports its loaders by name while reading a fitted model; PyInstaller cannot see
    those imports, so amorpha.spec lists them (packaging/frozen_modules.py). A frozen app that
    lacked skops.io.old refused every ridge, kernel-ridge and MLP model file as damaged."""
    import subprocess
    import sys

    script = """
import sys
import numpy as np
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from amorpha.engine.model_zip import load_fitted
x = np.random.default_rng(0).normal(size=(40, 3))
fitted = {"scaler": StandardScaler().fit(x), "network": MLPRegressor(hidden_layer_sizes=(4,), max_iter=20).fit(x, x[:, 0])}
before = set(sys.modules)
import skops.io
load_fitted(skops.io.dumps(fitted))
def plain(name):  # a module file, not a package (PyInstaller finds those by their imports)
    path = getattr(sys.modules[name], "__file__", None) or ""
    return name.startswith("skops.io.") and path.endswith(".py") and not path.endswith("__init__.py")
print(" ".join(sorted(m for m in set(sys.modules) - before if plain(m))))
"""
    loaded = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True,
                            check=True).stdout.split()
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        from frozen_modules import skops_modules
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    assert loaded and set(loaded) <= set(skops_modules()), set(loaded) - set(skops_modules())


def test_the_menu_entry_works_from_a_folder_with_spaces(tmp_path):
    """install-desktop.sh wrote Exec=/my app/amorpha unquoted: the desktop split it at the space."""
    import shutil
    import subprocess

    for folder, ok in (("my app", True), ('we"ird $x', False)):
        here = tmp_path / folder
        here.mkdir()
        for name in ("install-desktop.sh", "amorpha.desktop"):
            shutil.copy(ROOT / "packaging" / name, here / name)
        (here / "amorpha.png").write_bytes(b"")
        data = tmp_path / f"data-{ok}"
        run = subprocess.run(["sh", str(here / "install-desktop.sh")], capture_output=True, text=True,
                             env={"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(data)})
        assert (run.returncode == 0) == ok, run.stderr
        entry = data / "applications" / "amorpha.desktop"
        if ok:
            assert f'Exec="{here}/amorpha" %f' in entry.read_text().splitlines()
        else:
            assert "move Amorpha to a folder" in run.stderr and not entry.exists()

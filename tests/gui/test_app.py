"""The command line: `amorpha FILE --screenshot OUT.png`, and a clear word without a display."""
import os
import subprocess
import sys

import numpy as np
import pytest
from ase.io import write
from PySide6.QtGui import QImage

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.gui.panels.ring_views import H_COLOURS


def run_app(args, env=None, timeout=240):
    return subprocess.run(
        [sys.executable, "-m", "amorpha.gui", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )


def test_no_display_says_how_to_run_headless():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = run_app([], env=env, timeout=60)
    assert result.returncode == 2
    assert "No display found" in result.stderr and "xvfb-run" in result.stderr


def pixels(path) -> np.ndarray:
    """The PNG's pixels, height × width × RGB."""
    image = QImage(str(path)).convertToFormat(QImage.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * height)
    return data.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).astype(int)


def colourful_fraction(path):
    rgb = pixels(path)
    height, width = rgb.shape[:2]
    saturation = rgb.max(axis=2) - rgb.min(axis=2)
    return width, height, float(np.mean(saturation > 60))


@pytest.mark.gl
def test_screenshot_of_a_file(tmp_path):
    model = tmp_path / "quartz.xyz"
    write(model, alpha_quartz((3, 3, 3)))
    out = tmp_path / "shot.png"
    result = run_app([str(model), "--screenshot", str(out), "--size", "1300x850"])
    assert result.returncode == 0, result.stderr
    width, height, colourful = colourful_fraction(out)
    assert (width, height) == (1300, 850)
    assert colourful > 0.01, "the viewer shows no coloured atoms"


@pytest.mark.gl
def test_screenshot_of_a_bad_file_fails_with_the_reason(tmp_path):
    bad = tmp_path / "broken.xyz"
    bad.write_text("3\n\nSi 0 0\n")
    result = run_app([str(bad), "--screenshot", str(tmp_path / "x.png")])
    assert result.returncode == 1
    assert "broken.xyz" in result.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.gl
def test_screenshot_coloured_by_an_array_the_model_lacks_fails_clearly(tmp_path):
    result = run_app(["--color-by", "q6", "--screenshot", str(tmp_path / "x.png")])
    assert result.returncode == 1
    assert "no per-atom array 'q6'" in result.stderr and "coordination" in result.stderr


@pytest.mark.gl
def test_screenshot_of_the_ring_browser(tmp_path):
    out = tmp_path / "rings.png"
    result = run_app(["--rings", "primitive", "--ring-size", "6", "--screenshot", str(out)])
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000


@pytest.mark.gl
def test_screenshot_of_a_persistence_diagram_computed_in_a_child_process(tmp_path):
    """--homology on a-SiO's 2592 Si: past CHILD_MIN_POINTS, so gudhi runs in a spawned child
    (what a packaged app must manage too); the picture waits for the diagram's H1 and H2 points."""
    from amorpha.engine.order.homology import CHILD_MIN_POINTS
    from amorpha.resources import path as resource_path

    model = resource_path("examples") / "a-SiO.extxyz"
    assert (read_numbers(model) == 14).sum() > CHILD_MIN_POINTS
    out = tmp_path / "homology.png"
    result = run_app([str(model), "--homology", "--screenshot", str(out), "--size", "1300x850"])
    assert result.returncode == 0, result.stderr
    rgb = pixels(out)
    for colour in H_COLOURS.values():  # both kinds of point drawn
        assert (np.abs(rgb - colour).sum(axis=2) < 40).sum() > 200, colour


def read_numbers(path):
    from ase.io import read

    return read(path).numbers


@pytest.mark.gl
def test_the_terminal_stays_quiet_for_notes_meant_for_scripts(tmp_path):
    """An .msa file whose DATE/TIME RosettaSciIO cannot parse (as pyEELSMODEL's SrTiO3 files):
    the window opens it without RosettaSciIO's warning on the terminal."""
    from amorpha.engine.spectra.export import write_msa
    from amorpha.engine.spectra.spectrum import Spectrum

    model = tmp_path / "quartz.xyz"
    write(model, alpha_quartz((2, 2, 2)))
    e = np.arange(500.0, 600.0, 0.5)
    write_msa(Spectrum(e, 1e3 + 200.0 * (e > 532.0), label="O K"), path := tmp_path / "o.msa")
    lines = [line for line in path.read_text().splitlines() if not line.startswith(("#DATE", "#TIME"))]
    path.write_text("\n".join(lines[:3] + ["#DATE        : 6/8/2005", "#TIME        : 12:02:40 PM"] + lines[3:]) + "\n")
    out = tmp_path / "shot.png"
    result = run_app([str(model), "--measured", str(path), "--screenshot", str(out), "--size", "1300x850"])
    assert result.returncode == 0, result.stderr
    assert "RosettaSciIO" not in result.stderr and "ConvergenceWarning" not in result.stderr, result.stderr


@pytest.mark.gl
def test_screenshot_coloured_by_a_spectral_feature(tmp_path):
    """a-SiO's Si atoms coloured by their predicted Si K edge energy (the oxidation states' shift)."""
    from amorpha.resources import path

    out = tmp_path / "edge.png"
    result = run_app([str(path("examples") / "a-SiO.extxyz"), "--spectral-feature", "edge_energy",
                      "--screenshot", str(out), "--size", "1300x850"])
    assert result.returncode == 0, result.stderr
    assert colourful_fraction(out)[2] > 0.01, "the viewer shows no coloured atoms"

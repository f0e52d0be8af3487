"""A project whose spectra hold values no spectrum can have (NaN or infinite, an energy axis that
does not increase) opens with those spectra left out and named in the one dialog of what was left
out; one whose model has a constraint on atoms it lacks is refused, and the model shown stays.
The damaged projects are written by save_project itself, which stores such values as they are
(as an edited or damaged file would hold them)."""
import numpy as np
import pytest
from ase.constraints import FixAtoms

from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.engine.project import Project, save_project
from amorpha.engine.spectra.spectrum import Spectrum
from amorpha.gui.project_io import MODEL_KEY, _read_project

ENERGY = np.linspace(1830.0, 1870.0, 81)
PEAK = np.exp(-0.5 * ((ENERGY - 1847) / 2) ** 2)


@pytest.fixture(autouse=True)
def no_preferences_saved(monkeypatch):
    """A window closing saves its preferences; these tests leave the user's alone."""
    monkeypatch.setattr("amorpha.gui.main_window.save_preferences", lambda *a, **k: None)


def spectrum(label, energy=ENERGY, intensity=PEAK):
    return Spectrum(energy, intensity, label=label, element="Si", edge="K")


def with_point(array, k, value):
    array = array.copy()
    array[k] = value
    return array


#: spectra as the window names them in a project, each damaged one with the note it must get
DAMAGED = {
    "measured 001: NaN intensity": (spectrum("NaN intensity", intensity=with_point(PEAK, 40, np.nan)),
                                    "an intensity is NaN or infinite"),
    "measured 002: infinite intensity": (spectrum("infinite intensity", intensity=with_point(PEAK, 3, -np.inf)),
                                         "an intensity is NaN or infinite"),
    "reference 000: NaN energy": (spectrum("NaN energy", energy=with_point(ENERGY, 7, np.nan)),
                                  "energy point 7 is NaN or infinite"),
    "reference 001: infinite energy": (spectrum("infinite energy", energy=with_point(ENERGY, 80, np.inf)),
                                       "energy point 80 is NaN or infinite"),
    "reference 002: decreasing": (spectrum("decreasing", energy=ENERGY[::-1]),
                                  "the energy axis must increase; point 1 (1869.5 eV) does not follow point 0 "
                                  "(1870 eV)"),
}


def saved(tmp_path, atoms, spectra=None):
    path = tmp_path / "bad.amorpha"
    save_project(Project(structures={MODEL_KEY: atoms}, spectra=spectra or {}), path, extxyz=False)
    return str(path)


def test_spectra_no_spectrum_can_have_are_left_out_and_named(tmp_path):
    """Read in the background, before anything on screen changes: each damaged spectrum is left
    out with a note naming it and what is wrong; the good ones stay, in their order."""
    spectra = {"measured 000: good": spectrum("good"), **{name: s for name, (s, _) in DAMAGED.items()},
               "reference 003: also good": spectrum("also good")}
    project, notes = _read_project(saved(tmp_path, beta_cristobalite((1, 1, 1)), spectra))
    assert list(project.spectra) == ["measured 000: good", "reference 003: also good"]
    assert notes == [f"the spectrum {name!r} ({reason})" for name, (_, reason) in DAMAGED.items()]


def shown(qtbot, window):
    """The window showing a model of its own, whose replacement the tests look for."""
    with qtbot.waitSignal(window.model_ready, timeout=60000):
        window.set_model(beta_cristobalite((2, 1, 1)), "shown before")
    return window.atoms


def test_the_project_opens_without_the_damaged_spectra_and_says_so(qtbot, empty_window, tmp_path):
    """The model and the good spectrum open; the dialog of what was left out names the damaged one
    (before, it was shown without a word, and what used it misbehaved later)."""
    window = empty_window
    crystal = beta_cristobalite((1, 1, 1))
    name = "reference 000: NaN energy"
    spectra = {"reference 001: good": spectrum("good"), name: DAMAGED[name][0]}
    with qtbot.waitSignal(window.project.restored, timeout=60000):
        window.open_path(saved(tmp_path, crystal, spectra))
    qtbot.waitUntil(lambda: window.task_status.current() is None, timeout=30000)
    text = window.last_error
    assert text.startswith("Parts of bad.amorpha are damaged and were left out:")
    assert "Everything else was opened" in text
    assert f"• the spectrum {name!r} (energy point 7 is NaN or infinite)" in text, text
    assert len(window.atoms) == len(crystal)
    assert [s.label for s in window.spectrum_panel.group("reference")] == ["good"]


def test_a_model_with_a_constraint_on_atoms_it_lacks_is_refused_and_the_shown_one_stays(
        qtbot, empty_window, tmp_path):
    """Refused as the engine refuses it, naming the file, the structure and the constraint; the
    window keeps the model it showed."""
    window = empty_window
    before = shown(qtbot, window)
    crystal = beta_cristobalite((1, 1, 1))
    crystal.set_constraint(FixAtoms(indices=[0, len(crystal) + 5]))
    with qtbot.waitSignal(window.error_shown, timeout=30000) as blocker:
        window.open_path(saved(tmp_path, crystal))
    text = blocker.args[0]
    assert "Opening the project failed" in text and "bad.amorpha: the project is damaged" in text, text
    assert (f"structures/000-model has constraint 0 (FixAtoms) on atom {len(crystal) + 5}, but the structure "
            f"has {len(crystal)} atoms") in text, text
    assert window.atoms is before and window.source == "shown before"

"""File › Examples: every example has its built file, and the file is what its recipe says."""
import numpy as np
import pytest

from amorpha.engine.examples import DEFAULT_EXAMPLE, EXAMPLES, example_path, load_example


@pytest.mark.parametrize("key", list(EXAMPLES))
def test_every_example_is_built_and_opens(key):
    assert example_path(key).is_file(), f"run 'make examples' to build {key}"
    atoms = load_example(key)
    assert len(atoms) > 0 and atoms.info["name"] == EXAMPLES[key].title


def test_the_examples_are_what_their_names_say():
    silica = load_example("a-SiO2")
    assert len(silica) == 3000 and np.sum(silica.numbers == 8) == 2000
    sio = load_example("a-SiO")
    n_si, n_o = np.sum(sio.numbers == 14), np.sum(sio.numbers == 8)
    assert 4500 <= len(sio) <= 5500 and n_o / n_si == pytest.approx(1.0, abs=0.01)
    assert sio.info["form"] == "mixture"
    assert set(load_example("a-Si").symbols) == {"Si"}
    gb = load_example("Cu-sigma5-310")
    assert gb.info["sigma"] == 5 and gb.info["plane"] == "(310)"
    poly = load_example("Cu-polycrystal")
    assert poly.info["n_grains"] == 6 and set(np.unique(poly.arrays["grain"])) == set(range(6))


def test_the_window_opens_on_amorphous_silica():
    assert DEFAULT_EXAMPLE == "a-SiO2"

"""Preferences: kept between runs, checked, and a damaged file never stops the app."""
import json

import pytest

from amorpha.engine.errors import ParameterError
from amorpha.engine.preferences import Preferences, cutoff_pair, load_preferences, save_preferences


def test_round_trip_and_cutoff_overrides(tmp_path):
    prefs = Preferences(element_colors={"Si": "#112233"}, element_radii={"O": 0.4},
                        cutoffs={"Si-O": 2.0, "O–Si": 2.0, "Si-Si": 0.0})
    save_preferences(prefs, tmp_path / "p.json")
    back, ignored = load_preferences(tmp_path / "p.json")
    assert back == prefs and ignored == []
    assert back.cutoff_overrides() == {(8, 14): 2.0, (14, 14): 0.0}
    assert cutoff_pair("Cu-Si") == (14, 29)


@pytest.mark.parametrize("field, value, message", [
    ("element_colors", {"Si": "red"}, "#rrggbb"),
    ("element_colors", {"Xx": "#000000"}, "not an element symbol"),
    ("element_radii", {"O": -1}, "between 0.05 and 5"),
    ("cutoffs", {"SiO": 2.0}, "A-B"),
    ("cutoffs", {"Si-O": 20.0}, "between 0"),
    ("calculator", {"cluster_radius": -1.0}, "cluster_radius"),
])
def test_bad_values_name_what_is_wrong(field, value, message):
    with pytest.raises(ParameterError, match=message):
        Preferences(**{field: value}).validate()


def test_damaged_file_keeps_what_can_be_read(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"element_colors": {"Si": "#00ff00"}, "cutoffs": {"Si=O": 2}}))
    prefs, ignored = load_preferences(path)
    assert prefs.element_colors == {"Si": "#00ff00"} and prefs.cutoffs == {}
    assert len(ignored) == 1 and "cutoffs ignored" in ignored[0]
    path.write_text("{not json")
    prefs, ignored = load_preferences(path)
    assert prefs == Preferences() and "using the defaults" in ignored[0]
    assert load_preferences(tmp_path / "absent.json") == (Preferences(), [])

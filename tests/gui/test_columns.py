"""The Colour by list's titles of the per-atom columns (gui.columns)."""
from amorpha.gui.columns import TITLES, column_label, column_title


def test_columns_have_titles_and_unknown_ones_keep_their_key():
    longest = max(TITLES, key=lambda k: len(TITLES[k]))
    assert len(TITLES[longest]) <= 27, longest  # the View dock's list shows ~27 characters
    assert column_title("q6_avg") == "Steinhardt q6, averaged"
    assert column_title("w4_hat") == "Steinhardt ŵ4"
    assert column_title("coordination_O") == "Bonded O neighbours"
    assert column_title("predicted_edge_energy") == "Predicted edge energy"
    assert column_label("predicted_edge_energy") == "Predicted edge energy (eV)"
    assert column_label("training_distance") == "Distance to training sites (1 = the model's domain radius)"
    assert column_label("site_energy") == "Site energy (eV above the bulk)"
    assert column_title("c_pe") == column_label("c_pe") == "c_pe"  # a LAMMPS dump's column: its own name
    assert column_title("q6x") == "q6x"  # a pattern must match the whole key

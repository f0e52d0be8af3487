"""Explain's default classes: the first scheme that splits the shown model's sites (every O of the
shipped silica examples is two-fold, so "coordination" gave one class and a fit whose fraction is 1
by construction), and ring labels that say what they count."""
from ase.io import read

from amorpha.engine.spectra.site_classes import ClassParams, class_label, scheme_order, splitting_scheme
from amorpha.resources import path


def test_o_of_silica_is_sorted_by_ring_and_si_of_sio_by_oxidation():
    silica = read(path("examples") / "a-SiO2.extxyz")
    assert scheme_order("O") == ["coordination", "ring"]
    assert splitting_scheme(silica, "O") == "ring"  # coordination: one class, all O two-fold
    sio = read(path("examples") / "a-SiO.extxyz")
    assert splitting_scheme(sio, "Si", ClassParams(ring_max_size=8)) == "oxidation"  # Si0 … Si4+
    assert splitting_scheme(silica[:0], "O") == "coordination"  # nothing to split: the default


def test_ring_labels_say_what_they_count():
    assert class_label("ring", 10, "O") == "ring of 10 atoms"
    assert class_label("ring", 5, "O", "Si") == "ring of 5 Si"
    assert class_label("ring", 0, "O") == "no ring"

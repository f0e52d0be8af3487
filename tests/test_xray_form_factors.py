"""X-ray weighting of S(q) for every element the Build menu offers: the Waasmaier–Kirfel rows are
the published table's, one-element models need no form factor, and what cannot be computed is
refused in a sentence (not a KeyError, not a fit used past its range)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.data import chemical_symbols

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.errors import ParameterError
from amorpha.engine.order.structure_factor import (
    XRAY_CROMER_MANN,
    XRAY_WAASMAIER_KIRFEL,
    StructureFactorParams,
    compute_structure_factor,
    debye_structure_factor,
    weighting_q_max,
    xray_fit_names,
    xray_form_factors,
    xray_q_max,
)

#: elements the audit found missing (all offered by the Build menu or common in glasses)
WERE_MISSING = ["Be", "Ar", "V", "Cr", "Mn", "Co", "Ga", "As", "Se", "Sr", "Y", "Nb", "Mo", "Ba",
                "La", "Hf", "W", "Pt", "Ni", "Au"]


def dabax_rows(path: Path) -> dict[int, tuple[float, ...]]:
    """Neutral atoms of a DABAX f0_WaasKirf.dat as (a1, b1, …, a5, b5, c)."""
    rows, z = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("#S"):
            _, number, name = line.split()[:3]
            z = int(number) if name == chemical_symbols[int(number)] else None
        elif line.startswith(" ") and line.strip() and z is not None:
            v = [float(x) for x in line.split()]
            rows[z] = (*(x for pair in zip(v[0:5], v[6:11]) for x in pair), v[5])
            z = None
    return rows


def test_every_element_the_audit_missed_has_a_form_factor():
    for element in WERE_MISSING:
        f = xray_form_factors([element], [0.0, 5.0])[0]
        z = chemical_symbols.index(element)
        assert f[0] == pytest.approx(z, abs=0.05) and f[1] < f[0], element
    assert set(XRAY_CROMER_MANN) | set(XRAY_WAASMAIER_KIRFEL) == set(range(1, 99))
    assert not set(XRAY_CROMER_MANN) & set(XRAY_WAASMAIER_KIRFEL)  # one fit per element


def test_waasmaier_kirfel_rows_are_the_dabax_files_digit_for_digit():
    """The table was copied from the file periodictable ships; a second copy (sovapy's, rounded
    differently) gives the same f(q)."""
    pt = pytest.importorskip("periodictable")
    rows = dabax_rows(Path(pt.__file__).parent / "f0_WaasKirf.dat")
    assert set(XRAY_WAASMAIER_KIRFEL) == set(rows) - set(XRAY_CROMER_MANN)
    for z, coefficients in XRAY_WAASMAIER_KIRFEL.items():
        assert coefficients == rows[z], chemical_symbols[z]
    sovapy = pytest.importorskip("sovapy.computation.element_data")
    q = np.linspace(0.0, 60.0, 61)
    for z in XRAY_WAASMAIER_KIRFEL:
        theirs = sovapy.Xray[chemical_symbols[z].upper()]
        f = sum(a * np.exp(-b * (q / (4 * np.pi)) ** 2) for a, b in zip(theirs.a, theirs.b)) + theirs.c
        np.testing.assert_allclose(xray_form_factors([z], q)[0], f, atol=2e-3, err_msg=chemical_symbols[z])


@pytest.mark.parametrize("element", ["Ni", "Au"])
def test_fcc_metals_get_an_xray_structure_factor_at_any_q(element):
    """One element: the weights cancel, so X-ray S(q) is the Faber–Ziman one, even past the fits."""
    atoms = bulk(element, "fcc", cubic=True).repeat(4)
    params = StructureFactorParams(r_max=7.0, q_max=40.0, n_q=80)
    xray = compute_structure_factor(atoms, StructureFactorParams(**{**params.__dict__, "weighting": "xray"}))
    plain = compute_structure_factor(atoms, params)
    np.testing.assert_array_equal(xray.S, plain.S)
    assert xray.weighting == "xray" and xray.n_atoms == 256 and xray.dr == pytest.approx(0.01)


def test_a_one_element_model_needs_no_table_at_all():
    einsteinium = Atoms(numbers=[99] * 8, positions=np.random.default_rng(0).random((8, 3)) * 6,
                        cell=[6.0] * 3, pbc=True)
    res = compute_structure_factor(einsteinium, StructureFactorParams(r_max=2.9, weighting="xray"))
    assert np.isfinite(res.S).all()
    total, _ = debye_structure_factor(einsteinium, [1.0, 2.0], 2.9, "neutron")
    assert np.isfinite(total).all()


def test_an_element_still_missing_is_one_sentence():
    rng = np.random.default_rng(1)
    mixed = Atoms(numbers=[99] * 4 + [8] * 4, positions=rng.random((8, 3)) * 6, cell=[6.0] * 3, pbc=True)
    for weighting, what in (("xray", "X-ray form factor"), ("neutron", "neutron scattering length")):
        with pytest.raises(ParameterError) as info:
            compute_structure_factor(mixed, StructureFactorParams(r_max=2.9, weighting=weighting))
        assert str(info.value) == f"weighting: no {what} for Es in the built-in tables"


def test_nickel_oxide_mixes_both_fits():
    from ase.build import bulk as build

    nio = build("NiO", "rocksalt", a=4.17, cubic=True).repeat(3)
    assert xray_fit_names(["Ni", "O"]) == {"Ni": "Waasmaier–Kirfel", "O": "Cromer–Mann"}
    res = compute_structure_factor(nio, StructureFactorParams(r_max=6.0, weighting="xray"))
    assert np.isfinite(res.S).all() and res.weights[:, 0] == pytest.approx([7.9, 27.8], abs=0.2)


def test_xray_past_the_fits_range_is_refused_not_extrapolated():
    assert xray_q_max(["Si", "O"]) == pytest.approx(8 * math.pi)  # Cromer–Mann: sin θ/λ <= 2
    assert xray_q_max(["Ni", "W"]) == pytest.approx(24 * math.pi)  # Waasmaier–Kirfel: <= 6
    assert weighting_q_max(["Si", "O"], "xray") == pytest.approx(8 * math.pi)
    assert weighting_q_max(["Ni"], "xray") == math.inf  # one element: no weights needed
    assert weighting_q_max(["Si", "O"], "neutron") == math.inf
    with pytest.raises(ParameterError, match="q_max: the X-ray form factor of O holds up to q = 25.1"):
        compute_structure_factor(alpha_quartz((2, 2, 2)),
                                 StructureFactorParams(r_max=4.0, q_max=30.0, weighting="xray"))

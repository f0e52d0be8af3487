"""Weighted ACSF (XANESNET's descriptor) against the formula evaluated directly, pair by pair."""
import math

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from amorpha.engine.descriptors import WacsfParams, compute, feature_names, params_from_dict
from amorpha.engine.errors import ParameterError


def _fc(r, r_max):
    return 0.5 * (math.cos(math.pi * r / r_max) + 1.0) if r <= r_max else 0.0


def _direct(atoms, i, p):
    """Gastegger et al.'s sums, written out over neighbours and neighbour pairs."""
    pos, w = atoms.positions, 0.1 * atoms.numbers
    near = [j for j in range(len(atoms)) if j != i and np.linalg.norm(pos[j] - pos[i]) <= p.r_max]
    r = {j: np.linalg.norm(pos[j] - pos[i]) for j in near}
    out = [sum(_fc(r[j], p.r_max) for j in near)]
    out += [sum(w[j] * math.exp(-eta * (r[j] - rs) ** 2) * _fc(r[j], p.r_max) for j in near)
            for eta, rs in p.g2_params()]
    for eta, zeta, lam in p.g4_params():
        total = 0.0
        for a, j in enumerate(near):
            for k in near[a + 1:]:
                rjk = np.linalg.norm(pos[j] - pos[k])
                cos = np.dot(pos[j] - pos[i], pos[k] - pos[i]) / (r[j] * r[k])
                total += (w[j] * w[k] * 2 ** (1 - zeta) * (1 + lam * cos) ** zeta
                          * math.exp(-eta * (r[j] ** 2 + r[k] ** 2 + rjk ** 2))
                          * _fc(r[j], p.r_max) * _fc(r[k], p.r_max) * _fc(rjk, p.r_max))
        out.append(total)
    return np.array(out)


def test_dimer_has_the_closed_form():
    p = WacsfParams(r_max=5.0, n_g2=6, n_g4=3, periodic=False)
    atoms = Atoms("SC", positions=[(0, 0, 0), (1.7, 0, 0)])
    row = compute(atoms, p, [0])[0]
    fc = _fc(1.7, 5.0)
    assert row[0] == pytest.approx(fc)
    expected = [0.6 * math.exp(-eta * (1.7 - rs) ** 2) * fc for eta, rs in p.g2_params()]
    assert np.allclose(row[1:7], expected, rtol=1e-12)
    assert np.all(row[7:] == 0)  # one neighbour: no angle


@pytest.mark.parametrize("name", ["CH3CH2SH", "C6H6", "CH3COOH"])
def test_equals_the_formula_on_molecules(name):
    atoms = molecule(name)
    p = WacsfParams(r_min=0.5, r_max=4.0, n_g2=8, n_g4=4, zeta=2.0, periodic=False)
    rows = compute(atoms, p)
    assert rows.shape == (len(atoms), p.n_features) == (len(atoms), len(feature_names(p)))
    for i in range(len(atoms)):
        assert np.allclose(rows[i], _direct(atoms, i, p), rtol=1e-9, atol=1e-12), i


def test_length_does_not_depend_on_elements_and_settings_round_trip():
    p = WacsfParams(n_g2=5, n_g4=2, periodic=False)
    assert compute(molecule("H2O"), p).shape[1] == compute(molecule("CH3SH"), p).shape[1] == 10
    assert params_from_dict(p.to_dict()) == p
    with pytest.raises(ParameterError) as err:
        compute(molecule("H2O"), WacsfParams(r_min=5.0, r_max=6.0))
    assert err.value.parameter == "r_min"

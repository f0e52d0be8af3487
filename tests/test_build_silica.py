"""a-SiO2 and a-SiOx from the WWW network: short-range order, rings and oxidation states.

The targets are those of silica glass (and of the public MD models in ../shared/data, whose peer
ring counts peak at 6 with 5-, 6-, 7-rings the majority): Si–O 1.60–1.63 Å, O–Si–O 109.5 ± 1°,
mean Si–O–Si 140–155°, ≥ 99 % fourfold Si.
"""
import time

import numpy as np
import pytest
from scipy.stats import binom

from amorpha.engine.build import BuildParameterError
from amorpha.engine.build.silica import SilicaParams, build_silica, mixture_density
from amorpha.engine.neighbors import neighbor_list
from amorpha.engine.order.angles import AngleParams, compute_angles
from amorpha.engine.order.rings import RingParams, compute_rings
from amorpha.engine.tasks import Cancelled

SIO = {("Si", "O"): 2.0, ("Si", "Si"): 0, ("O", "O"): 0}
AMU_G_CM3 = 1.66053906660


@pytest.fixture(scope="module")
def silica():
    start = time.perf_counter()
    atoms = build_silica(SilicaParams(n_si=512, x=2.0, seed=1))
    print(f"\n1536-atom a-SiO2 built in {time.perf_counter() - start:.1f} s: {atoms.info}")
    return atoms


@pytest.fixture(scope="module")
def siox(silica):
    """SiO from the same 512-atom Si network (the builder keeps it): only O placement and
    relaxation are new."""
    out = {}
    for form in ("random-bonding", "mixture"):
        start = time.perf_counter()
        out[form] = build_silica(SilicaParams(n_si=512, x=1.0, form=form, seed=1))
        print(f"\nSiO {form} built in {time.perf_counter() - start:.1f} s: {out[form].info['name']}")
    return out


def si_o_neighbours(atoms):
    """Number of O within 2.0 Å of each Si (geometry, not the builder's bond list)."""
    nl = neighbor_list(atoms, 2.0)
    i, j = nl.pairs()
    keep = (atoms.numbers[i] == 14) & (atoms.numbers[j] == 8)
    return np.bincount(i[keep], minlength=len(atoms))[atoms.numbers == 14], nl.distances[keep]


def test_asio2_composition_and_density(silica):
    assert len(silica) == 1536 and (silica.numbers == 8).sum() == 1024
    density = silica.get_masses().sum() / silica.get_volume() * AMU_G_CM3
    assert density == pytest.approx(2.20, rel=1e-6)


def test_asio2_short_range_order(silica):
    counts, d = si_o_neighbours(silica)
    assert (counts == 4).mean() >= 0.99
    assert d.mean() == pytest.approx(1.61, abs=0.01)  # silica glass, diffraction: 1.61 Å (here 1.6145)
    o_si_o = compute_angles(silica, AngleParams(("O", "Si", "O"), cutoffs=SIO))
    si_o_si = compute_angles(silica, AngleParams(("Si", "O", "Si"), cutoffs=SIO))
    assert abs(o_si_o.mean - 109.5) <= 1.0
    assert 140.0 <= si_o_si.mean <= 155.0


def test_asio2_primitive_rings_peak_at_six(silica):
    rings = compute_rings(silica, RingParams(max_size=24, definition="primitive", cutoffs=SIO,
                                             count_element="Si"))
    hist = rings.histogram()
    total = sum(hist.values())
    assert max(hist, key=hist.get) == 6
    assert (hist.get(5, 0) + hist.get(6, 0) + hist.get(7, 0)) / total > 0.5
    assert hist.get(3, 0) == 0 and hist.get(4, 0) == 0  # the network builder forbids them
    assert hist.get(2, 0) == 0  # no edge-sharing tetrahedra


def test_asio2_every_si_is_si4(silica):
    si = silica.numbers == 14
    assert np.all(silica.arrays["oxidation"][si] == 4)


def test_siox_oxidation_states_random_bonding_is_binomial(siox):
    atoms = siox["random-bonding"]
    counts, _ = si_o_neighbours(atoms)
    assert np.array_equal(counts, atoms.arrays["oxidation"][atoms.numbers == 14])
    observed = np.bincount(counts, minlength=5) / len(counts)
    expected = binom.pmf(np.arange(5), 4, 0.5)
    # 1000 Si: the standard error of each fraction is below 0.016; allow ~3 of them.
    assert np.allclose(observed, expected, atol=0.05), observed
    assert atoms.info["x"] == pytest.approx(1.0, abs=1e-3)


def test_siox_mixture_is_si_and_sio2_with_thin_suboxide(siox):
    atoms = siox["mixture"]
    counts, _ = si_o_neighbours(atoms)
    observed = np.bincount(counts, minlength=5) / len(counts)
    suboxide = observed[1:4].sum()
    assert observed[0] > 0.25 and observed[4] > 0.25, observed
    assert suboxide < 0.35, observed
    random_suboxide = binom.pmf([1, 2, 3], 4, 0.5).sum()  # 0.875
    assert suboxide < random_suboxide / 2
    assert atoms.info["x"] == pytest.approx(1.0, abs=1e-3)


def test_siox_density_is_the_volume_mixture(siox):
    for atoms in siox.values():
        density = atoms.get_masses().sum() / atoms.get_volume() * AMU_G_CM3
        assert density == pytest.approx(mixture_density(1.0), rel=1e-6)
    assert 2.20 < mixture_density(1.0) < 2.33


@pytest.mark.parametrize("params, parameter", [
    (SilicaParams(x=2.5), "x"),
    (SilicaParams(x=0.0), "x"),
    (SilicaParams(x=-1.0), "x"),
    (SilicaParams(n_si=-5), "n_si"),
    (SilicaParams(form="layered"), "form"),
    (SilicaParams(density=0.1), "density"),
])
def test_bad_parameters_are_refused_before_work(params, parameter):
    calls = []
    with pytest.raises(BuildParameterError) as err:
        build_silica(params, progress=lambda f, m: calls.append(f))
    assert err.value.parameter == parameter and calls == []


def test_cancel_stops_the_build():
    with pytest.raises(Cancelled):
        build_silica(SilicaParams(n_si=216, seed=99), cancel=lambda: True)

"""The xTB reference calculator for site spectra, checked against tblite itself and analytic cases.

Truth from outside: tblite's own Mulliken charges and overlap matrix, orthonormality identities
of the projections, analytic widths and areas of Gaussian/Lorentzian/Voigt profiles
(Olivero–Longbothum), bond lengths and electron counting of the capped clusters, and the known
ordering of Si K edges with oxidation state.
"""
from __future__ import annotations


import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from scipy.integrate import quad
from scipy.special import voigt_profile

from amorpha.engine.bonds import bonds
from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.errors import ParameterError
from amorpha.engine.examples import load_example
from amorpha.engine.spectra.spectrum import SiteSpectra, Spectrum
from amorpha.engine.surrogate import xtb as xtb_module
from amorpha.engine.surrogate.broadening import (
    FWHM_PER_SIGMA, broaden_curve, broaden_spectrum, broaden_sticks, voigt_fwhm)
from amorpha.engine.surrogate.cache import SiteCache, default_cache_dir, site_key
from amorpha.engine.surrogate.cluster import build_cluster, xh_length
from amorpha.engine.surrogate.xtb import (
    XtbCalculator, XtbError, XtbParams, empty_fractions, final_l, lowdin_weights, mulliken_weights, run_xtb,
    site_weights)
from amorpha.engine.tasks import Cancelled

SMALL = 3.5  # Å: Si5O16H12 around a quartz Si, ~0.1 s per SCF


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """No test writes to the user's ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(scope="module")
def quartz():
    return alpha_quartz()


@pytest.fixture(scope="module")
def quartz_cluster(quartz):
    si = int(np.flatnonzero(quartz.numbers == 14)[0])
    return build_cluster(quartz, si, SMALL)


@pytest.fixture(scope="module")
def quartz_scf(quartz_cluster):
    return run_xtb(quartz_cluster.numbers, quartz_cluster.positions)


@pytest.fixture(scope="module")
def a_sio():
    atoms = load_example("a-SiO")
    cn = bonds(atoms).counts()
    return atoms, cn


def _fwhm(x, y):
    """Full width at half maximum of a single peak, by linear interpolation."""
    half = y.max() / 2
    above = np.flatnonzero(y >= half)
    i0, i1 = above[0], above[-1]
    left = np.interp(half, [y[i0 - 1], y[i0]], [x[i0 - 1], x[i0]])
    right = np.interp(half, [y[i1 + 1], y[i1]], [x[i1 + 1], x[i1]])
    return right - left


# -- (a, b) projections against tblite --------------------------------------------------------

def test_damped_charge_mixing_converges_to_the_same_scf(quartz_scf, quartz_cluster):
    """A converged SCF does not depend on how charges were mixed on the way (the retry that
    saves SrTiO3's 135-atom cell, which tblite's default 0.4 does not converge in 250 cycles)."""
    damped = run_xtb(quartz_cluster.numbers, quartz_cluster.positions, mixer_damping=0.1)
    assert damped.energy == pytest.approx(quartz_scf.energy, abs=1e-5)
    assert np.allclose(damped.charges, quartz_scf.charges, atol=1e-4)


def test_an_scf_that_does_not_converge_is_retried_damped_before_smeared(monkeypatch, quartz, quartz_cluster):
    """Damping first (the same result once converged), then higher electronic temperatures (a
    different result): a site whose SCF converges only damped keeps the model's 300 K, and its
    core-hole SCF starts damped rather than wasting an attempt."""
    import amorpha.engine.surrogate.xtb as xtb

    calls = []

    def flaky(numbers, *args, electronic_temperature, mixer_damping=None, **kwargs):
        if len(numbers) > 1:  # not the free atoms of the ΔSCF zero
            calls.append((electronic_temperature, mixer_damping))
            if mixer_damping is None:
                raise XtbError("SCF not converged in 120 cycles")
        return run_xtb(numbers, *args, electronic_temperature=electronic_temperature,
                       mixer_damping=mixer_damping, **kwargs)

    monkeypatch.setattr(xtb, "run_xtb", flaky)
    calculator = XtbCalculator(XtbParams(cluster_radius=SMALL, core_hole=True, core_hole_model="full",
                                         energy_reference="delta-scf"), cache=False)
    si = int(quartz_cluster.model_index)
    told = []
    assert calculator.site_spectrum(quartz, si, lambda f, m="": told.append((f, m))).intensity.max() > 0
    damped = xtb.SCF_RETRY_DAMPING
    assert calls == [(300.0, None), (300.0, damped), (300.0, damped)]  # ground twice, core hole once
    # the progress says which SCF runs and that it is a retry (a run then takes longer than priced)
    phases = [m for _, m in told if "SCF" in m]
    assert phases == ["ground-state SCF", "ground-state SCF, retry 1 (damped, 300 K)", "core-hole SCF"]
    fractions = [f for f, _ in told]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    calls.clear()

    def never(*args, electronic_temperature, mixer_damping=None, **kwargs):
        calls.append((electronic_temperature, mixer_damping))
        raise XtbError("SCF not converged in 120 cycles")

    monkeypatch.setattr(xtb, "run_xtb", never)
    with pytest.raises(XtbError, match="did not converge, even with the occupations smeared at 10000 K and "
                                       "the charge mixing damped"):
        calculator.site_spectrum(quartz, si)
    assert calls == [(t, d) for t in (300.0, 3000.0, 10000.0) for d in (None, xtb.SCF_RETRY_DAMPING)]


def test_basis_map_matches_gfn1_shells(quartz_scf, quartz_cluster):
    res = quartz_scf
    assert len(res.ao_atom) == len(res.orbital_energies) == res.coefficients.shape[0]
    expected = {1: [0, 0], 8: [0, 1, 1, 1], 14: [0, 1, 1, 1, 2, 2, 2, 2, 2]}  # H 1s2s, O 2s2p, Si 3s3p3d
    for atom, z in enumerate(quartz_cluster.numbers):
        assert sorted(res.ao_l[res.ao_atom == atom].tolist()) == expected[int(z)]
    # The overlap tblite returns is the metric of its orbitals: C^T S C = 1, S = (C C^T)^-1.
    c, s = res.coefficients, res.overlap
    np.testing.assert_allclose(c.T @ s @ c, np.eye(len(s)), atol=1e-8)
    np.testing.assert_allclose(np.linalg.inv(c @ c.T), s, atol=1e-6)


def test_mulliken_populations_reproduce_tblite_charges(quartz_scf, quartz_cluster):
    res = quartz_scf
    w = mulliken_weights(res.coefficients, res.overlap)
    population = np.bincount(res.ao_atom, weights=w @ res.occupations)
    valence = {1: 1, 8: 6, 14: 4}
    z_val = np.array([valence[int(z)] for z in quartz_cluster.numbers])
    np.testing.assert_allclose(z_val - population, res.charges, atol=1e-6)


def test_projection_weights_sum_to_one(quartz_scf):
    res = quartz_scf
    low = lowdin_weights(res.coefficients, res.overlap)
    mul = mulliken_weights(res.coefficients, res.overlap)
    np.testing.assert_allclose(low.sum(axis=0), 1.0, atol=1e-8)
    np.testing.assert_allclose(mul.sum(axis=0), 1.0, atol=1e-8)
    assert low.min() >= 0.0
    # S^1/2 C is orthogonal, so each basis function is also shared out completely.
    np.testing.assert_allclose(low.sum(axis=1), 1.0, atol=1e-8)


# -- (c) dipole selection -------------------------------------------------------------------

def test_dipole_rule_picks_absorber_momenta(quartz_scf, quartz_cluster):
    res = quartz_scf
    assert final_l("K") == (1,) and final_l("L1") == (1,)
    assert final_l("L2,3") == (0, 2) and final_l("l23") == (0, 2) and final_l("M4,5") == (1, 3)
    h = int(np.flatnonzero(quartz_cluster.numbers == 1)[0])
    assert not site_weights(res, h, (1,)).any()  # H has only s functions
    si = 0
    # Over all orbitals, an absorber's weight adds up to its number of functions of that l.
    assert site_weights(res, si, (1,)).sum() == pytest.approx(3.0, abs=1e-8)
    s_d = site_weights(res, si, final_l("L2,3"))
    assert s_d[0].sum() == pytest.approx(1.0, abs=1e-8) and s_d[1].sum() == pytest.approx(5.0, abs=1e-8)
    assert not site_weights(res, si, (3,)).any()  # no f functions in GFN1


def test_spectrum_sticks_are_empty_p_weight_of_absorber(quartz):
    si = int(np.flatnonzero(quartz.numbers == 14)[0])
    for edge, ls in (("K", [1]), ("L2,3", [0, 2])):
        calc = XtbCalculator(XtbParams(edge=edge, cluster_radius=SMALL, e_min=-50, e_max=60,
                                       n_points=1101), cache=False)
        spec = calc.site_spectrum(quartz, si)
        cl = build_cluster(quartz, si, SMALL)
        res = run_xtb(cl.numbers, cl.positions)
        rows = (res.ao_atom == 0) & np.isin(res.ao_l, ls)
        weight = lowdin_weights(res.coefficients, res.overlap)[rows].sum(axis=0)
        expected = (1 - res.occupations / 2) * weight
        keep = expected > 1e-12
        np.testing.assert_allclose(spec.meta["stick_weight"], expected[keep], atol=1e-8)
        lumo = res.orbital_energies[res.occupations < 1].min()
        np.testing.assert_allclose(spec.meta["stick_energy"], res.orbital_energies[keep] - lumo, atol=1e-8)
        # The broadened spectrum holds the sticks' weight (all inside this wide window).
        assert np.trapezoid(spec.intensity, spec.energy) == pytest.approx(expected.sum(), rel=2e-2)
        assert spec.element == "Si" and spec.edge == edge and spec.site == si
        assert spec.source == "xTB (qualitative)"
        assert spec.broadening == {"gaussian_fwhm": 0.8, "lorentzian_fwhm": 0.5}
        assert "LUMO" in spec.meta["energy_reference"] and "E - E_LUMO" in spec.label


def test_empty_fractions_take_back_the_excited_electron():
    occ = np.array([2.0, 2.0, 1.0, 0.0])
    np.testing.assert_allclose(empty_fractions(occ), [0, 0, 0.5, 1])
    np.testing.assert_allclose(empty_fractions(occ, 1), [0, 0, 1, 1])


# -- (d) broadening -------------------------------------------------------------------------

@pytest.mark.parametrize("g,l", [(1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (0.5, 2.0)])
def test_broadened_stick_width_and_area(g, l):
    grid = np.linspace(-20, 20, 4001)
    e0 = 0.013
    y = broaden_sticks([e0], [2.0], grid, g, l)
    sigma = max(g / FWHM_PER_SIGMA, 1e-300)
    inside = quad(lambda x: voigt_profile(x - e0, sigma, l / 2), -20, 20, points=[e0], limit=500)[0]
    assert np.trapezoid(y, grid) == pytest.approx(2.0 * inside, rel=1e-6)
    expected = g if l == 0 else (l if g == 0 else voigt_fwhm(g, l))
    assert _fwhm(grid, y) == pytest.approx(expected, rel=1e-3)


def test_voigt_fwhm_olivero_limits():
    assert voigt_fwhm(1.0, 0.0) == pytest.approx(1.0)
    assert voigt_fwhm(0.0, 1.0) == pytest.approx(1.0, rel=3e-4)


@pytest.mark.parametrize("g,l", [(0.0, 0.0), (0.05, 0.0), (0.0, 0.05), (0.05, 0.05)])
def test_coarse_grid_keeps_the_area(g, l):
    grid = np.linspace(-5, 5, 11)  # 1 eV steps, widths 20 times smaller
    e = np.array([0.33, 1.0, -2.71])
    w = np.array([1.0, 2.0, 0.5])
    y = broaden_sticks(e, w, grid, g, l)
    if g == 0 and l == 0:
        inside = w
    else:  # the part of each profile inside the window (Lorentz tails reach beyond it)
        sigma = max(g / FWHM_PER_SIGMA, 1e-300)
        inside = w * [quad(lambda x: voigt_profile(x - e0, sigma, l / 2), -5, 5, points=[e0],
                           limit=500)[0] for e0 in e]
    assert np.trapezoid(y, grid) == pytest.approx(inside.sum(), rel=1e-5)
    assert y.argmax() == 6  # the 2.0 stick at 1 eV


def test_broaden_spectrum_adds_widths():
    grid = np.linspace(-15, 15, 3001)
    y = broaden_sticks([0.0], [1.0], grid, 0.6, 0.0)
    spec = Spectrum(grid, y, broadening={"gaussian_fwhm": 0.6, "lorentzian_fwhm": 0.0})
    out = broaden_spectrum(spec, 0.8, 0.3)
    assert out.broadening["gaussian_fwhm"] == pytest.approx(1.0)  # quadrature
    assert out.broadening["lorentzian_fwhm"] == pytest.approx(0.3)
    assert _fwhm(grid, out.intensity) == pytest.approx(voigt_fwhm(1.0, 0.3), rel=2e-3)
    assert np.trapezoid(broaden_curve(grid, y, grid, 0.8, 0.0), grid) == pytest.approx(1.0, rel=1e-6)


def test_convolution_path_matches_direct_sum():
    from amorpha.engine.surrogate import broadening

    grid = np.linspace(-10, 10, 801)
    y = broaden_sticks([0.0, 2.5], [1.0, 0.4], grid, 0.3, 0.0)
    lo, hi = broadening.cell_edges(grid)
    for g, l in ((0.5, 0.0), (0.0, 0.4), (0.5, 0.4)):
        fast = broaden_curve(grid, y, grid, g, l)  # sticks on the grid's lattice: convolution
        direct = broadening._cell_average(grid, y * (hi - lo), lo, hi, g, l)
        np.testing.assert_allclose(fast, direct, atol=1e-12)


def test_broadening_rejects_negative_width():
    with pytest.raises(ParameterError) as err:
        broaden_sticks([0.0], [1.0], np.linspace(0, 1, 5), -1.0, 0.0)
    assert err.value.parameter == "gaussian_fwhm"


# -- (e) clusters ---------------------------------------------------------------------------

def _check_capped(atoms, cluster):
    model_bonds = bonds(atoms).counts()
    own = bonds(cluster.atoms).counts()
    real = cluster.model_indices >= 0
    # No dangling bonds: every model atom keeps all its bonds (to cluster atoms or caps) ...
    np.testing.assert_array_equal(own[real], model_bonds[cluster.model_indices[real]])
    # ... each cap is bonded once, on the broken bond, at the X–H length.
    assert np.all(own[~real] == 1)
    caps = np.flatnonzero(~real)
    pos, z = cluster.positions, cluster.numbers
    for c in caps:
        d = np.linalg.norm(pos[real] - pos[c], axis=1)
        host = np.flatnonzero(real)[np.argmin(d)]
        assert d.min() == pytest.approx(xh_length(int(z[host])), abs=1e-9)
    # Every cluster atom is an image of its model atom, the absorber at the origin.
    cell = atoms.cell.array
    origin = atoms.positions[cluster.model_index]
    np.testing.assert_allclose(
        pos[real], atoms.positions[cluster.model_indices[real]] + cluster.images[real] @ cell - origin,
        atol=1e-9)
    assert np.allclose(pos[0], 0)
    assert cluster.n_caps == len(caps)


def test_quartz_cluster_is_capped_neutral_closed_shell(quartz, quartz_cluster, quartz_scf):
    cl = quartz_cluster
    _check_capped(quartz, cl)
    # 9-atom cell, 3.5 Å sphere: the cluster holds several images of the same atoms.
    assert len(set(cl.model_indices[cl.model_indices >= 0].tolist())) < len(cl.model_indices) - cl.n_caps
    assert cl.atoms.get_chemical_formula() == "H12O16Si5"  # SiO4 + 4 SiO3(OH)3 neighbours
    o_h = [np.linalg.norm(cl.positions[c] - cl.positions[cl.model_indices >= 0], axis=1).min()
           for c in np.flatnonzero(cl.model_indices < 0)]
    assert np.allclose(o_h, 0.96)
    assert cl.charge == 0 and cl.uhf == 0 and cl.electrons() % 2 == 0
    occ = quartz_scf.occupations
    assert np.all((np.abs(occ - 2) < 1e-6) | (np.abs(occ) < 1e-6))
    e = quartz_scf.orbital_energies
    assert e[occ < 1].min() - e[occ > 1].max() > 3.0


def test_amorphous_clusters_have_no_dangling_bonds():
    atoms = load_example("a-SiO2")
    bl = bonds(atoms)
    for si in np.flatnonzero(atoms.numbers == 14)[:5]:
        cl = build_cluster(atoms, si, 5.0, bond_list=bl)
        _check_capped(atoms, cl)
        assert cl.uhf == 0 and cl.charge == 0
        assert set(cl.numbers.tolist()) == {1, 8, 14}
        assert np.sum(cl.numbers == 14) >= 5  # the second Si shell is in
    a_si = load_example("a-Si")
    cl = build_cluster(a_si, 0, 4.0)
    _check_capped(a_si, cl)  # Si–Si bonds cut with Si–H at 1.48 Å
    assert cl.n_caps > 0 and xh_length(14) == pytest.approx(1.48)


def test_a_cluster_too_large_for_xtb_is_a_site_failure_not_hours_of_scf():
    """Stishovite's SiO6 octahedra share edges: every outside Si bonded to two cluster O is taken
    in with its own octahedron, and the 5 Å cluster grows to 1131 atoms (an SCF of hours). The
    calculator refuses it at once, as a site failure (XtbError) that active learning skips."""
    from amorpha.engine.surrogate.active import ActiveParams
    from amorpha.engine.surrogate.pipeline import learn, site_pool

    stishovite = load_example("stishovite")
    assert len(build_cluster(stishovite, 0, 5.0).atoms) > xtb_module.MAX_CLUSTER_ATOMS
    calculator = XtbCalculator(XtbParams(cluster_radius=5.0), cache=False)
    with pytest.raises(XtbError, match=r"site 0: its 5 Å cluster would hold 1131 atoms, more than the 400"):
        calculator.site_spectrum(stishovite, 0)
    learner = learn(site_pool([stishovite], "Si"), calculator, ActiveParams(n_initial=3, max_calls=6))
    assert learner.model is None and len(learner.labelled) == 0 and len(learner.failed) == 6
    assert sorted(row for row, _ in learner.failures) == sorted(learner.failed)  # each with its reason
    assert all("cluster would hold" in why for _, why in learner.failures)
    # continued with the periodic cell, it is refused: the two geometries' edges lie ~1.8 eV apart
    periodic = XtbCalculator(XtbParams(geometry="periodic"), cache=False)
    with pytest.raises(ParameterError, match=r"other calculator settings \(.*geometry.*\)"):
        learn(site_pool([stishovite], "Si"), periodic, learner=learner)
    # silica's clusters at the shipped radii stay far below the limit
    silica = load_example("a-SiO2")
    assert max(len(build_cluster(silica, i, 5.4).atoms) for i in range(0, 60, 3)) < 200


def test_the_cap_closure_keeps_clusters_of_edge_sharing_polyhedra_small():
    """Where SiO6 octahedra share edges (stishovite) the complete closure takes in shell after
    shell: 295 atoms at 3 Å, 815 at 4 Å. The cap closure keeps each Si it takes in with only its
    bonds into the cluster and caps the others with H: 59 and 177 atoms, no dangling bond, and no
    outside atom left bonded twice (no two caps pointing at one spot). Silica's settings and
    cache keys stay as they were (the complete closure is not named in them)."""
    from amorpha.engine.surrogate.cluster import CLOSURES

    stishovite = load_example("stishovite")
    for radius, complete, capped in ((3.0, 295, 59), (4.0, 815, 177)):
        assert len(build_cluster(stishovite, 0, radius).atoms) == complete
        cluster = build_cluster(stishovite, 0, radius, closure="cap")
        assert len(cluster.atoms) == capped and cluster.uhf == 0 and cluster.closed
        _check_capped(stishovite, cluster)
        caps = cluster.positions[cluster.model_indices < 0]
        assert min(np.linalg.norm(a - b) for k, a in enumerate(caps) for b in caps[k + 1:]) > 1.4
    silica = load_example("a-SiO2")
    assert max(len(build_cluster(silica, i, 5.0, closure="cap").atoms) for i in range(0, 30, 3)) <= \
        max(len(build_cluster(silica, i, 5.0).atoms) for i in range(0, 30, 3))
    assert "closure" not in XtbParams().to_dict() and XtbParams(closure="cap").to_dict()["closure"] == "cap"
    assert XtbParams.from_dict(XtbParams(closure="cap").to_dict()).closure == "cap"
    assert "closure" not in XtbParams(geometry="periodic", closure="cap").to_dict()  # no cluster to close
    with pytest.raises(ParameterError, match="unknown closure 'open'; choose one of " + ", ".join(CLOSURES)):
        XtbParams(closure="open").validate()
    # the complete closure's refusal points at the cap closure
    with pytest.raises(XtbError, match=r"its 4 Å cluster would hold 815 atoms.*Choose the compact cluster"):
        XtbCalculator(XtbParams(cluster_radius=4.0), cache=False).site_spectrum(stishovite, 0)


def test_a_compact_cluster_that_does_not_close_says_which_cation_keeps_it_growing():
    """Cubic SrTiO3 (a = 3.905 Å): each O bonds to 2 Ti and 4 Sr, each Sr to 12 O, so every pass
    of the cap closure finds new atoms bonded twice and the cluster fills 3991 atoms of the
    320-atom model's images. The refusal says it does not close and names Sr, not the radius;
    the complete closure's refusal says so too, rather than advising the compact cluster."""
    from ase.spacegroup import crystal

    perovskite = crystal(["Sr", "Ti", "O"], [(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0)], spacegroup=221,
                         cellpar=[3.905] * 3 + [90] * 3).repeat((4, 4, 4))
    o = int(np.flatnonzero(perovskite.numbers == 8)[0])
    cluster = build_cluster(perovskite, o, 3.0, closure="cap")
    assert not cluster.closed and len(cluster.atoms) > 1000
    with pytest.raises(XtbError, match=r"its 3 Å compact cluster would hold [0-9]+ atoms.*does not close.*"
                                       r"\(Sr bonded to 12 O, as the A site of a perovskite.*periodic cell"):
        XtbCalculator(XtbParams(cluster_radius=3.0, closure="cap"), cache=False).environment(perovskite, o)
    # the complete closure's refusal does not send the user to a compact cluster that cannot close
    with pytest.raises(XtbError, match=r"its 3 Å cluster would hold [0-9]+ atoms.*Even the compact cluster does "
                                       r"not close.*\(Sr bonded to 12 O"):
        XtbCalculator(XtbParams(cluster_radius=3.0), cache=False).environment(perovskite, o)


def test_a_capped_stishovite_cluster_gives_the_periodic_cells_si_k_shape():
    """Stishovite's unit cell (P4_2/mnm, a = 4.1773 Å, c = 2.6655 Å, O at x = 0.3062), Si K with
    the full core hole: the 59-atom capped 3 Å cluster has the periodic cell's shape once
    aligned (cosine 0.937; α-quartz's own 3.5 Å clusters reach 0.940 of theirs), in 1 s where
    the complete closure's 295 atoms take 2 min."""
    from ase.spacegroup import crystal

    from amorpha.engine.spectra.compare import align
    from amorpha.engine.surrogate.metrics import cosine_similarity

    stishovite = crystal(["Si", "O"], [(0, 0, 0), (0.3062, 0.3062, 0)], spacegroup=136,
                         cellpar=[4.1773, 4.1773, 2.6655, 90, 90, 90])
    hole = dict(core_hole=True, core_hole_model="full", energy_reference="delta-scf")
    periodic = XtbCalculator(XtbParams(geometry="periodic", **hole), cache=False).site_spectrum(stishovite, 0)
    capped = XtbCalculator(XtbParams(cluster_radius=3.0, closure="cap", **hole), cache=False).site_spectrum(stishovite, 0)
    assert capped.meta["cluster_atoms"] == 59
    _, _, aligned, _ = align(periodic, capped, (periodic.energy[0], periodic.energy[-1]), shift_range=(-6, 6),
                             scale=False, offset=False)
    on_grid = np.interp(periodic.energy, aligned.energy, aligned.intensity, left=0.0, right=0.0)
    assert cosine_similarity(periodic.intensity[None], on_grid[None])[0] > 0.92


def test_the_periodic_cell_is_the_model_repeated_to_the_width_asked():
    """MgO's primitive cell (2 atoms, planes 2.43 Å apart) repeated until its planes lie 8 Å
    apart: 4 × 4 × 4 cells, the absorber first and at the origin, every atom mapped back."""
    from amorpha.engine.surrogate.cluster import periodic_cell

    mgo = bulk("MgO", "rocksalt", a=4.21)
    cell = periodic_cell(mgo, 1, 8.0)
    assert len(cell.atoms) == 2 * 4 ** 3 and cell.atoms.pbc.all() and cell.n_caps == 0
    assert cell.absorber == 0 and cell.model_index == 1 and np.allclose(cell.positions[0], 0.0)
    assert np.array_equal(cell.numbers, mgo.numbers[cell.model_indices])
    widths = 1.0 / np.linalg.norm(np.linalg.inv(cell.lattice), axis=0)
    assert widths.min() >= 8.0 and widths.min() < 8.0 + 2.44
    assert cell.uhf == 0 and cell.charge == 0 and cell.lattice is not None
    with pytest.raises(ParameterError, match="periodic in all three directions"):
        periodic_cell(Atoms("O2", [(0, 0, 0), (1.2, 0, 0)]), 0, 8.0)


def test_periodic_cell_spectra_with_the_core_hole_and_their_cache_keys():
    """MgO, whose 5 Å clusters would hold over 2000 atoms, through tblite's periodic Γ-point run:
    the full Z+1 core hole (a charged cell) and the ΔSCF edge give a finite spectrum; every O is
    the same site, so a second one is the first's cache entry; another lattice constant is not."""
    mgo = bulk("MgO", "rocksalt", a=4.21, cubic=True)
    calc = XtbCalculator(XtbParams(geometry="periodic", core_hole=True, core_hole_model="full",
                                   energy_reference="delta-scf"))
    o = [int(i) for i in np.flatnonzero(mgo.numbers == 8)]
    first = calc.site_spectrum(mgo, o[0])
    assert first.meta["geometry"] == "periodic" and first.meta["cluster_atoms"] == 64
    assert first.label.endswith(", Z+1, periodic cell)")  # told apart from cluster spectra in a legend
    assert np.all(np.isfinite(first.intensity)) and first.intensity.max() > 0
    assert np.isfinite(first.meta["edge_ev"]) and first.meta["charge"] == 1
    second = calc.site_spectrum(mgo, o[1])
    assert second.meta["cached"] and np.array_equal(second.intensity, first.intensity)
    stretched = mgo.copy()
    stretched.set_cell(stretched.cell * 1.02, scale_atoms=True)
    assert not calc.site_spectrum(stretched, o[0]).meta["cached"]
    # cluster settings stay as they were before cells existed: old models and cache entries match
    assert "geometry" not in XtbParams().to_dict() and XtbParams.from_dict({}).geometry == "cluster"


def test_cluster_rejects_bad_radius(quartz):
    with pytest.raises(ParameterError) as err:
        build_cluster(quartz, 0, 0.0)
    assert err.value.parameter == "cluster_radius"


# -- (f) physics ----------------------------------------------------------------------------

def test_oxidation_states_and_core_hole(a_sio):
    atoms, cn = a_sio
    ox, si = atoms.arrays["oxidation"], atoms.numbers == 14
    s4 = int(np.flatnonzero(si & (ox == 4) & (cn == 4))[0])
    s3 = int(np.flatnonzero(si & (ox == 3) & (cn == 4))[0])
    ground = XtbCalculator(XtbParams(cluster_radius=4.0), cache=False)
    y4, y3 = (ground.site_spectrum(atoms, i).intensity for i in (s4, s3))
    assert np.corrcoef(y4, y3)[0, 1] < 0.95
    assert np.abs(y4 - y3).sum() > 0.3 * np.abs(y4).sum()
    # The Z+1 core hole pulls weight down to the edge (core exciton) ...
    z1 = XtbCalculator(XtbParams(cluster_radius=4.0, core_hole=True), cache=False)
    x4 = z1.site_spectrum(atoms, s4)
    e = x4.energy
    centroid = lambda y: (e * y).sum() / y.sum()  # noqa: E731
    assert centroid(x4.intensity) < centroid(y4) - 1.0
    # ... and the delta-SCF edge moves up with the number of O neighbours (chemical shift).
    edge4 = x4.meta["edge_ev"]
    edge3 = z1.site_spectrum(atoms, s3).meta["edge_ev"]
    assert edge4 > edge3 + 1.0
    shifted = XtbCalculator(XtbParams(cluster_radius=4.0, core_hole=True, energy_reference="delta-scf"),
                            cache=False)
    # Only post-processing changes: same cluster, so compare sticks shifted by the edge.
    spec = shifted.to_spectrum(z1.results(atoms, s4)[0][0], atoms, s4)
    assert spec.meta["stick_energy"][0] == pytest.approx(
        x4.meta["stick_energy"][0] + edge4, abs=1e-9)


# -- (g) cache ------------------------------------------------------------------------------

@pytest.fixture
def count_scf(monkeypatch):
    calls = []
    real = xtb_module.run_xtb

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(xtb_module, "run_xtb", counting)
    return calls


def test_cache_hit_skips_scf_and_survives_corruption(quartz, tmp_path, count_scf):
    cache = SiteCache(tmp_path / "cache")
    params = XtbParams(cluster_radius=SMALL)
    calc = XtbCalculator(params, cache=cache)
    si = int(np.flatnonzero(quartz.numbers == 14)[0])
    first = calc.site_spectrum(quartz, si)
    assert len(count_scf) == 1 and not first.meta["cached"]
    second = calc.site_spectrum(quartz, si)
    assert len(count_scf) == 1 and second.meta["cached"]
    np.testing.assert_array_equal(first.intensity, second.intensity)
    # The same environment in a translated model hits the cache.
    moved = quartz.copy()
    moved.positions += np.array([1.0, 2.0, 3.0])
    assert calc.site_spectrum(moved, si).meta["cached"] and len(count_scf) == 1
    # Other broadening: cached SCF, new spectrum.
    wider = XtbCalculator(XtbParams(cluster_radius=SMALL, gaussian_fwhm=2.0), cache=cache)
    third = wider.site_spectrum(quartz, si)
    assert len(count_scf) == 1 and third.meta["cached"]
    assert third.intensity.max() < first.intensity.max()
    # A corrupt file is recomputed and rewritten, not an error.
    files = list((tmp_path / "cache").glob("*/*.npz"))
    assert len(files) == 1
    files[0].write_bytes(b"not an npz file")
    again = calc.site_spectrum(quartz, si)
    assert len(count_scf) == 2 and not again.meta["cached"]
    np.testing.assert_allclose(again.intensity, first.intensity, atol=1e-9)
    assert calc.site_spectrum(quartz, si).meta["cached"] and len(count_scf) == 2
    assert not list((tmp_path / "cache").glob("*/.tmp-*"))  # no temporary files left


def test_radius_spread_is_the_mean_of_clusters_cached_alone(tmp_path, count_scf):
    """The spread spectrum equals the mean of three single-radius runs made without any cache;
    each cluster is cached under its own radius, so a single-radius run reuses it."""
    atoms = load_example("a-SiO")
    si = int(np.flatnonzero(atoms.numbers == 14)[2])  # clusters of 12, 30 and 36 atoms
    cache = SiteCache(tmp_path / "cache")
    spread = XtbCalculator(XtbParams(cluster_radius=SMALL, radius_spread=0.4), cache=cache)
    assert spread.params.radii() == pytest.approx((3.1, 3.5, 3.9))
    told = []
    mean = spread.site_spectrum(atoms, si, lambda f, m="": told.append(m))
    assert len(count_scf) == 3 and not mean.meta["cached"]
    assert [m for m in told if "SCF" in m] == [f"environment {k} of 3, SCF" for k in (1, 2, 3)]
    alone = [XtbCalculator(XtbParams(cluster_radius=r), cache=False).site_spectrum(atoms, si)
             for r in (3.1, 3.5, 3.9)]
    np.testing.assert_allclose(mean.intensity, np.mean([a.intensity for a in alone], axis=0), atol=1e-9)
    sizes = [part["cluster_atoms"] for part in mean.meta["parts"]]
    assert sizes == [a.meta["cluster_atoms"] for a in alone] and len(set(sizes)) == 3
    assert mean.meta["cluster_atoms"] == sizes[1]  # the middle part's meta
    assert sum(mean.meta["stick_weight"]) == pytest.approx(
        np.mean([sum(a.meta["stick_weight"]) for a in alone]), rel=1e-9)
    n = len(count_scf)
    single = XtbCalculator(XtbParams(cluster_radius=3.9), cache=cache).site_spectrum(atoms, si)
    assert single.meta["cached"] and len(count_scf) == n
    assert spread.site_spectrum(atoms, si).meta["cached"] and len(count_scf) == n
    # The spread is a setting of the spectrum (stored with models), not of one cluster's SCF.
    assert spread.settings()["radius_spread"] == 0.4 and "radius_spread" not in spread.compute_settings()
    assert XtbParams.from_dict({"cluster_radius": 5.0}).radius_spread == 0.0  # older model files
    assert XtbParams.from_dict({"cluster_radius": 5.0, "radius_spread": 0.2}).radii() == (4.8, 5.0, 5.2)

    # Five clusters over the same spread: the three above come from the cache, two are new.
    five = XtbCalculator(XtbParams(cluster_radius=SMALL, radius_spread=0.4, radius_points=5), cache=cache)
    assert five.params.radii() == pytest.approx((3.1, 3.3, 3.5, 3.7, 3.9))
    spectrum = five.site_spectrum(atoms, si)
    assert len(count_scf) == n + 2 and [p["cluster_radius"] for p in spectrum.meta["parts"]] == \
        pytest.approx([3.1, 3.3, 3.5, 3.7, 3.9])
    between = [XtbCalculator(XtbParams(cluster_radius=r), cache=cache).site_spectrum(atoms, si)
               for r in (3.3, 3.7)]
    assert len(count_scf) == n + 2  # cached by the five-cluster run
    np.testing.assert_allclose(spectrum.intensity, np.mean([a.intensity for a in alone + between], axis=0),
                               atol=1e-9)
    assert "radius_points" not in five.compute_settings() and five.settings()["radius_points"] == 5


def test_default_cache_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "amorpha" / "site-spectra"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert str(default_cache_dir()).endswith("/.cache/amorpha/site-spectra")


def test_site_key_ignores_order_and_translation():
    rng = np.random.default_rng(0)
    z = np.array([14, 8, 8, 1])
    pos = rng.normal(size=(4, 3))
    key = site_key(z, pos, {"a": 1})
    perm = np.array([0, 3, 1, 2])
    assert site_key(z[perm], pos[perm] + 5.0, {"a": 1}) == key
    moved = pos.copy()
    moved[2, 0] += 0.01
    assert site_key(z, moved, {"a": 1}) != key
    assert site_key(z, pos, {"a": 2}) != key


# -- (h) progress, cancel, parameters -------------------------------------------------------

def test_site_spectra_progress_and_cancel(quartz, count_scf):
    calc = XtbCalculator(XtbParams(cluster_radius=SMALL), cache=False)
    sites = np.flatnonzero(quartz.numbers == 14)[:2]
    seen = []
    out = calc.site_spectra(quartz, sites, progress=lambda f, m: seen.append(f))
    assert isinstance(out, SiteSpectra) and out.intensity.shape == (2, 301)
    assert out.element == "Si" and out.edge == "K" and out.source == "xTB (qualitative)"
    np.testing.assert_array_equal(out.sites, sites)
    assert seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    with pytest.raises(Cancelled):
        calc.site_spectra(quartz, sites, cancel=lambda: True)
    # Cancel set during the first SCF: the second never starts.
    count_scf.clear()
    with pytest.raises(Cancelled):
        calc.site_spectra(quartz, sites, cancel=lambda: len(count_scf) > 0)
    assert len(count_scf) == 1


def test_settings_are_json_and_round_trip():
    import json

    params = XtbParams(edge="l23", cluster_radius=4.2, cutoffs={("Si", "O"): 2.0})
    calc = XtbCalculator(params, cache=False)
    settings = json.loads(json.dumps(calc.settings()))
    assert settings["edge"] == "L2,3" and settings["cutoffs"] == {"Si-O": 2.0}
    back = XtbParams.from_dict(settings)
    assert back.cluster_radius == 4.2 and back.edge == "L2,3"
    assert XtbCalculator(back, cache=False).settings() == calc.settings()
    assert "gaussian_fwhm" not in calc.compute_settings()  # broadening reuses cached SCFs


@pytest.mark.parametrize("kwargs,parameter", [
    ({"cluster_radius": 0.0}, "cluster_radius"),
    ({"cluster_radius": -2.0}, "cluster_radius"),
    ({"edge": "Q"}, "edge"),
    ({"method": "DFTB"}, "method"),
    ({"gaussian_fwhm": -0.1}, "gaussian_fwhm"),
    ({"e_min": 5.0, "e_max": 1.0}, "e_max"),
    ({"n_points": 1}, "n_points"),
    ({"energy_reference": "delta-scf"}, "energy_reference"),
    ({"electronic_temperature": 0.0}, "electronic_temperature"),
    ({"radius_spread": -0.1}, "radius_spread"),
    ({"cluster_radius": 4.0, "radius_spread": 1.5}, "radius_spread"),
    ({"cluster_radius": 11.9, "radius_spread": 0.2}, "cluster_radius"),
    ({"radius_spread": 0.2, "radius_points": 4}, "radius_points"),  # R must be in the middle
    ({"radius_spread": 0.2, "radius_points": 1}, "radius_points"),
    ({"radius_spread": 0.2, "radius_points": 2.5}, "radius_points"),
])
def test_bad_params_name_the_parameter(kwargs, parameter):
    with pytest.raises(ParameterError) as err:
        XtbCalculator(XtbParams(**kwargs), cache=False)
    assert err.value.parameter == parameter


def test_bad_sites_name_the_parameter(quartz):
    calc = XtbCalculator(XtbParams(cluster_radius=SMALL), cache=False)
    o = int(np.flatnonzero(quartz.numbers == 8)[0])
    cases = [
        (calc, quartz, len(quartz), "index"),
        (XtbCalculator(XtbParams(edge="L2,3"), cache=False), quartz, o, "edge"),  # O has no 2p core
        (calc, Atoms("USi", positions=[[0, 0, 0], [2.5, 0, 0]]), 1, "atoms"),  # U: beyond GFN1
        (XtbCalculator(XtbParams(core_hole=True), cache=False), Atoms("Rn"), 0, "core_hole"),
    ]
    for c, atoms, index, parameter in cases:
        with pytest.raises(ParameterError) as err:
            c.site_spectrum(atoms, index)
        assert err.value.parameter == parameter, (parameter, str(err.value))
    with pytest.raises(ParameterError) as err:
        calc.site_spectra(quartz, [0, o])
    assert err.value.parameter == "indices"

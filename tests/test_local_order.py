"""Steinhardt and tetrahedral order: exact crystal values, freud as a peer, the shared a-SiO2 model."""
from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from amorpha.engine.build.crystals import alpha_quartz, beta_cristobalite
from amorpha.engine.neighbors import neighbor_list
from amorpha.engine.order.local_order import (
    SteinhardtParams,
    TetrahedralParams,
    bond_cutoff_between,
    compute_steinhardt,
    compute_tetrahedral,
    nearest_neighbors,
    steinhardt_columns,
    warm_up,
)
from amorpha.engine.order.spherical import legendre_tables, w3j_terms, wigner3j, ylm_kernel
from amorpha.engine.tasks import Cancelled

# --------------------------------------------------------------------------- helpers


def skewed(atoms: Atoms, seed: int = 0) -> Atoms:
    """The same crystal in a strongly triclinic cell (unimodular basis change) and rotated."""
    out = atoms.copy()
    change = np.array([[1, 0, 0], [1, 1, 0], [-1, 2, 1]])  # det 1: same lattice
    out.set_cell(change @ out.cell.array, scale_atoms=False)
    out.wrap()
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    out.set_cell(out.cell.array @ q.T, scale_atoms=False)
    out.positions = out.positions @ q.T
    return out


def steinhardt(atoms, **kw):
    return compute_steinhardt(atoms, SteinhardtParams(**kw))


CRYSTALS = {
    # name: (atoms, k nearest, {l: q_l})
    "fcc": (lambda: bulk("Cu", "fcc", a=3.6), 12, {4: 0.19094, 6: 0.57452}),
    "fcc-cubic": (lambda: bulk("Cu", "fcc", a=3.6, cubic=True), 12, {4: 0.19094, 6: 0.57452}),
    "hcp": (lambda: bulk("Mg", "hcp", a=3.2, c=3.2 * math.sqrt(8 / 3)), 12, {4: 0.09722, 6: 0.48476}),
    "bcc-14": (lambda: bulk("Fe", "bcc", a=2.87), 14, {4: 0.03637, 6: 0.51069}),
    "bcc-8": (lambda: bulk("Fe", "bcc", a=2.87), 8, {4: 0.50918, 6: 0.62854}),
    "diamond": (lambda: bulk("Si", "diamond", a=5.43), 4, {3: 0.74536, 4: 0.50918, 6: 0.62854}),
    "sc": (lambda: bulk("Po", "sc", a=3.35), 6, {4: 0.76376, 6: 0.35355}),
}


# --------------------------------------------------------------------------- building blocks


def test_ylm_matches_scipy():
    scipy_special = pytest.importorskip("scipy.special")
    lmax = 12
    tables = legendre_tables(lmax)
    plm = np.zeros((lmax + 1, lmax + 1))
    cosm, sinm = np.zeros(lmax + 1), np.zeros(lmax + 1)
    rng = np.random.default_rng(3)
    vectors = np.vstack([rng.normal(size=(20, 3)), [[0, 0, 1], [0, 0, -1], [1, 0, 0]]])
    for v in vectors / np.linalg.norm(vectors, axis=1)[:, None]:
        ylm_kernel(*v, lmax, *tables, plm, cosm, sinm)
        theta, phi = math.acos(v[2]), math.atan2(v[1], v[0])
        for l in range(lmax + 1):
            for m in range(l + 1):
                ours = plm[l, m] * complex(cosm[m], sinm[m])
                ref = scipy_special.sph_harm_y(l, m, theta, phi)
                assert abs(ours - ref) < 1e-12, (l, m)


def test_wigner3j_exact_values_and_orthogonality():
    assert wigner3j(2, 2, 2, 0, 0, 0) == pytest.approx(-math.sqrt(2 / 35), abs=1e-15)
    assert wigner3j(1, 1, 0, 1, -1, 0) == pytest.approx(1 / math.sqrt(3), abs=1e-15)
    assert wigner3j(3, 3, 3, 0, 0, 0) == 0.0
    for l in (2, 4, 6, 12):
        m1, m2, m3, coef = w3j_terms(l)
        for m in range(-l, l + 1):  # sum over m1, m2 of (l l l; m1 m2 m)^2 = 1 / (2l + 1)
            assert np.sum(coef[m3 == m] ** 2) == pytest.approx(1 / (2 * l + 1), abs=1e-14)


# --------------------------------------------------------------------------- Steinhardt, exact


@pytest.mark.parametrize("name", sorted(CRYSTALS))
@pytest.mark.parametrize("cell", ["as-built", "triclinic"])
def test_steinhardt_crystals(name, cell):
    make, k, expected = CRYSTALS[name]
    atoms = make() if cell == "as-built" else skewed(make())
    result = steinhardt(atoms, l_values=tuple(expected), num_neighbors=k)
    assert np.all(result.num_neighbors == k)
    for l, value in expected.items():
        np.testing.assert_allclose(result.column("ql", l), value, atol=1e-5)


def test_steinhardt_wl_hat_literature_values():
    # Normalised w_l of perfect fcc and hcp (Steinhardt et al. 1983; Lechner & Dellago 2008).
    fcc = steinhardt(bulk("Cu", "fcc", a=3.6), l_values=(4, 6), num_neighbors=12, wl=True)
    np.testing.assert_allclose(fcc.wl_hat, [[-0.159317, -0.013161]], atol=1e-6)
    hcp = steinhardt(bulk("Mg", "hcp", a=3.2, c=3.2 * math.sqrt(8 / 3)), l_values=(4, 6),
                     num_neighbors=12, wl=True)
    np.testing.assert_allclose(hcp.wl_hat, [[0.134097, -0.012442]] * 2, atol=1e-6)
    # Odd l: w_l vanishes identically.
    diamond = steinhardt(bulk("Si", "diamond", a=5.43), l_values=(3,), num_neighbors=4, wl=True)
    np.testing.assert_allclose(diamond.wl, 0.0, atol=1e-15)


def test_cutoff_mode_and_averaging_of_a_perfect_crystal():
    atoms = bulk("Cu", "fcc", a=3.6).repeat(2)
    result = steinhardt(atoms, l_values=(6,), cutoff=3.0, average=True, wl=True)
    assert np.all(result.num_neighbors == 12)
    # In a perfect crystal every atom's q_lm is the same up to nothing, so averaging changes nothing.
    np.testing.assert_allclose(result.ql_avg, result.ql, atol=1e-12)
    np.testing.assert_allclose(result.ql, 0.57452, atol=1e-5)
    cols = result.to_arrays()
    assert set(cols) == {"q6", "q6_avg", "w6", "w6_hat", "w6_avg", "w6_hat_avg"}
    assert all(v.shape == (len(atoms),) for v in cols.values())
    summary = result.to_dict()
    assert summary["columns"]["q6"]["mean"] == pytest.approx(0.57452, abs=1e-5)
    assert set(summary["elements"]) == {"Cu"}


def test_per_element_pair_cutoffs_and_reused_list():
    atoms = alpha_quartz((2, 2, 2))
    params = SteinhardtParams(l_values=(4, 6), cutoffs={("Si", "O"): 2.0})
    result = compute_steinhardt(atoms, params)
    expected_cn = np.where(atoms.numbers == 14, 4, 2)
    np.testing.assert_array_equal(result.num_neighbors, expected_cn)
    # A reused longer list gives the same answer; a shorter one is refused.
    nl = neighbor_list(atoms, 3.5)
    again = compute_steinhardt(atoms, params, neighbors=nl)
    np.testing.assert_allclose(again.ql, result.ql, atol=1e-14)
    with pytest.raises(ValueError, match="shorter"):
        compute_steinhardt(atoms, params, neighbors=neighbor_list(atoms, 1.5))
    # Si's 4 O form a near-regular tetrahedron: q3 large, like diamond's 0.745.
    q3 = compute_steinhardt(atoms, SteinhardtParams(l_values=(3,), cutoffs={("Si", "O"): 2.0}))
    assert np.all(q3.ql[atoms.numbers == 14] > 0.7)


def test_isolated_atom_is_nan():
    atoms = Atoms("Ar2", positions=[[0, 0, 0], [10, 0, 0]], cell=[20, 20, 20], pbc=True)
    result = steinhardt(atoms, l_values=(6,), cutoff=3.0, average=True, wl=True)
    assert np.all(np.isnan(result.ql)) and np.all(np.isnan(result.wl_hat))
    assert np.all(np.isnan(result.ql_avg))


def test_k_nearest_is_deterministic_and_exact_in_count():
    # bcc with k = 10 cuts through the 6-atom second shell: the tie is broken by index, shift.
    atoms = bulk("Fe", "bcc", a=2.87, cubic=True).repeat(2)
    a = nearest_neighbors(atoms, 10)
    b = nearest_neighbors(atoms, 10, neighbor_list(atoms, 4.0))
    assert np.all(a.counts() == 10)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.shifts, b.shifts)
    assert np.all(np.diff(a.distances.reshape(-1, 10), axis=1) >= -1e-12)  # nearest first
    with pytest.raises(ValueError, match="longer cutoff"):
        nearest_neighbors(atoms, 10, neighbor_list(atoms, 2.6))
    # An open cluster with fewer atoms than k: every other atom, no endless search.
    cluster = Atoms("Ar3", positions=[[0, 0, 0], [3, 0, 0], [0, 3, 0]])
    assert np.all(nearest_neighbors(cluster, 12).counts() == 2)


# --------------------------------------------------------------------------- freud as a peer


def _freud_system(atoms):
    """freud, its box, and points freud keeps as they are; ``atoms`` is moved onto them.

    freud computes in float32 and re-wraps points into its centred box (moving them by float32
    rounding), so both codes are given the points after freud's own wrap.
    """
    freud = pytest.importorskip("freud")
    box = freud.box.Box.from_matrix(atoms.cell.array.T)
    points = box.wrap(atoms.positions.astype(np.float32))
    atoms.positions = points.astype(np.float64)
    return freud, box, points


@pytest.fixture(scope="module")
def random_model():
    """300 random atoms in a triclinic periodic cell."""
    rng = np.random.default_rng(1)
    cell = np.array([[12.0, 0, 0], [2.0, 11.0, 0], [1.5, -1.0, 13.0]])
    fractions = rng.uniform(-0.49, 0.49, (300, 3))
    positions = fractions @ cell
    return Atoms("Ar300", positions=positions, cell=cell, pbc=True)


def _reference_steinhardt(atoms, cutoff, ls):
    """Plain numpy/scipy in float64 from ASE's neighbour list: q_l, q̄_l, w_l, ŵ_l (and their q̄ twins)."""
    from ase.neighborlist import neighbor_list as ase_neighbor_list
    from scipy.special import sph_harm_y

    i, j, vec = ase_neighbor_list("ijD", atoms, cutoff)
    n = len(atoms)
    r = np.linalg.norm(vec, axis=1)
    theta, phi = np.arccos(vec[:, 2] / r), np.arctan2(vec[:, 1], vec[:, 0])
    counts = np.bincount(i, minlength=n)
    out = {}
    for l in ls:
        ms = np.arange(-l, l + 1)
        y = sph_harm_y(l, ms[None, :], theta[:, None], phi[:, None])  # (pairs, 2l+1)
        qlm = np.zeros((n, 2 * l + 1), complex)
        np.add.at(qlm, i, y)
        qlm /= counts[:, None]
        avg = qlm.copy()
        np.add.at(avg, i, qlm[j])
        avg /= (counts + 1)[:, None]
        m1, m2, m3, coef = w3j_terms(l)
        for suffix, q in (("", qlm), ("_avg", avg)):
            norm2 = np.sum(np.abs(q) ** 2, axis=1)
            w = np.sum(coef * q[:, m1 + l] * q[:, m2 + l] * q[:, m3 + l], axis=1).real
            out[f"q{l}{suffix}"] = np.sqrt(4 * np.pi / (2 * l + 1) * norm2)
            out[f"w{l}{suffix}"] = w
            out[f"w{l}_hat{suffix}"] = w / norm2**1.5
    return out


def test_steinhardt_matches_float64_reference(random_model):
    ls = (2, 3, 4, 6, 8, 12)
    ours = steinhardt(random_model, l_values=ls, cutoff=3.5, average=True, wl=True).to_arrays()
    reference = _reference_steinhardt(random_model, 3.5, ls)
    assert ours.keys() == reference.keys()
    for name, values in reference.items():
        np.testing.assert_allclose(ours[name], values, rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("query", [{"r_max": 3.5}, {"num_neighbors": 10}])
@pytest.mark.parametrize("average", [False, True])
def test_steinhardt_matches_freud(random_model, query, average):
    """freud's own neighbour queries; values agree to freud's float32 precision.

    freud computes in float32 throughout: even given exact float32 bond vectors its q_l is off
    from a float64 reference by up to ~3e-6 (l = 12) and ŵ_l (a ratio) by ~5e-6; its own
    neighbour queries add float32 wrapping of the bond vectors (up to ~1e-5 on ŵ_l). So: 95 %
    of the values within 1e-6 and all within 3e-5, for exactly the same neighbours (the float64
    reference test above holds us to 1e-12).
    """
    random_model = random_model.copy()
    freud, box, points = _freud_system(random_model)
    ls = [2, 3, 4, 6, 8, 12]
    mode = {"cutoff": 3.5} if "r_max" in query else {"num_neighbors": 10}
    ours = steinhardt(random_model, l_values=tuple(ls), average=average, wl=True, **mode)
    q = ours.ql_avg if average else ours.ql
    w = ours.wl_avg if average else ours.wl
    w_hat = ours.wl_hat_avg if average else ours.wl_hat
    for wl, normalize, mine in [(False, False, q), (True, False, w), (True, True, w_hat)]:
        peer = freud.order.Steinhardt(ls, average=average, wl=wl, wl_normalize=normalize)
        peer.compute((box, points), neighbors=query)
        error = np.abs(mine - peer.particle_order)
        assert error.max() < 3e-5, (wl, normalize, error.max())
        assert np.quantile(error, 0.95) < 1e-6, (wl, normalize, np.quantile(error, 0.95))


# --------------------------------------------------------------------------- tetrahedral order


@pytest.mark.parametrize("repeat", [(1, 1, 1), (2, 2, 1)])
def test_tetrahedral_alpha_quartz_hexagonal_cell(repeat):
    atoms = alpha_quartz(repeat)
    result = compute_tetrahedral(atoms, TetrahedralParams(centre="Si", neighbor="O"))
    si = atoms.numbers == 14
    np.testing.assert_allclose(result.q[si], 0.99965, atol=1e-5)
    assert np.all(np.isnan(result.q[~si]))
    # Same crystal in a far more skewed cell: the same answer (image shifts, no minimum image).
    other = compute_tetrahedral(skewed(atoms), TetrahedralParams(centre="Si", neighbor="O"))
    np.testing.assert_allclose(other.q[si], result.q[si], atol=1e-12)
    assert result.to_arrays()["tetrahedral_q"] is result.q
    assert result.to_dict()["elements"]["Si"]["count"] == si.sum()


def test_tetrahedral_beta_cristobalite_and_diamond_exact():
    atoms = beta_cristobalite()
    q = compute_tetrahedral(atoms, TetrahedralParams(centre="Si", neighbor="O")).q
    np.testing.assert_allclose(q[atoms.numbers == 14], 1.0, atol=1e-12)
    diamond = skewed(bulk("Si", "diamond", a=5.43).repeat(2))
    np.testing.assert_allclose(compute_tetrahedral(diamond).q, 1.0, atol=1e-12)
    fcc = bulk("Cu", "fcc", a=3.6)  # 4 of 12 equidistant neighbours: ties, still deterministic
    q1 = compute_tetrahedral(fcc).q
    np.testing.assert_array_equal(q1, compute_tetrahedral(fcc).q)


def test_tetrahedral_cutoff_leaves_undercoordinated_nan():
    atoms = beta_cristobalite()
    del atoms[[a.index for a in atoms if a.symbol == "O"][:1]]  # one Si loses an O
    q = compute_tetrahedral(atoms, TetrahedralParams("Si", "O", cutoff=2.0)).q
    si = atoms.numbers == 14
    assert np.isnan(q[si]).sum() == 2  # the O was shared by two Si
    np.testing.assert_allclose(q[si][np.isfinite(q[si])], 1.0, atol=1e-12)


def test_shared_a_sio2_tetrahedral_reference(shared_data):
    from amorpha.engine.io import read_structure

    path = shared_data / "structures" / "sovapy" / "a_SiO2_speed1e11K.xyz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    atoms = read_structure(path)
    si = atoms.numbers == 14
    # The reference 0.9795: the 4 nearest O within 2.0 Å; the 23 three-fold Si have none.
    q = compute_tetrahedral(atoms, TetrahedralParams("Si", "O", cutoff=2.0)).q[si]
    assert np.isfinite(q).sum() == 310
    assert np.nanmean(q) == pytest.approx(0.9795, abs=5e-5)
    # Without the cutoff every Si counts (three-fold Si take a far O): a lower mean.
    q_all = compute_tetrahedral(atoms, TetrahedralParams("Si", "O")).q[si]
    assert np.all(np.isfinite(q_all)) and np.mean(q_all) < 0.96


def test_the_bond_cutoff_default_of_tetrahedral_order():
    """Si over its 4 nearest O within the Si–O bond cutoff: what the window and the CLI default
    to. Without it a Si among Si in the a-SiO example took far O (mean 0.33, minimum −2.49)."""
    from amorpha.engine.bonds import bond_cutoffs
    from amorpha.engine.examples import example_path
    from amorpha.engine.io import read_structure

    atoms = read_structure(example_path("a-SiO"))
    cutoff = bond_cutoff_between(atoms.numbers, "Si", "O")
    assert cutoff == bond_cutoffs(atoms.numbers)[(8, 14)]
    q = compute_tetrahedral(atoms, TetrahedralParams("Si", "O", cutoff)).q
    assert np.nanmin(q) > 0.9 and np.nanmean(q) == pytest.approx(0.987, abs=0.002)
    assert bond_cutoff_between(atoms.numbers, "Si", None) == bond_cutoffs(atoms.numbers)[(14, 14)]
    assert bond_cutoff_between([22, 8], "Ti", "Ti") is None  # cations of an oxide: never bonded
    assert bond_cutoff_between(atoms.numbers, "Si", "O", {("Si", "O"): 2.0}) == 2.0
    described = TetrahedralParams("Si", "O", cutoff).describe()
    assert described == f"Si over its 4 nearest O neighbours within {cutoff:.3f} Å (fewer: no value)"
    assert TetrahedralParams().describe() == "Every atom over its 4 nearest neighbours at any distance (no cutoff)"


def test_shared_a_sio2_at_the_default_cutoff(shared_data):
    from amorpha.engine.io import read_structure

    path = shared_data / "structures" / "sovapy" / "a_SiO2_speed1e11K.xyz"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    atoms = read_structure(path)
    cutoff = bond_cutoff_between(atoms.numbers, "Si", "O")
    q = compute_tetrahedral(atoms, TetrahedralParams("Si", "O", cutoff)).q
    assert np.nanmean(q) == pytest.approx(0.9795, abs=1e-4)  # the reference, not 0.9556


def test_column_names_are_known_before_the_run():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    for average in (False, True):
        for wl in (False, True):
            params = SteinhardtParams(l_values=(4, 6), num_neighbors=12, average=average, wl=wl)
            assert steinhardt_columns(params) == list(compute_steinhardt(atoms, params).to_arrays())
    assert steinhardt_columns(SteinhardtParams((6,), wl=True)) == ["q6", "w6", "w6_hat"]


def test_a_small_open_cluster_says_how_many_neighbours_it_had():
    water = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    summary = compute_steinhardt(water, SteinhardtParams((6,), num_neighbors=12)).to_dict()
    assert summary["neighbors"] == {"min": 2, "max": 2}


# --------------------------------------------------------------------------- tasks


def test_cancel_and_progress():
    atoms = beta_cristobalite((3, 3, 3))
    with pytest.raises(Cancelled):
        compute_steinhardt(atoms, SteinhardtParams(cutoff=3.2), cancel=lambda: True)
    with pytest.raises(Cancelled):
        compute_tetrahedral(atoms, cancel=lambda: True)
    seen = []
    compute_steinhardt(atoms, SteinhardtParams(num_neighbors=8, average=True),
                       progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == pytest.approx(1.0) and all(0 <= f <= 1 for f in seen)


def test_params_validation_and_warm_up():
    with pytest.raises(ValueError):
        SteinhardtParams(l_values=(0,))
    with pytest.raises(ValueError):
        SteinhardtParams(cutoff=-1.0)
    with pytest.raises(ValueError):
        SteinhardtParams(num_neighbors=0)
    assert SteinhardtParams(l_values=6).l_values == (6,)
    warm_up()

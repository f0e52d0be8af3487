"""Polycrystal builder: exact single-grain crystal, Voronoi partition, thinning, statistics, errors."""
import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from amorpha.engine.build.common import BuildParameterError
from amorpha.engine.build.crystals import unit_cell
from amorpha.engine.build.polycrystal import (
    PolycrystalParams,
    build_polycrystal,
    delaunay_cells,
    draw_grains,
    estimated_atoms,
    exhaustive_cells,
    voronoi_fill,
    warm_up,
)
from amorpha.engine.neighbors import neighbor_list
from amorpha.engine.tasks import Cancelled

A_CU = 3.615
NN_CU = A_CU / np.sqrt(2.0)
DENSITY_CU = 4.0 / A_CU**3


def min_image(vectors, box):
    return vectors - np.round(vectors / box) * box


def boundary_distance(positions, seeds, box, k=16):
    """Distance from each point to the nearest face of its Voronoi cell (over the k nearest seed images)."""
    shifts = np.stack(np.meshgrid(*[np.arange(-1, 2)] * 3, indexing="ij"), -1).reshape(-1, 3)
    images = (seeds[None, :, :] + (shifts * box)[:, None, :]).reshape(-1, 3)
    dist, idx = cKDTree(images).query(positions, k=k)
    own = images[idx[:, 0]]
    out = np.full(len(positions), np.inf)
    for col in range(1, k):
        other = images[idx[:, col]]
        gap = dist[:, col] ** 2 - dist[:, 0] ** 2
        out = np.minimum(out, gap / (2 * np.linalg.norm(other - own, axis=1)))
    return out


def test_warm_up_runs():
    warm_up()


def test_one_grain_is_the_rotated_crystal():
    box = np.array([26.0, 28.0, 30.0])
    params = PolycrystalParams("Cu", box=tuple(box), n_grains=1, min_distance=0.01, seed=3)
    atoms = build_polycrystal(params)
    (seed,), (rot,) = draw_grains(params)
    # Every atom is a lattice point of the rotated fcc lattice through the seed, in the box.
    x = min_image(atoms.positions - seed, box)
    lattice = x @ rot / (A_CU / 2)  # fcc points: integer coordinates (units a/2), even sum
    assert np.allclose(lattice, np.round(lattice), atol=1e-8)
    assert np.all(np.round(lattice).sum(axis=1) % 2 == 0)
    # ... and they are all the lattice points of the seed's cell (the box centred on it).
    n = int(np.ceil(np.linalg.norm(box) / A_CU)) + 1
    g = np.stack(np.meshgrid(*[np.arange(-2 * n, 2 * n + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    g = g[g.sum(axis=1) % 2 == 0] * (A_CU / 2) @ rot.T
    assert len(atoms) == np.count_nonzero(np.all(np.abs(g) < box / 2, axis=1))
    assert len(atoms) == pytest.approx(np.prod(box) * DENSITY_CU, rel=0.01)
    assert atoms.info["removed_atoms"] == 0
    # Away from the seam where the grain meets its own image: 12 neighbours at a/sqrt(2).
    interior = np.all(np.abs(x) < box / 2 - 3.0, axis=1)
    nl = neighbor_list(atoms, 3.0)
    assert np.all(nl.counts()[interior] == 12)
    rows = np.repeat(np.arange(len(atoms)), nl.counts())
    assert np.allclose(nl.distances[interior[rows]], NN_CU, atol=1e-9)


@pytest.fixture(scope="module")
def twelve_grains():
    params = PolycrystalParams("Cu", box=(42.0, 40.0, 44.0), n_grains=12, seed=7)
    return params, build_polycrystal(params)


def test_atoms_belong_to_their_nearest_seed(twelve_grains):
    params, atoms = twelve_grains
    seeds, _ = draw_grains(params)
    grain = atoms.arrays["grain"]
    d, nearest = cKDTree(seeds, boxsize=params.box).query(atoms.positions)
    assert np.all(nearest == grain)
    assert np.all((atoms.positions >= 0) & (atoms.positions < params.box))
    assert atoms.info["n_grains"] == 12 and set(np.unique(grain)) == set(range(12))
    assert atoms.info["name"] == "Cu polycrystal, 12 grains"
    assert atoms.info["seed"] == 7


def test_grain_sizes_follow_their_voronoi_volumes(twelve_grains):
    params, atoms = twelve_grains
    seeds, _ = draw_grains(params)
    rng = np.random.default_rng(0)
    probes = rng.random((400_000, 3)) * params.box
    _, owner = cKDTree(seeds, boxsize=params.box).query(probes)
    volume = np.bincount(owner, minlength=12) / len(probes) * np.prod(params.box)
    filled = np.bincount(atoms.arrays["grain"], minlength=12) + 0.0
    # Boundary thinning takes a few per cent; the rest is lattice counting in each cell.
    assert np.allclose(filled / (volume * DENSITY_CU), 0.9, atol=0.1)
    total = len(atoms) + atoms.info["removed_atoms"]
    assert total == pytest.approx(np.prod(params.box) * DENSITY_CU, rel=0.005)
    assert total == pytest.approx(estimated_atoms(params), rel=0.005)


def test_no_pair_closer_than_min_distance(twelve_grains):
    params, atoms = twelve_grains
    assert atoms.info["min_distance"] == pytest.approx(0.75 * NN_CU)
    assert neighbor_list(atoms, atoms.info["min_distance"]).n_pairs == 0
    assert atoms.info["removed_atoms"] > 0


def test_grain_interiors_are_fcc(twelve_grains):
    params, atoms = twelve_grains
    seeds, rotations = draw_grains(params)
    inner = boundary_distance(atoms.positions, seeds, np.array(params.box)) > 3.0 + 0.75 * NN_CU
    assert inner.sum() > 300
    nl = neighbor_list(atoms, 3.0)
    assert np.all(nl.counts()[inner] == 12)
    rows = np.repeat(np.arange(len(atoms)), nl.counts())
    assert np.allclose(nl.distances[inner[rows]], NN_CU, atol=1e-9)
    # Each grain carries its own orientation: nearest-neighbour vectors are rotated <110>/2.
    vec = nl.vectors(atoms)[inner[rows]]
    local = np.einsum("kc,kcd->kd", vec, rotations[atoms.arrays["grain"][rows[inner[rows]]]])
    assert np.allclose(np.sort(np.abs(local), axis=1), [0, A_CU / 2, A_CU / 2], atol=1e-8)


def test_density_close_to_the_crystal():
    params = PolycrystalParams("Cu", box=(60.0, 60.0, 60.0), n_grains=3, seed=1)
    atoms = build_polycrystal(params)
    density = len(atoms) / np.prod(params.box)
    # Lattice counting fills each grain at the crystal's density; thinning the unrelaxed
    # boundaries takes a few per cent more at this grain size (~40 Å).
    before = (len(atoms) + atoms.info["removed_atoms"]) / np.prod(params.box)
    assert before == pytest.approx(DENSITY_CU, rel=0.002)
    assert 0.92 * DENSITY_CU < density < 0.99 * DENSITY_CU


def test_delaunay_and_exhaustive_neighbours_give_the_same_grains():
    params = PolycrystalParams("Cu", box=(36.0, 34.0, 38.0), n_grains=14, seed=11)
    seeds, rotations = draw_grains(params)
    box = np.array(params.box)
    cell = unit_cell("Cu")
    fast = delaunay_cells(seeds, box)
    assert fast is not None and fast.normals.shape[0] < exhaustive_cells(seeds, box).normals.shape[0]
    results = [voronoi_fill(cell, seeds, rotations, box, cells)
               for cells in (fast, exhaustive_cells(seeds, box))]
    (p1, z1, g1), (p2, z2, g2) = results
    assert len(p1) == len(p2)
    o1, o2 = np.lexsort(p1.T), np.lexsort(p2.T)
    assert np.allclose(p1[o1], p2[o2], atol=1e-9)
    assert np.array_equal(g1[o1], g2[o2]) and np.array_equal(z1, z2)


def test_deterministic_per_seed():
    params = PolycrystalParams("Cu", box=(30.0, 30.0, 30.0), n_grains=5, seed=42)
    a, b = build_polycrystal(params), build_polycrystal(params)
    assert np.array_equal(a.positions, b.positions) and np.array_equal(a.arrays["grain"], b.arrays["grain"])
    c = build_polycrystal(PolycrystalParams("Cu", box=(30.0, 30.0, 30.0), n_grains=5, seed=43))
    assert len(c) != len(a) or not np.allclose(c.positions, a.positions)


def test_orientations_are_uniform_on_so3():
    seeds, rot = draw_grains(PolycrystalParams("Cu", box=(500.0, 500.0, 500.0), n_grains=20_000, seed=5))
    assert np.allclose(np.einsum("gij,gik->gjk", rot, rot), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(rot), 1.0)
    z = rot[:, :, 2]  # rotated z axes: uniform on the sphere
    tol = 4 / np.sqrt(len(z))
    assert abs(np.abs(z[:, 2]).mean() - 0.5) < tol  # <|cos|> = 1/2
    assert abs((z[:, 2] ** 2).mean() - 1 / 3) < tol  # <cos^2> = 1/3
    assert np.allclose(z.mean(axis=0), 0.0, atol=tol)
    # The Haar measure gives rotation angles w the density (1 - cos w)/pi, so <cos w> = -1/2.
    angle = Rotation.from_matrix(rot).magnitude()
    assert abs(np.cos(angle).mean() + 0.5) < tol
    assert np.allclose(seeds.mean(axis=0), 250.0, atol=5.0)
    assert seeds.min() >= 0 and seeds.max() < 500.0


def test_other_crystals_diamond_and_quartz():
    si = build_polycrystal(PolycrystalParams("Si", box=(30.0, 30.0, 30.0), n_grains=3, seed=2))
    seeds, _ = draw_grains(PolycrystalParams("Si", box=(30.0, 30.0, 30.0), n_grains=3, seed=2))
    inner = boundary_distance(si.positions, seeds, np.array([30.0] * 3)) > 4.0
    assert np.all(neighbor_list(si, 2.6).counts()[inner] == 4)
    quartz = build_polycrystal(PolycrystalParams("alpha-quartz", box=(30.0, 30.0, 30.0), n_grains=3))
    assert neighbor_list(quartz, quartz.info["min_distance"]).n_pairs == 0
    ratio = np.count_nonzero(quartz.numbers == 8) / np.count_nonzero(quartz.numbers == 14)
    assert ratio == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize("kwargs, parameter, words", [
    (dict(box=(-10.0, 60.0, 60.0)), "box", "positive"),
    (dict(box=(60.0, 60.0)), "box", "three"),
    (dict(n_grains=0), "n_grains", "at least 1"),
    (dict(n_grains=2.5), "n_grains", "whole number"),
    (dict(box=(10.0, 10.0, 10.0), n_grains=8), "box", "8 grains in a 10 Å box would be 5 Å across"),
    (dict(crystal="Unobtainium"), "crystal", "unknown crystal"),
    (dict(a=-3.0), "a", "lattice constant"),
    (dict(min_distance=3.0), "min_distance", "nearest-neighbour"),
    (dict(seed=-1), "seed", "≥ 0"),
    (dict(box=(2000.0, 2000.0, 2000.0)), "box", "viewer"),
])
def test_bad_parameters_fail_before_any_work(kwargs, parameter, words):
    calls = []
    with pytest.raises(BuildParameterError) as err:
        build_polycrystal(PolycrystalParams(**kwargs), progress=lambda f, m: calls.append(f))
    assert err.value.parameter == parameter
    assert words in str(err.value)
    assert calls == []


def test_cancel_stops_the_build():
    params = PolycrystalParams("Cu", box=(50.0, 50.0, 50.0), n_grains=20)
    with pytest.raises(Cancelled):
        build_polycrystal(params, cancel=lambda: True)
    seen = []

    def cancel_midway():
        return len(seen) > 3

    with pytest.raises(Cancelled):
        build_polycrystal(params, progress=lambda f, m: seen.append(f), cancel=cancel_midway)
    assert 0.0 < max(seen) < 1.0


def test_progress_reaches_one_in_order():
    seen = []
    build_polycrystal(PolycrystalParams("Cu", box=(30.0, 30.0, 30.0), n_grains=4),
                      progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and np.all(np.diff(seen) >= -1e-12)

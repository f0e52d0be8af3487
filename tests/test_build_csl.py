"""CSL enumeration and periodic bicrystals, checked against formulas, lattice counting and pymatgen."""
import io
import math
import warnings

import numpy as np
import pytest
from ase.io import read, write
from scipy.spatial import cKDTree

from amorpha.engine.build.bicrystal import BicrystalParams, build_bicrystal
from amorpha.engine.build.common import BuildParameterError
from amorpha.engine.build.csl import AXES, canonical_plane, csl_boundaries, sigma_values
from amorpha.engine.neighbors import neighbor_list
from amorpha.engine.tasks import Cancelled

A_CU = 3.615  # the crystals table's Cu lattice constant
#: (axis, Σ, grain 0's plane) of the boundaries the issue names.
CASES = [
    ((0, 0, 1), 5, (2, 1, 0)),
    ((0, 0, 1), 5, (3, 1, 0)),
    ((0, 0, 1), 13, (3, 2, 0)),
    ((0, 0, 1), 13, (5, 1, 0)),
    ((0, 0, 1), 17, (4, 1, 0)),
    ((1, 1, 0), 3, (1, -1, 1)),
    ((1, 1, 0), 9, (2, -2, 1)),
    ((1, 1, 0), 11, (1, -1, 3)),
]
CASE_IDS = [f"S{s}({''.join(map(str, p))})" for _, s, p in CASES]

#: Symmetric tilt boundaries of the usual tables (Σ: {plane family: tilt angle}), for [001]
#: e.g. Sutton & Balluffi, "Interfaces in Crystalline Materials"; for [110] Rittner & Seidman,
#: PRB 65, 235 (2002) (θ from (001), 0-180°); for [111] the 0-60° series (d = <1-10>).
LITERATURE = {
    (0, 0, 1): {5: {(3, 1, 0): 36.87, (2, 1, 0): 53.13}, 13: {(5, 1, 0): 22.62, (3, 2, 0): 67.38},
                17: {(4, 1, 0): 28.07, (5, 3, 0): 61.93}, 25: {(7, 1, 0): 16.26, (4, 3, 0): 73.74},
                29: {(5, 2, 0): 43.60, (7, 3, 0): 46.40}, 37: {(6, 1, 0): 18.92, (7, 5, 0): 71.08},
                41: {(9, 1, 0): 12.68, (5, 4, 0): 77.32}},
    (1, 1, 0): {3: {(2, 1, 1): 70.53, (1, 1, 1): 109.47}, 9: {(4, 1, 1): 38.94, (2, 2, 1): 141.06},
                11: {(3, 1, 1): 50.48, (3, 3, 2): 129.52}, 17: {(3, 2, 2): 86.63, (4, 3, 3): 93.37},
                19: {(6, 1, 1): 26.53, (3, 3, 1): 153.47}, 27: {(5, 1, 1): 31.59, (5, 5, 2): 148.41},
                33: {(8, 1, 1): 20.05, (5, 2, 2): 58.99, (5, 5, 4): 121.01, (4, 4, 1): 159.95}},
    (1, 1, 1): {3: {(2, 1, 1): 60.0}, 7: {(3, 2, 1): 38.21}, 13: {(4, 3, 1): 27.80},
                19: {(5, 3, 2): 46.83}, 21: {(5, 4, 1): 21.79}, 31: {(6, 5, 1): 17.90},
                37: {(7, 4, 3): 50.57}},
}


def family(plane):
    """Plane family regardless of axis: sorted absolute indices, largest first."""
    return tuple(sorted((abs(x) for x in plane), reverse=True))


def rotation(axis, degrees):
    """Rodrigues rotation from axis and angle alone (not from our rational matrix)."""
    u = np.array(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    t = math.radians(degrees)
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * k @ k


def fcc_period(v, a=A_CU):
    """Shortest fcc lattice vector along the integer direction v.

    fcc = integer combinations of (½,½,0), (½,0,½), (0,½,½): the vectors (a/2)·h with integer h of
    even component sum. For v in smallest integers, (a/2)·v is one iff sum(v) is even; otherwise
    the shortest is a·v. (So for [001] tilt on (hk0): a·√(h²+k²) when h + k is odd, half of it
    when h and k are both odd; [001] itself has period a, [110] period a/√2.)
    """
    v = np.array(v) // math.gcd(*v)
    return np.linalg.norm(v) * a * (0.5 if v.sum() % 2 == 0 else 1.0)


def build(axis, sigma, plane, **kw):
    return build_bicrystal(BicrystalParams("Cu", axis=axis, sigma=sigma, plane=plane, **kw))


# --------------------------------------------------------------------------- enumeration


@pytest.mark.parametrize("axis", AXES)
def test_enumeration_matches_literature_tables(axis):
    found = {}
    for b in csl_boundaries(axis, 41):
        assert np.dot(b.plane, axis) == 0 and math.gcd(*b.plane) == 1
        found.setdefault(b.sigma, {})[family(b.plane)] = round(b.angle_deg, 2)
    for sigma, planes in LITERATURE[axis].items():
        if axis == (1, 1, 1):  # we also list the two-fold-symmetric planes of d = <11-2>
            assert planes.items() <= found[sigma].items()
        else:
            assert found[sigma] == planes
    assert {s for s in found if s <= max(LITERATURE[axis])} == set(LITERATURE[axis])
    boundaries = csl_boundaries(axis)
    assert boundaries == sorted(boundaries, key=lambda b: (b.sigma, b.angle_deg))


@pytest.mark.parametrize("axis", AXES)
def test_sigmas_and_angles_match_pymatgen(axis):
    """Σ values and misorientations agree with Grimmer's enumeration as coded in pymatgen."""
    interface = pytest.importorskip("pymatgen.core.interface")
    theirs = interface.GrainBoundaryGenerator.enum_sigma_cubic(101, axis)
    assert sigma_values(axis) == sorted(theirs)
    largest = {(0, 0, 1): 90.0, (1, 1, 0): 180.0, (1, 1, 1): 60.0}[axis]
    for sigma, angles in theirs.items():
        ours = {round(b.angle_deg, 4) for b in csl_boundaries(axis) if b.sigma == sigma}
        assert ours == {round(t, 4) for t in angles if t <= largest + 1e-9}


def coincidence_ratio(axis, degrees, radius=12):
    """Sites of an fcc lattice in a sphere (radius in a) over those the rotation maps onto sites."""
    n = 2 * radius
    g = np.arange(-n, n + 1)
    h = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)  # units of a/2
    h = h[(h.sum(1) % 2 == 0) & ((h * h).sum(1) <= n * n)]
    turned = h @ rotation(axis, degrees).T
    nearest = np.round(turned)
    on_site = (np.abs(turned - nearest).max(1) < 1e-6) & (nearest.sum(1) % 2 == 0)
    return len(h) / on_site.sum()


@pytest.mark.parametrize("axis,sigma,plane", CASES + [((1, 1, 1), 7, (3, -1, -2)),
                                                      ((1, 1, 1), 13, (4, -1, -3))])
def test_sigma_is_the_coincident_site_fraction(axis, sigma, plane):
    """1/Σ of the sites coincide: counted in a sphere, independent of the Σ formula."""
    b = next(b for b in csl_boundaries(axis) if b.sigma == sigma and b.plane == canonical_plane(plane, axis))
    assert round(coincidence_ratio(axis, b.angle_deg)) == sigma
    # One degree off, only the sites on the axis itself coincide: the angle matters.
    assert coincidence_ratio(axis, b.angle_deg + 1.0) > 20 * sigma
    # Symmetric: grain 1's plane R(∓θ)·p (which sign depends on which member of the family
    # ``plane`` is) is again a member of p's family; a rotation keeps |p|, so it is integer.
    partners = [rotation(axis, sign * b.angle_deg) @ np.array(b.plane, float) for sign in (1, -1)]
    assert any(np.allclose(q, np.round(q), atol=1e-9)
               and canonical_plane(np.round(q).astype(int), axis) == b.plane for q in partners)


# --------------------------------------------------------------------------- bicrystals


@pytest.mark.parametrize("axis,sigma,plane", CASES, ids=CASE_IDS)
def test_cell_periods_are_the_csl_periods(axis, sigma, plane):
    atoms = build(axis, sigma, plane, bulk_thickness=15.0, min_distance=0.0)
    x, y, z = atoms.cell.lengths()
    assert np.allclose(atoms.cell.array, np.diag([x, y, z]))  # orthogonal
    # x: the tilt axis is common to both grains (R fixes it), so its lattice period is the CSL one.
    assert x == pytest.approx(fcc_period(axis), rel=1e-12)
    # y: the boundary is a mirror plane between the grains (<100> and <110> are mirror normals), so
    # every lattice vector lying in it belongs to both grains: the period along p × axis.
    assert y == pytest.approx(fcc_period(np.cross(plane, axis)), rel=1e-12)
    assert atoms.info["boundary_area"] == pytest.approx(x * y)
    # z: two grains, each a whole number of periods along the normal, at least 15 Å thick.
    period = fcc_period(plane)
    assert z == pytest.approx(2 * math.ceil(15.0 / period) * period, rel=1e-12)
    assert len(atoms) == pytest.approx(4 / A_CU**3 * x * y * z, abs=1e-6)  # full density, no gaps
    info = atoms.info
    assert (info["sigma"], info["kind"], info["removed_atoms"]) == (sigma, "tilt", 0)
    assert info["axis"] == "[" + "".join(map(str, axis)) + "]"
    assert info["plane"] == "(" + "".join(map(str, plane)) + ")"


def test_twist_cell_is_the_planar_csl():
    atoms = build((0, 0, 1), 5, (0, 0, 1), kind="twist", min_distance=0.0)
    # Σ5 twist on (001): the coincident sites of the square (001) net (side a/√2) form a square
    # net of Σ times its cell area.
    x, y, _ = atoms.cell.lengths()
    assert x == pytest.approx(y) and x * y == pytest.approx(5 * A_CU**2 / 2)
    assert atoms.info["misorientation_deg"] == pytest.approx(36.869898, abs=1e-5)
    atoms = build((1, 1, 1), 7, (1, 1, 1), kind="twist", min_distance=0.0)
    # (111) is a triangular net of side a/√2 (cell (√3/2)(a/√2)²): the orthogonal cell holds two
    # planar CSL cells of Σ = 7 net cells each.
    assert atoms.info["boundary_area"] == pytest.approx(2 * 7 * math.sqrt(3) / 4 * A_CU**2)


@pytest.mark.parametrize("axis,sigma,plane", CASES, ids=CASE_IDS)
def test_boundary_cell_and_layers_match_pymatgen(axis, sigma, plane):
    interface = pytest.importorskip("pymatgen.core.interface")
    from pymatgen.core import Lattice, Structure

    ours = build(axis, sigma, plane, min_distance=0.0)
    half = A_CU / 2
    primitive = Structure(Lattice([[0, half, half], [half, 0, half], [half, half, 0]]), ["Cu"], [[0, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gb = interface.GrainBoundaryGenerator(primitive).gb_from_parameters(
            axis, ours.info["misorientation_deg"], expand_times=2, plane=plane, rm_ratio=0.0)
    assert gb.sigma == sigma
    a_vec, b_vec, c_vec = gb.lattice.matrix
    normal = np.cross(a_vec, b_vec)
    area = np.linalg.norm(normal)
    normal /= area
    # pymatgen keeps the smallest planar CSL cell, oblique if need be; ours is the smallest
    # orthogonal one. They agree, or ours is the centred rectangle of a centred (e.g. hexagonal) net.
    ratio = ours.info["boundary_area"] / area
    assert min(abs(ratio - 1), abs(ratio - 2)) < 1e-9
    ij = np.array([(i, j) for i in range(-6, 7) for j in range(-6, 7) if (i, j) != (0, 0)])
    vecs = ij @ np.array([a_vec, b_vec])
    dots = vecs @ vecs.T
    lengths = np.linalg.norm(vecs, axis=1)
    i, j = np.nonzero(np.abs(dots) < 1e-6 * np.outer(lengths, lengths))
    rectangle = (lengths[i] * lengths[j]).min()  # smallest orthogonal cell of pymatgen's net
    assert ours.info["boundary_area"] == pytest.approx(rectangle, rel=1e-9)

    def per_area_per_layer(count, area, heights, period):
        layers = np.unique(np.round(np.mod(heights, period), 4) % round(period, 4))
        return count / area / len(layers)

    theirs = per_area_per_layer(len(gb), area, gb.cart_coords @ normal, c_vec @ normal)
    mine = per_area_per_layer(len(ours), ours.info["boundary_area"], ours.positions[:, 2],
                              ours.cell[2, 2])
    assert mine == pytest.approx(theirs, rel=1e-9)
    assert len(ours) / ours.get_volume() == pytest.approx(len(gb) / gb.volume, rel=1e-9)


#: [111] boundaries from d = <1-10> are mirror-symmetric, those from d = <11-2> have a two-fold
#: axis along y (in the plane, perpendicular to the tilt axis x) instead.
SYMMETRIC = [(*case, "mirror") for case in CASES] + [
    ((1, 1, 1), 7, (3, -1, -2), "mirror"), ((1, 1, 1), 7, (5, -1, -4), "two-fold"),
    ((1, 1, 1), 3, (1, 0, -1), "two-fold"), ((0, 0, 1), 5, (-1, 3, 0), "mirror"),
]


@pytest.mark.parametrize("axis,sigma,plane,symmetry", SYMMETRIC)
def test_grains_are_symmetric_images(axis, sigma, plane, symmetry):
    """Zero translation is the CSL registry: grain 1 is grain 0 mirrored in the boundary (or
    turned about an in-plane two-fold axis), so both grains show the boundary the same plane."""
    atoms = build(axis, sigma, plane, bulk_thickness=10.0, min_distance=0.0)
    x, y, z = atoms.cell.lengths()
    grain = atoms.arrays["grain"]
    height = z / 2
    lower = atoms.positions[(grain == 0) & (atoms.positions[:, 2] > 1e-6)]
    upper = atoms.positions[(grain == 1) & (atoms.positions[:, 2] > height + 1e-6)]
    flip = [1, 1, -1] if symmetry == "mirror" else [-1, 1, -1]
    image = lower * flip + [0, 0, 2 * height]
    assert len(image) == len(upper)
    box = [x, y, 10 * z]
    dist, _ = cKDTree(np.mod(upper, box), boxsize=box).query(np.mod(image, box))
    assert dist.max() < 1e-6


@pytest.mark.parametrize("axis,sigma,plane", CASES, ids=CASE_IDS)
def test_close_pairs_removed_and_bulk_coordination(axis, sigma, plane):
    atoms = build(axis, sigma, plane, bulk_thickness=15.0)
    md = atoms.info["min_distance"]
    assert md == pytest.approx(0.7 * A_CU / math.sqrt(2))
    nl = neighbor_list(atoms, md)
    assert nl.n_pairs == 0
    full = build(axis, sigma, plane, bulk_thickness=15.0, min_distance=0.0)
    assert len(full) - len(atoms) == atoms.info["removed_atoms"]
    # Coordination 12 (first shell a/√2, second a) in both grains, away from both boundaries.
    counts = neighbor_list(atoms, 0.5 * (A_CU / math.sqrt(2) + A_CU)).counts()
    z = atoms.positions[:, 2]
    lz = atoms.cell[2, 2]
    away = np.minimum.reduce([z, lz - z, np.abs(z - lz / 2)]) > 5.0
    for g in (0, 1):
        sel = away & (atoms.arrays["grain"] == g)
        assert sel.any() and np.all(counts[sel] == 12)


def test_translation_moves_grain_1_only():
    ref = build((0, 0, 1), 5, (3, 1, 0), min_distance=0.0)
    t = np.array([0.7, 1.1, 0.4])
    moved = build((0, 0, 1), 5, (3, 1, 0), min_distance=0.0, translation=tuple(t))
    assert moved.cell[2, 2] == pytest.approx(ref.cell[2, 2] + 2 * t[2])  # both boundaries open
    g = ref.arrays["grain"]
    assert np.array_equal(g, moved.arrays["grain"])
    assert np.allclose(moved.positions[g == 0], ref.positions[g == 0])
    shift = moved.positions[g == 1] - ref.positions[g == 1] - t
    shift[:, :2] -= np.round(shift[:, :2] / ref.cell.lengths()[:2]) * ref.cell.lengths()[:2]
    assert np.abs(shift).max() < 1e-9
    # Pushed into each other, the closest cross pairs go and none closer than min_distance remain.
    pushed = build((0, 0, 1), 5, (3, 1, 0), translation=(0.0, 0.9, -0.6))
    assert pushed.info["removed_atoms"] > 0
    assert neighbor_list(pushed, pushed.info["min_distance"]).n_pairs == 0
    # pulled apart by a nearest-neighbour distance or more, the grains no longer touch: refused
    # (10 Å made two slabs in vacuum, still labelled Σ5 (310))
    with pytest.raises(BuildParameterError, match=r"z = 10.0 Å opens a gap .* the grains would not touch"):
        build((0, 0, 1), 5, (3, 1, 0), translation=(0.0, 0.0, 10.0))


@pytest.mark.parametrize("crystal,cutoff,coordination", [
    ("Si", 2.6, {14: 4}), ("Ta", 3.1, {73: 8}), ("beta-cristobalite", 1.8, {14: 4, 8: 2}),
])
def test_other_cubic_crystals(crystal, cutoff, coordination):
    atoms = build_bicrystal(BicrystalParams(crystal, sigma=5, plane=(2, 1, 0), bulk_thickness=12.0))
    counts = neighbor_list(atoms, cutoff).counts()
    z = atoms.positions[:, 2]
    lz = atoms.cell[2, 2]
    away = np.minimum.reduce([z, lz - z, np.abs(z - lz / 2)]) > 5.0
    for number, cn in coordination.items():
        sel = away & (atoms.numbers == number)
        assert sel.sum() > 0 and np.all(counts[sel] == cn)
    assert atoms.info["name"] == f"{crystal} Σ5(210)[001] tilt"


def test_info_survives_extxyz_and_progress_reports():
    seen = []
    atoms = build_bicrystal(BicrystalParams(), progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    buf = io.StringIO()
    write(buf, atoms, format="extxyz")
    back = read(io.StringIO(buf.getvalue()), format="extxyz")
    assert back.info["name"] == "Cu Σ5(310)[001] tilt"
    assert back.info["misorientation_deg"] == pytest.approx(36.869898, abs=1e-5)
    assert np.array_equal(back.arrays["grain"], atoms.arrays["grain"])
    with pytest.raises(Cancelled):
        build_bicrystal(BicrystalParams(), cancel=lambda: True)


@pytest.mark.parametrize("kw,parameter,words", [
    (dict(sigma=7), "sigma", ["Σ7 does not exist for axis [001]", "5, 13, 17, 25"]),
    (dict(plane=(1, 0, 0)), "plane", ["(100)", "(310), (210)"]),
    (dict(plane=(1, 1, 1)), "plane", ["does not contain the tilt axis"]),
    (dict(bulk_thickness=-1.0), "bulk_thickness", ["-1.0"]),
    (dict(axis=(1, 2, 3)), "axis", ["(1, 2, 3)"]),
    (dict(crystal="Unobtainium"), "crystal", ["Unobtainium", "Cu"]),
    (dict(crystal="alpha-quartz"), "crystal", ["no cubic cell"]),
    (dict(kind="twist"), "plane", ["(001)"]),
    (dict(kind="mixed"), "kind", ["tilt"]),
    (dict(min_distance=3.0), "min_distance", ["2.556"]),
    (dict(lateral_repeat=(0, 1)), "lateral_repeat", []),
    (dict(bulk_thickness=5000.0, lateral_repeat=(100, 100)), "lateral_repeat", ["atoms"]),
])
def test_bad_parameters_fail_before_any_work(kw, parameter, words):
    calls = []
    params = BicrystalParams(**kw)
    with pytest.raises(BuildParameterError) as err:
        build_bicrystal(params, progress=lambda f, m: calls.append(f), cancel=lambda: calls.append(0))
    assert err.value.parameter == parameter and calls == []
    for word in words:
        assert word in str(err.value)
    with pytest.raises(BuildParameterError) as err:
        csl_boundaries((1, 0, 2))
    assert err.value.parameter == "axis"

"""Rings: exact crystal answers, ring shapes, peers (matscipy, sovapy) and the shared references."""
from collections import Counter

import numpy as np
import pytest

from amorpha.engine.build.crystals import alpha_quartz, beta_cristobalite, unit_cell
from amorpha.engine.order.rings import (LONG_SEARCH_PAIRS, RingParams, _quotient_graph, compute_rings,
                                        shortest_path_pairs, warm_up)
from amorpha.engine.tasks import Cancelled

SI_O = {("Si", "O"): 2.0, ("Si", "Si"): 0, ("O", "O"): 0}
DEFS = ("guttman", "king", "primitive")


def si_rings(atoms, definition, max_size=24, **kw):
    return compute_rings(atoms, RingParams(max_size=max_size, definition=definition, cutoffs=SI_O,
                                           count_element="Si", **kw))


def per_si(atoms, result):
    n_si = np.count_nonzero(atoms.numbers == 14)
    return {size: count / n_si for size, count in result.histogram().items()}


def test_warm_up_runs():
    warm_up()


@pytest.mark.parametrize("definition", DEFS)
def test_beta_cristobalite_only_six_rings(definition):
    atoms = beta_cristobalite((2, 2, 2))
    r = si_rings(atoms, definition)
    assert per_si(atoms, r) == {6: 2.0}
    closed = ~r.wraps
    assert np.allclose(r.roundness[closed], 1.0, atol=5e-5)
    assert np.allclose(r.roughness[closed], 0.1890, atol=5e-5)
    # every Si and every O is in a 6-ring; per atom arrays
    assert np.all(r.ring_min_size == 6)
    assert np.all(r.ring_count[atoms.numbers == 14] == 12)
    assert np.all(r.ring_count[atoms.numbers == 8] == 6)
    d = r.to_dict()
    assert d["histogram"] == {6: 128} and d["P_N"] == {6: 1.0} and d["P_min"] == {6: 1.0}
    assert d["rings_per_node"] == {6: 2.0}


@pytest.mark.parametrize("repeat", [(3, 3, 3), (4, 4, 4)])
def test_alpha_quartz(repeat):
    atoms = alpha_quartz(repeat)
    assert per_si(atoms, si_rings(atoms, "guttman")) == {6: 1.0}
    assert per_si(atoms, si_rings(atoms, "king")) == {6: 1.0, 8: 7.0}
    prim = si_rings(atoms, "primitive")
    assert per_si(atoms, prim) == {6: 1.0, 8: 5.0}
    six = (prim.sizes_counted == 6) & ~prim.wraps
    assert np.allclose(prim.roundness[six], 0.8648, atol=5e-5)
    assert np.allclose(prim.roughness[six], 0.5523, atol=5e-5)
    d = prim.to_dict()
    assert d["P_min"] == {6: 1.0} and d["P_max"] == {8: 1.0}


@pytest.mark.parametrize("definition", DEFS)
def test_alpha_cristobalite(shared_data, definition):
    from amorpha.engine.io import read_structure

    atoms = read_structure(shared_data / "structures/crystals/alpha_cristobalite_332_from_sovapy_cif.extxyz")
    r = si_rings(atoms, definition)
    assert per_si(atoms, r) == {6: 2.0}
    closed = ~r.wraps
    assert np.allclose(r.roundness[closed], 0.8157, atol=5e-5)
    assert np.allclose(r.roughness[closed], 0.2427, atol=5e-5)


def test_rings_are_cycles_with_consistent_images():
    atoms = alpha_quartz((4, 4, 4))  # large enough to be searched as it is
    r = si_rings(atoms, "primitive")
    pos, cell = atoms.positions, atoms.cell.array
    for k in range(r.n_rings):
        xyz = r.ring_positions(atoms, k)
        steps = np.diff(np.vstack([xyz, xyz[:1] + r.net_shift[k] @ cell]), axis=0)
        assert np.all(np.linalg.norm(steps, axis=1) < 2.0)  # each step is a bond
        assert len(set(r.ring(k).tolist())) == r.sizes[k]
    assert r.repeats == (1, 1, 1) and r.wraps.any()  # 4x4x4 quartz has cycles through the boundary: flagged
    assert np.array_equal(r.wraps, np.any(r.net_shift != 0, axis=1))
    with_wrapping = si_rings(atoms, "primitive", include_wrapping=True)
    assert with_wrapping.rings_per_cell.sum() == r.n_rings
    assert pos.shape[0] == len(r.to_arrays()["ring_count"])


QUARTZ = {"guttman": {6: 1.0}, "king": {6: 1.0, 8: 7.0}, "primitive": {6: 1.0, 8: 5.0},
          "strong": {6: 1.0, 8: 5.0}}


@pytest.mark.parametrize("definition", QUARTZ)
def test_a_cell_too_small_for_its_rings_is_searched_as_a_supercell(definition):
    """α-quartz's 9-atom cell, its 2×2×2 and α-cristobalite's 12-atom cell: an 8-ring passes two
    images of one atom, which no cycle of the cell's atoms can be (the unit cell gave no ring,
    2×2×2 quartz one 8-ring per Si for five, with no word). Searched in a supercell and folded
    back, each gives the crystal's exact counts (shared/data/README.md's table), the shapes of
    the large cells, and no cycle through a boundary the supercell made."""
    for repeat in ((1, 1, 1), (2, 2, 2)):
        atoms = alpha_quartz(repeat)
        r = si_rings(atoms, definition)
        assert r.repeats != (1, 1, 1) and per_si(atoms, r) == QUARTZ[definition], repeat
        assert not r.wraps.any() and r.to_dict()["searched_in_supercell"] == list(r.repeats)
        six = r.sizes_counted == 6
        assert np.allclose(r.roundness[six], 0.8648, atol=5e-5) and np.allclose(r.roughness[six], 0.5523, atol=5e-5)
        for k in range(r.n_rings):  # each ring, unwrapped in the small cell, is a closed loop of bonds
            xyz = r.ring_positions(atoms, k)
            assert np.all(np.linalg.norm(np.diff(np.vstack([xyz, xyz[:1]]), axis=0), axis=1) < 2.0)
    cristobalite = unit_cell("alpha-cristobalite")
    assert per_si(cristobalite, si_rings(cristobalite, definition)) == {6: 2.0}
    eight = si_rings(alpha_quartz(), definition)
    if 8 in QUARTZ[definition]:  # in the 9-atom cell an 8-ring (16 atoms) passes some atom twice
        assert any(len(set(eight.ring(k).tolist())) < eight.sizes[k] for k in range(eight.n_rings))


def test_the_ring_table_lists_every_ring_with_its_atoms(tmp_path):
    """The Rings panel's Export rings…: one row per ring, the atoms in order round it."""
    import csv

    from amorpha.engine.order.rings import write_ring_table

    atoms = alpha_quartz((4, 4, 4))
    r = si_rings(atoms, "primitive")
    write_ring_table(r, path := tmp_path / "rings.csv")
    rows = list(csv.reader(line for line in path.read_text().splitlines() if not line.startswith("#")))
    assert rows[0] == ["ring", "size", "size_counted", "wraps", "roundness", "roughness", "atoms"]
    assert len(rows) == r.n_rings + 1
    k = int(np.flatnonzero(r.sizes_counted == 6)[0])
    assert [int(a) for a in rows[k + 1][6].split()] == r.ring(k).tolist()
    assert float(rows[k + 1][4]) == pytest.approx(0.8648, abs=5e-5) and rows[k + 1][3] == "0"


def test_a_large_cell_is_searched_as_it_is_and_diamond_has_two_six_rings_per_atom():
    """The sovapy-sized glass (20 bonds to an image) and 4×4×4 quartz need no supercell at 24
    atoms; diamond Si's 8-atom cell does, and every atom lies in 12 six-rings (2 per atom)."""
    from amorpha.engine.order.rings import ring_repeats

    assert ring_repeats(alpha_quartz((4, 4, 4)), SI_O, 24) == (1, 1, 1)
    assert ring_repeats(alpha_quartz((4, 4, 4)), SI_O, 40) != (1, 1, 1)  # 16 bonds round: 40 needs more
    diamond = unit_cell("Si")
    r = compute_rings(diamond, RingParams(max_size=12, definition="primitive"))
    assert r.histogram() == {6: 16} and np.all(r.ring_count == 12)


def test_cancel_after_first_chunk_and_progress():
    atoms = alpha_quartz((4, 4, 4))
    seen = []

    def progress(fraction, message=""):
        seen.append((fraction, message))

    def cancel():
        return any("rings" in m for _, m in seen)

    with pytest.raises(Cancelled):
        compute_rings(atoms, RingParams(definition="primitive", cutoffs=SI_O), progress=progress,
                      cancel=cancel)
    assert max(f for f, _ in seen) < 1.0
    seen.clear()
    compute_rings(atoms, RingParams(definition="primitive", cutoffs=SI_O), progress=progress)
    fractions = [f for f, _ in seen]
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)


@pytest.mark.parametrize("definition", ["primitive", "strong"])
def test_cancel_reaches_inside_a_search_of_a_close_packed_metal(definition):
    """fcc Cu, 12 neighbours, rings up to 20 atoms: one chunk of sources runs for minutes, so the
    kernels themselves must see the cancel (StopFlag), within half a second. (20, not 24: the
    6×6×6 cell is 12 bonds round, too small for 24-atom rings, which would search a 2×2×2
    supercell of it.)"""
    import threading
    import time

    from ase.build import bulk

    from amorpha.engine.tasks import CancelToken

    token = CancelToken()
    timer = threading.Timer(0.5, token.set)
    timer.start()
    start = time.monotonic()
    said = []
    with pytest.raises(Cancelled):
        compute_rings(bulk("Cu", "fcc", 3.61, cubic=True).repeat(6),
                      RingParams(definition=definition, max_size=20), cancel=token,
                      progress=lambda f, m="": said.append(m))
    assert time.monotonic() - start < 1.0
    assert any("a long search, ~10¹¹ pairs of shortest paths" in m for m in said), said  # said up front


def test_shortest_path_pairs_count_exactly_on_a_cycle_and_stay_small_in_a_network():
    """On an 8-cycle every atom has two atoms at 1, 2 and 3 bonds (one shortest path each) and
    one opposite at 4 (two paths): 6·1² + 2² = 10 per atom, 80 in all."""
    n = 8
    indices = np.array([[(i - 1) % n, (i + 1) % n] for i in range(n)]).ravel()
    indices = np.sort(indices.reshape(n, 2), axis=1).ravel()
    indptr = np.arange(0, 2 * n + 1, 2)
    assert shortest_path_pairs(indptr, indices, 8) == 80.0
    assert shortest_path_pairs(indptr, indices, 6) == 48.0  # up to 3 bonds: 6 per atom
    quartz = alpha_quartz((4, 4, 4))
    from amorpha.engine.bonds import bonds
    ip, ix, _ = _quotient_graph(bonds(quartz, SI_O))
    assert shortest_path_pairs(ip, ix, 24) < 1e-3 * LONG_SEARCH_PAIRS


def test_params_are_checked():
    with pytest.raises(ValueError):
        RingParams(definition="franzblau")
    with pytest.raises(ValueError):
        RingParams(definition="primitive", max_size=None)


# --------------------------------------------------------------------------- peers and shared data


def test_primitive_equals_matscipy_on_aC(shared_data):
    """matscipy's own assertion for aC.cfg (cutoff 1.85 A, maxlength 16), and matscipy itself."""
    from amorpha.engine.io import read_structure

    atoms = read_structure(shared_data / "structures/matscipy/aC.cfg")
    r = compute_rings(atoms, RingParams(definition="primitive", max_size=15, cutoffs={("C", "C"): 1.85}))
    ours = np.bincount(r.sizes[~r.wraps], minlength=14)
    assert ours.tolist() == [0, 0, 0, 0, 4, 813, 2678, 1917, 693, 412, 209, 89, 21, 3]
    matscipy_rings = pytest.importorskip("matscipy.rings")
    theirs = np.asarray(matscipy_rings.ring_statistics(atoms, 1.85, 16))
    assert ours.tolist() == theirs.tolist()


def _parse(text):
    return {int(a): int(b) for a, b in (item.split(":") for item in text.split())}


# shared/data/README.md: ring size = number of Si, Si-O cutoff 2.0 A, closed rings only
REFERENCE = {
    "1e11K": ("3:2 4:47 5:106 6:141 7:28 8:4",
              "3:2 4:47 5:107 6:179 7:217 8:238 9:81 10:3",
              "3:2 4:47 5:106 6:150 7:119 8:95 9:59 10:27 11:8 12:7"),
    "1e12K": ("3:3 4:39 5:97 6:136 7:48",
              "3:3 4:39 5:97 6:171 7:204 8:186 9:88 10:17",
              "3:3 4:39 5:97 6:145 7:123 8:76 9:73 10:19 11:13 12:1 13:2"),
    "1e13K": ("3:3 4:36 5:87 6:79 7:62 8:23",
              "3:3 4:36 5:91 6:112 7:160 8:200 9:107 10:70 11:18",
              "3:3 4:36 5:88 6:81 7:97 8:81 9:68 10:48 11:34 12:6 13:5 14:2"),
    "1e14K": ("3:7 4:32 5:48 6:51 7:42 8:26 9:18 10:3 11:4",
              "3:7 4:32 5:51 6:70 7:88 8:107 9:152 10:76 11:77 12:11 13:18",
              "3:7 4:32 5:49 6:53 7:50 8:43 9:44 10:23 11:48 12:10 13:26 14:5 15:7"),
}


@pytest.mark.parametrize("model", sorted(REFERENCE))
def test_a_sio2_reference_counts(shared_data, model):
    """Guttman and King as sovapy (no size limit); primitive up to 15 Si (30 atoms): the reference
    reaches 15-Si rings, so it was not cut at 24 atoms; up to 24 atoms it is the same below 13 Si."""
    from amorpha.engine.io import read_structure

    atoms = read_structure(shared_data / f"structures/sovapy/a_SiO2_speed{model}.xyz")
    guttman, king, primitive = (_parse(t) for t in REFERENCE[model])
    assert si_rings(atoms, "guttman", max_size=None).histogram() == guttman
    assert si_rings(atoms, "king", max_size=None).histogram() == king
    assert si_rings(atoms, "primitive", max_size=30).histogram() == primitive
    upto24 = si_rings(atoms, "primitive", max_size=24).histogram()
    assert upto24 == {n: c for n, c in primitive.items() if n <= 12}


def test_sio_cfg_has_one_two_membered_ring(shared_data):
    from amorpha.engine.io import read_structure

    atoms = read_structure(shared_data / "structures/sovapy/sio.cfg", symbols=["Si", "O"])
    for definition in DEFS:
        r = si_rings(atoms, definition)
        assert r.histogram()[2] == 1
    two = r.ring(int(np.flatnonzero(r.sizes_counted == 2)[0]))
    assert sorted(Counter(atoms.get_chemical_symbols()[a] for a in two).values()) == [2, 2]


def _sovapy_rings(path, ring_type):
    sovapy_file = pytest.importorskip("sovapy.core.file")
    from sovapy.computation.rings import RINGs

    atoms = sovapy_file.File.open(str(path)).get_atoms()
    atoms.set_bond_lengths({("Si", "O"): 2.0, ("Si", "Si"): -1.0, ("O", "O"): -1.0})
    rings = RINGs(atoms).calculate(ring_type=getattr(RINGs.RingType, ring_type.upper()),
                                   pair_atom_symbols=[["Si", "O"]])
    return {tuple(r.indexes) for r in rings if r.closed}


@pytest.mark.parametrize("definition", ["guttman", "king"])
def test_guttman_king_ring_sets_equal_sovapy(shared_data, definition, capsys):
    """The same rings, atom by atom (sovapy reads the same file; its atom order is the file's)."""
    from amorpha.engine.io import read_structure

    path = shared_data / "structures/sovapy/a_SiO2_speed1e14K.xyz"
    theirs = _sovapy_rings(path, definition)
    r = si_rings(read_structure(path), definition, max_size=None)
    ours = {tuple(r.ring(k).tolist()) for k in range(r.n_rings) if not r.wraps[k]}
    assert ours == theirs


# --------------------------------------------------------------------------- strong rings


def _closed_cycles(atoms, cutoffs, max_len):
    """Brute force, independent of our search: every simple cycle of the quotient bond graph up
    to ``max_len`` nodes (networkx), kept when its bond shifts add up to zero, as
    {length: [(edge bitmask as int, canonical atom tuple)]}."""
    nx = pytest.importorskip("networkx")
    from amorpha.engine.bonds import bonds

    nl = bonds(atoms, cutoffs)
    i, j = nl.pairs()
    graph, edge = nx.Graph(), {}
    for a, b, s in zip(i.tolist(), j.tolist(), nl.shifts.tolist()):
        if a < b and not graph.has_edge(a, b):
            graph.add_edge(a, b, shift=np.array(s), bit=1 << len(edge))
            edge[a, b] = True
    cycles = {}
    for c in nx.simple_cycles(graph, length_bound=max_len):
        if len(c) < 3:
            continue
        net, bits = np.zeros(3, int), 0
        for a, b in zip(c, c[1:] + c[:1]):
            data = graph.edges[a, b]
            net += data["shift"] if a < b else -data["shift"]
            bits ^= data["bit"]
        if not net.any():
            k = int(np.argmin(c))
            ring = c[k:] + c[:k]
            if ring[1] > ring[-1]:
                ring = ring[:1] + ring[1:][::-1]
            cycles.setdefault(len(c), []).append((bits, tuple(ring)))
    return cycles


def _brute_strong(cycles):
    """Cycles that are not a GF(2) sum of strictly shorter closed cycles (Python-int bitsets)."""
    basis, strong = {}, set()

    def residue(v):
        while v and (v.bit_length() - 1) in basis:
            v ^= basis[v.bit_length() - 1]
        return v

    for n in sorted(cycles):
        strong |= {ring for bits, ring in cycles[n] if residue(bits)}
        for bits, _ in cycles[n]:
            v = residue(bits)
            if v:
                basis[v.bit_length() - 1] = v
    return strong


def _closed_ring_set(result):
    return {tuple(result.ring(k).tolist()) for k in range(result.n_rings) if not result.wraps[k]}


def test_strong_rings_of_the_simple_cubic_net_are_its_squares():
    """In the simple cubic net the chair hexagons of each cube are primitive (no shortcut) but
    each is the sum of three squares: strong rings are the 3 squares per site only."""
    from ase.build import bulk

    atoms = bulk("Po", "sc", a=2.0).repeat((4, 4, 4))
    cut = {("Po", "Po"): 2.1}
    prim = compute_rings(atoms, RingParams(max_size=6, definition="primitive", cutoffs=cut))
    strong = compute_rings(atoms, RingParams(max_size=6, definition="strong", cutoffs=cut))
    assert prim.histogram() == {4: 3 * 64, 6: 4 * 64}
    assert strong.histogram() == {4: 3 * 64}
    assert _closed_ring_set(strong) == _brute_strong(_closed_cycles(atoms, cut, 6))


def test_strong_rings_of_silica_crystals():
    """beta-cristobalite: 2 six-rings per Si; alpha-quartz: 1 six-ring and 5 eight-rings per Si
    (every primitive ring of both is strong), the same rings as a brute force over all cycles."""
    atoms = beta_cristobalite((2, 2, 2))
    assert per_si(atoms, si_rings(atoms, "strong")) == {6: 2.0}
    atoms = alpha_quartz((3, 3, 3))
    strong = si_rings(atoms, "strong")
    assert per_si(atoms, strong) == {6: 1.0, 8: 5.0}
    assert _closed_ring_set(strong) == _closed_ring_set(si_rings(atoms, "primitive"))
    assert _closed_ring_set(strong) == _brute_strong(_closed_cycles(atoms, SI_O, 16))


def test_strong_rings_alpha_cristobalite(shared_data):
    from amorpha.engine.io import read_structure

    atoms = read_structure(shared_data / "structures/crystals/alpha_cristobalite_332_from_sovapy_cif.extxyz")
    assert per_si(atoms, si_rings(atoms, "strong")) == {6: 2.0}


def test_strong_rings_a_sio2_equal_brute_force(shared_data):
    """On a glass strong rings are fewer than primitive ones (large rings are sums of small ones);
    up to 16 atoms they are exactly the brute-force set, and always a subset of the primitive."""
    from amorpha.engine.io import read_structure

    atoms = read_structure(shared_data / "structures/sovapy/a_SiO2_speed1e14K.xyz")
    strong = compute_rings(atoms, RingParams(max_size=16, definition="strong", cutoffs=SI_O))
    assert _closed_ring_set(strong) == _brute_strong(_closed_cycles(atoms, SI_O, 16))
    strong24, prim24 = si_rings(atoms, "strong"), si_rings(atoms, "primitive")
    assert _closed_ring_set(strong24) < _closed_ring_set(prim24)
    assert sum(strong24.histogram().values()) < sum(prim24.histogram().values())


def test_strong_rings_refuse_a_cycle_space_too_large(monkeypatch):
    from amorpha.engine.errors import ParameterError
    from amorpha.engine.order import rings

    monkeypatch.setattr(rings, "STRONG_BASIS_LIMIT", 100)
    with pytest.raises(ParameterError, match="strong rings"):
        si_rings(alpha_quartz((3, 3, 3)), "strong")


def test_the_simple_graph_keeps_each_neighbour_once_with_its_first_image():
    """ring_kernels.simple_rows against the np.unique construction it replaced (2 s for 10⁶ fcc
    atoms, no Cancel): a bcc cell of 2 atoms bonds each to the other through 8 images, and a
    glass's rows come out sorted and equal."""
    from ase.build import bulk

    from amorpha.engine.bonds import bonds
    from amorpha.engine.examples import load_example

    def by_unique(nl):
        i, j = nl.pairs()
        keep = i != j
        _, first = np.unique(i[keep] * nl.n_atoms + j[keep], return_index=True)
        idx = np.flatnonzero(keep)[first]
        indptr = np.zeros(nl.n_atoms + 1, np.int64)
        np.cumsum(np.bincount(i[idx], minlength=nl.n_atoms), out=indptr[1:])
        return indptr, j[idx], nl.shifts[idx]

    bcc = bonds(bulk("Fe", "bcc", 2.87, cubic=True), {("Fe", "Fe"): 2.6})
    assert len(bcc.indices) == 16
    indptr, indices, shifts = _quotient_graph(bcc)
    assert indptr.tolist() == [0, 1, 2] and indices.tolist() == [1, 0]
    assert np.array_equal(shifts, bcc.shifts[[0, 8]])  # the first image listed
    for nl in (bcc, bonds(load_example("a-SiO2"))):
        for ours, theirs in zip(_quotient_graph(nl), by_unique(nl)):
            assert np.array_equal(ours, theirs)


def test_the_bond_graph_in_chunks_and_a_wider_neighbour_list(monkeypatch):
    """The bond graph is built in chunks of atoms (Cancel seen between them): chunks of 7 atoms
    join up to the graph built whole; a neighbour list reaching 4 Å gives the rings of the bonds."""
    from amorpha.engine.bonds import bonds
    from amorpha.engine.neighbors import neighbor_list
    from amorpha.engine.order import rings

    atoms = alpha_quartz((3, 3, 3))
    bonded = bonds(atoms, SI_O)
    whole = _quotient_graph(bonded)
    monkeypatch.setattr(rings, "GRAPH_CHUNK", 7)
    assert all(np.array_equal(a, b) for a, b in zip(_quotient_graph(bonded), whole))
    wide = neighbor_list(atoms, 4.0)
    for definition in ("king", "primitive"):
        params = RingParams(max_size=16, definition=definition, cutoffs=SI_O, count_element="Si")
        ours, theirs = compute_rings(atoms, params, neighbors=wide), compute_rings(atoms, params)
        assert ours.n_rings > 0 and ours.to_dict() == theirs.to_dict()


def test_ring_shapes_are_batched_and_cancel_reaches_them(monkeypatch):
    """The shapes of 4·10⁵ rings (10⁶ atoms) took ~5 s after the search with no look at Cancel:
    batched, the same values in batches of 7 rings as in one, and a cancel stops between."""
    from amorpha.engine.order import rings as R
    from amorpha.engine.tasks import Cancelled

    atoms = alpha_quartz((3, 3, 3))
    result = compute_rings(atoms, RingParams(max_size=16))
    assert len(result.sizes) > 4 * 7
    args = (np.asarray(atoms.positions), np.asarray(atoms.cell.array), result.atoms, result.images,
            result.sizes, result.indptr[:-1])
    whole = R.ring_principal_axes(*args)
    monkeypatch.setattr(R, "SHAPE_CHUNK", 7)
    for a, b in zip(whole, R.ring_principal_axes(*args)):
        assert np.array_equal(a, b)
    looks = []
    with pytest.raises(Cancelled):
        R.ring_principal_axes(*args, cancel=lambda: looks.append(1) or len(looks) > 3)

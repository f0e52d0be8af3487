"""Per-site descriptors: SOAP and ACSF equal to DScribe's, local features against known crystals."""
import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.descriptors import (
    AcsfParams,
    LocalFeatureParams,
    SoapParams,
    compute,
    compute_acsf,
    compute_soap,
    feature_names,
    local_features,
    params_from_dict,
)
from amorpha.engine.errors import ParameterError
from amorpha.engine.examples import load_example
from amorpha.engine.io import read_structure
from amorpha.engine.tasks import Cancelled

SOAP_SETTINGS = dict(r_cut=5.0, n_max=8, l_max=6, sigma=1.0)
ACSF_SETTINGS = dict(
    r_cut=6.0,
    g2_params=[[1.0, 1.0], [0.5, 2.0], [1.0, 3.0]],
    g3_params=[1.0, 2.0],
    g4_params=[[0.05, 1.0, 1.0], [0.05, 2.0, 1.0], [0.01, 1.0, -1.0], [0.02, 1.5, 1.0]],
    g5_params=[[0.05, 2.0, -1.0], [0.01, 1.0, 1.0]],
)


def assert_same(ours, theirs):
    """1e-6 relative, with an absolute floor of 1e-6 of the largest entry for near-zero ones."""
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6 * np.abs(theirs).max())


def dscribe_soap(atoms, species, periodic, centers=None, **settings):
    from dscribe.descriptors import SOAP

    s = dict(SOAP_SETTINGS, **settings)
    desc = SOAP(species=list(species), rbf="gto", periodic=periodic, average="off", sparse=False,
                **s)
    return desc.create(atoms, centers=centers)


def dscribe_acsf(atoms, species, periodic, centers=None, **settings):
    from dscribe.descriptors import ACSF

    s = dict(ACSF_SETTINGS, **settings)
    return ACSF(species=list(species), periodic=periodic, **s).create(atoms, centers=centers)


def check_soap(atoms, species, periodic, centers=None, **settings):
    theirs = dscribe_soap(atoms, species, periodic, centers, **settings)
    params = SoapParams(tuple(species), periodic=periodic, **dict(SOAP_SETTINGS, **settings))
    ours = compute_soap(atoms, params, centers=centers)
    assert_same(ours, theirs)
    return ours


def check_acsf(atoms, species, periodic, centers=None, **settings):
    theirs = dscribe_acsf(atoms, species, periodic, centers, **settings)
    params = AcsfParams(tuple(species), periodic=periodic, **dict(ACSF_SETTINGS, **settings))
    ours = compute_acsf(atoms, params, centers=centers)
    assert_same(ours, theirs)
    return ours


@pytest.fixture(scope="module")
def a_sio2():
    return load_example("a-SiO2")  # 3000 atoms, periodic cube


@pytest.fixture(scope="module")
def quartz():
    atoms = alpha_quartz((2, 2, 2))  # hexagonal cell: triclinic to the search
    atoms.rattle(0.05, seed=3)
    atoms.wrap()
    return atoms


def skewed_cell():
    """A small, strongly sheared cell: the cutoff spans several cells (atoms see own images)."""
    rng = np.random.default_rng(7)
    cell = np.array([[4.2, 0.0, 0.0], [2.9, 3.8, 0.0], [-1.7, 1.1, 4.4]])
    atoms = Atoms("Si3O6", scaled_positions=rng.random((9, 3)), cell=cell, pbc=True)
    atoms.wrap()
    return atoms


# --------------------------------------------------------------------------- SOAP vs DScribe


def test_soap_matches_dscribe_on_amorphous_silica(a_sio2):
    pytest.importorskip("dscribe")
    centers = list(range(0, len(a_sio2), 23))
    check_soap(a_sio2, ("Si", "O"), True, centers)


def test_soap_matches_dscribe_on_shared_sovapy_model(shared_data):
    pytest.importorskip("dscribe")
    atoms = read_structure(shared_data / "structures/sovapy/a_SiO2_speed1e11K.xyz")
    check_soap(atoms, ("O", "Si"), True)


def test_soap_matches_dscribe_on_triclinic_cells(quartz):
    pytest.importorskip("dscribe")
    check_soap(quartz, ("Si", "O"), True)
    check_soap(skewed_cell(), ("Si", "O"), True)
    # other settings: short cutoff, sharp Gaussians, high l, an element absent from the structure
    check_soap(quartz, ("H", "O", "Si"), True, [0, 5, 30], r_cut=3.5, n_max=3, l_max=9, sigma=0.4)


def test_soap_matches_dscribe_on_a_molecule():
    pytest.importorskip("dscribe")
    mol = molecule("CH3CH2OH")
    check_soap(mol, ("H", "C", "O"), False)
    mol.cell = [6.0, 6.0, 6.0]
    mol.pbc = True  # periodic=False ignores the cell
    check_soap(mol, ("O", "C", "H"), False, [0, 2], n_max=4, l_max=3, sigma=0.6)


def test_soap_feature_names_follow_dscribe_layout():
    pytest.importorskip("dscribe")
    from dscribe.descriptors import SOAP

    params = SoapParams(("O", "Si", "H"), n_max=3, l_max=2)
    names = feature_names(params)
    assert len(names) == params.n_features
    peer = SOAP(species=["O", "Si", "H"], r_cut=5.0, n_max=3, l_max=2, rbf="gto")
    assert peer.get_number_of_features() == params.n_features
    for pair in (("H", "H"), ("H", "O"), ("O", "Si"), ("Si", "Si")):
        block = names[peer.get_location(pair)]
        assert {n.split()[0] for n in block} == {"-".join(pair)}


def test_soap_is_rotation_invariant():
    mol = molecule("CH3CH2OH")
    params = SoapParams(("H", "C", "O"), periodic=False)
    before = compute_soap(mol, params)
    turned = mol.copy()
    turned.rotate(37, (1, 2, 3), center="COM")
    turned.rotate(-71, "x")
    after = compute_soap(turned, params)
    np.testing.assert_allclose(after, before, rtol=1e-9, atol=1e-12 * np.abs(before).max())


# --------------------------------------------------------------------------- ACSF vs DScribe


def test_acsf_matches_dscribe_on_amorphous_silica(a_sio2):
    pytest.importorskip("dscribe")
    check_acsf(a_sio2, ("Si", "O"), True, list(range(0, len(a_sio2), 7)))


def test_acsf_matches_dscribe_on_triclinic_cells(quartz):
    pytest.importorskip("dscribe")
    check_acsf(quartz, ("O", "Si"), True)
    check_acsf(skewed_cell(), ("Si", "O"), True, r_cut=5.0)
    check_acsf(quartz, ("Si", "O"), True, g4_params=None, g5_params=None)  # G1–G3 only


def test_acsf_matches_dscribe_on_a_molecule():
    pytest.importorskip("dscribe")
    check_acsf(molecule("CH3CH2OH"), ("H", "C", "O"), False)


def test_acsf_is_rotation_invariant():
    mol = molecule("CH3CH2OH")
    params = AcsfParams(("H", "C", "O"), periodic=False, **ACSF_SETTINGS)
    before = compute_acsf(mol, params)
    turned = mol.copy()
    turned.rotate(123, (0.3, -1, 2), center="COM")
    np.testing.assert_allclose(compute_acsf(turned, params), before, rtol=1e-10, atol=1e-13)
    assert len(feature_names(params)) == params.n_features == before.shape[1]


# --------------------------------------------------------------------------- local features


def test_local_features_of_alpha_quartz():
    atoms = alpha_quartz((3, 3, 3))
    params = LocalFeatureParams(rings=True, ring_max_size=16)
    names = feature_names(params, atoms)
    f = dict(zip(names, local_features(atoms, params).T))
    si = atoms.numbers == 14
    assert names[:3] == ["coordination", "coordination[O]", "coordination[Si]"]
    np.testing.assert_array_equal(f["coordination"][si], 4)
    np.testing.assert_array_equal(f["coordination[O]"][si], 4)
    np.testing.assert_array_equal(f["coordination"][~si], 2)
    np.testing.assert_array_equal(f["coordination[Si]"][~si], 2)
    # two Si–O lengths, 1.605 and 1.614 Å in quartz, two of each at every Si
    assert f["bond length mean (Å)"][si] == pytest.approx(1.609, abs=0.002)
    assert f["bond length std (Å)"][si] == pytest.approx(0.0047, abs=0.001)
    assert f["bond angle mean (deg)"][si] == pytest.approx(109.47, abs=0.05)  # O–Si–O
    assert f["bond angle mean (deg)"][~si] == pytest.approx(143.7, abs=0.3)  # Si–O–Si
    assert np.all(f["bond angle std (deg)"][~si] == 0)
    np.testing.assert_array_equal(f["smallest ring (atoms)"], 12)  # 6 Si + 6 O


def test_local_features_centres_elements_and_rotation(a_sio2):
    cutoffs = {("Si", "O"): 2.0, ("Si", "Si"): 0, ("O", "O"): 0}
    params = LocalFeatureParams(elements=("O", "Si", "Ge"), cutoffs=cutoffs)
    centres = np.arange(0, len(a_sio2), 5)
    f = local_features(a_sio2, params, centers=centres)
    names = feature_names(params)  # fixed elements: no structure needed
    assert names[1:4] == ["coordination[O]", "coordination[Si]", "coordination[Ge]"]
    assert f.shape == (len(centres), len(names))
    si = a_sio2.numbers[centres] == 14
    assert np.mean(f[si, 0] == 4) > 0.95
    np.testing.assert_array_equal(f[:, 0], f[:, 1:4].sum(axis=1))
    mol = molecule("CH3CH2OH")
    p = LocalFeatureParams(periodic=False)
    turned = mol.copy()
    turned.rotate(50, (1, 1, 0))
    np.testing.assert_allclose(local_features(turned, p), local_features(mol, p), atol=1e-9)


# --------------------------------------------------------------------------- one entry point


def test_compute_dispatch_and_round_trip(quartz):
    for params in (
        SoapParams(["Si", "O"], n_max=2, l_max=2),
        AcsfParams(("Si", "O"), g2_params=[(1.0, 2.0)], g4_params=[(0.1, 1, -1)]),
        LocalFeatureParams(cutoffs={("O", "Si"): 2.0}, elements=("Si", "O")),
    ):
        d = params.to_dict()
        assert d["kind"] in ("soap", "acsf", "local")
        back = params_from_dict(d)
        assert back == params and hash(back) == hash(params)
        out = compute(quartz, params, centers=[1, 2])
        assert out.shape == (2, len(feature_names(params, quartz)))
    with pytest.raises(ParameterError) as err:
        params_from_dict({"kind": "mbtr"})
    assert err.value.parameter == "kind"


# ------------------------------------------------------------------ errors, progress, cancel


@pytest.mark.parametrize("params, parameter", [
    (SoapParams(("Si", "O"), n_max=0), "n_max"),
    (SoapParams(("Si", "O"), l_max=-1), "l_max"),
    (SoapParams(("Si", "O"), r_cut=0.0), "r_cut"),
    (SoapParams(("Si", "O"), sigma=-1.0), "sigma"),
    (SoapParams(("Si", "O"), sigma=1e300), "sigma"),  # was an OverflowError in the radial basis
    (SoapParams(()), "species"),
    (SoapParams(("Si", "Si", "O")), "species"),
    (SoapParams(("Si", "Xx")), "species"),
    (SoapParams(("Si",)), "species"),  # the structure has O too
    (AcsfParams(("Si", "O"), r_cut=-2.0), "r_cut"),
    (AcsfParams(("Si", "O"), g2_params=[(1.0,)]), "g2_params"),
    (AcsfParams(("Si", "O"), g4_params=[(1.0, 1.0, 2.0)]), "g4_params"),
    (AcsfParams(("Si", "O"), g5_params=[(-1.0, 1.0, 1.0)]), "g5_params"),
    (LocalFeatureParams(ring_definition="strong"), "ring_definition"),
    (LocalFeatureParams(cutoffs={("Si", "O"): -1.0}), "cutoffs"),
    (LocalFeatureParams(elements=("Si", "Qq")), "elements"),
    (LocalFeatureParams(rings=True, ring_count_element="Xx"), "ring_count_element"),
    (LocalFeatureParams(ring_max_size=2), "ring_max_size"),
])
def test_bad_parameters_name_the_parameter(quartz, params, parameter):
    with pytest.raises(ParameterError) as err:
        compute(quartz, params)
    assert err.value.parameter == parameter
    assert parameter in str(err.value)


def test_bad_centres_and_missing_element(quartz):
    with pytest.raises(ParameterError) as err:
        compute_soap(quartz, SoapParams(("Si", "O")), centers=[0, len(quartz)])
    assert err.value.parameter == "centers"
    with pytest.raises(ParameterError, match="contains O"):
        compute_acsf(quartz, AcsfParams(("Si", "H")))


@pytest.mark.parametrize("params", [
    SoapParams(("Si", "O")),
    AcsfParams(("Si", "O"), **ACSF_SETTINGS),
    LocalFeatureParams(rings=True),
])
def test_progress_and_cancel(a_sio2, params):
    seen = []
    compute(a_sio2, params, centers=np.arange(600), progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(b >= a for a, b in zip(seen, seen[1:]))
    state = {"stop": False, "after": None}

    def progress(fraction, message):
        if fraction > 0.2 and not state["stop"]:  # past the neighbour search: cancel in the rows
            state["stop"], state["after"] = True, fraction

    with pytest.raises(Cancelled):
        compute(a_sio2, params, progress=progress, cancel=lambda: state["stop"])
    assert state["after"] < 1.0

"""Training from a folder of site spectra chooses its SOAP settings by cross-validation."""
import numpy as np
import pytest
from ase import Atoms

from amorpha.engine.descriptors import SoapParams
from amorpha.engine.spectra import Spectrum
from amorpha.engine.spectra.folders import SiteRecord, SpectrumFolder
from amorpha.engine.surrogate.model import SurrogateParams
from amorpha.engine.surrogate.pipeline import FOLDER_CANDIDATES, train_from_folder

ENERGY = np.linspace(2460.0, 2500.0, 81)


def far_neighbour_folder(n: int = 30) -> SpectrumFolder:
    """S–O molecules whose spectrum is set by an H 3.7-4.7 Å from S: a 3 Å SOAP sees it only
    through the tails of its atom Gaussians (the search reaches a few σ past the cutoff)."""
    rng = np.random.default_rng(4)
    records = []
    for k, d in enumerate(rng.uniform(3.7, 4.7, n)):
        atoms = Atoms("SOH", positions=[[0, 0, 0], [1.5, 0, 0], [-0.3, d, 0.2]])
        centre = 2470.0 + 8.0 * (d - 3.7)
        spectrum = Spectrum(ENERGY, np.exp(-0.5 * ((ENERGY - centre) / 1.5) ** 2), element="S", edge="K")
        records.append(SiteRecord(atoms, 0, spectrum, name=f"m{k}"))
    return SpectrumFolder("synthetic", "pairs", records)


def test_the_cutoff_that_sees_what_sets_the_spectrum_is_chosen():
    model = train_from_folder(far_neighbour_folder(), params=SurrogateParams(regressor="kernel_ridge"))
    scores = model.metrics["descriptor_cv"]
    assert len(scores) == len(FOLDER_CANDIDATES)
    best = max(scores, key=scores.get)
    assert best == f"r_cut {model.descriptor['r_cut']:g} Å, σ {model.descriptor['sigma']:g} Å"
    assert model.descriptor["r_cut"] >= 4.0 and model.descriptor["periodic"] is False
    assert min(scores, key=scores.get) == "r_cut 3 Å, σ 0.3 Å"  # sees least of the H
    assert scores[best] - min(scores.values()) > 0.1, scores
    assert "chose the descriptor" in model.metrics["measured_on"]


def test_given_settings_are_used_as_they_are():
    soap = SoapParams(species=("H", "O", "S"), r_cut=4.5, n_max=4, l_max=3, sigma=0.4, periodic=False)
    model = train_from_folder(far_neighbour_folder(12), soap, SurrogateParams(regressor="ridge"))
    assert model.descriptor == soap.to_dict() and "descriptor_cv" not in model.metrics
    assert model.metrics["measured_on"] == "5-fold cross-validation"


def test_the_choice_can_be_cancelled():
    from amorpha.engine.tasks import Cancelled

    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 40

    with pytest.raises(Cancelled):
        train_from_folder(far_neighbour_folder(), cancel=cancel)


def test_sites_of_one_structure_are_never_predicted_from_each_other():
    """Four sites per crystal, alike within it: random folds predict each from its twins; folds
    of whole structures have to reach across crystals, as a new crystal would."""
    from amorpha.engine.errors import ParameterError
    from amorpha.engine.spectra import SiteSpectra
    from amorpha.engine.surrogate.model import cross_validate
    from amorpha.engine.surrogate.pipeline import folder_folds

    rng = np.random.default_rng(2)
    structures = np.repeat(np.arange(6), 4)
    x = rng.normal(size=(6, 5))[structures] + 1e-3 * rng.normal(size=(24, 5))
    centres = rng.uniform(2465.0, 2495.0, 6)[structures]
    y = SiteSpectra(ENERGY, np.exp(-0.5 * ((ENERGY[None, :] - centres[:, None]) / 1.5) ** 2),
                    np.arange(24), "S", "K", "test", structures=structures)
    assert folder_folds(y) == {"folds": 5, "by_structure": True}
    params = SurrogateParams(regressor="kernel_ridge")
    by_site = cross_validate(x, y, params, folds=4)
    by_structure = cross_validate(x, y, params, folds=4, by_structure=True)
    assert by_site["cosine_mean"] > 0.99 and by_structure["cosine_mean"] < 0.5, (by_site, by_structure)
    with pytest.raises(ParameterError, match="number of structures"):
        cross_validate(x, y, params, folds=7, by_structure=True)
    one_each = SiteSpectra(ENERGY, y.intensity[:5], np.arange(5), "S", "K", "test",
                           structures=np.arange(5))
    assert folder_folds(one_each) == {"folds": 5, "by_structure": False}


def test_too_few_sites_for_cross_validation_say_so(tmp_path):
    """Three CASTEP runs of one site each: cross-validation would train on two, and the message
    was the model's own "at least three site spectra", which read as nonsense beside three."""
    from amorpha.engine.errors import ParameterError
    from amorpha.engine.spectra.folders import read_spectrum_folder
    from optados_files import CELL, block, core_file, peak

    for k in range(3):
        run = tmp_path / f"run{k}"
        run.mkdir()
        (run / "SiO2.cell").write_text(CELL)
        (run / "SiO2_core_edge.dat").write_text(core_file([(block("Si", 1, "K1", "Si:Exc"), peak(8.0 + k), peak(8.0 + k))]))
    with pytest.raises(ParameterError, match=r"folder: at least four sites to train on \(3 read\): cross-validation"):
        train_from_folder(read_spectrum_folder(tmp_path))

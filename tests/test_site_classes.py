"""Site-class components for the Explain fit: classes against the builders' and crystals' truth,
the model's own oxidation-state fractions recovered from its predicted average (exact and with
Poisson noise), and components the fit cannot tell apart reported instead of fitted."""
from dataclasses import replace

import numpy as np
import pytest
from ase.io import read

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.engine.build.silica import SilicaParams, build_silica
from amorpha.engine.errors import ParameterError
from amorpha.engine.spectra.site_classes import (ClassParams, IllConditionedError, classify, explain,
                                                 predicted_classes, site_classes)
from amorpha.engine.spectra.spectrum import SiteSpectra
from amorpha.resources import path


@pytest.fixture(scope="module")
def model():
    from amorpha.engine.surrogate.model import SpectrumModel

    return SpectrumModel.load(path("models") / "Si-K-xtb.amodel")


@pytest.fixture(scope="module")
def sio():
    """The 5184-atom a-SiO example (mixture, relaxed interfaces): 2592 Si from Si0 to Si4+."""
    return read(path("examples") / "a-SiO.extxyz")


@pytest.fixture(scope="module")
def sio_classes(model, sio):
    return predicted_classes(sio, model)


def _builder_fractions(atoms) -> np.ndarray:
    ox = atoms.arrays["oxidation"][atoms.numbers == 14]
    return np.bincount(ox, minlength=5) / len(ox)


def test_oxidation_classes_are_the_builders_oxidation_states():
    atoms = build_silica(SilicaParams(n_si=64, x=1.0, form="random-bonding", seed=4, switches_per_atom=0.5))
    si = np.flatnonzero(atoms.numbers == 14)
    assert np.array_equal(classify(atoms, si), atoms.arrays["oxidation"][si])


def test_ring_and_coordination_classes_of_alpha_quartz():
    """Every Si of α-quartz has four O and lies on 6-membered Si rings (12 network nodes), none smaller."""
    atoms = alpha_quartz().repeat((2, 2, 2))
    si = np.flatnonzero(atoms.numbers == 14)
    assert np.all(classify(atoms, si, ClassParams("coordination")) == 4)
    assert np.all(classify(atoms, si) == 4)
    assert np.all(classify(atoms, si, ClassParams("ring", ring_max_size=16)) == 12)
    assert np.all(classify(atoms, si, ClassParams("ring", ring_count_element="Si")) == 6)


def test_components_average_to_the_predicted_average(model, sio, sio_classes):
    predicted = model.predict_structure(sio)
    assert np.allclose(sio_classes.average.intensity, predicted.mean().intensity, atol=1e-12)
    assert sio_classes.counts.sum() == len(predicted)
    assert np.array_equal(np.bincount(sio_classes.site_class), sio_classes.counts)
    # every Si has at most four O and every class hundreds of sites: nothing merged
    assert sio_classes.labels == ["Si0", "Si1+", "Si2+", "Si3+", "Si4+"] and not sio_classes.merged
    assert np.all(sio_classes.counts >= 100)


def test_a_class_of_too_few_sites_joins_the_most_similar(model, sio, sio_classes):
    """With ``min_sites`` above one class's size that class joins the class whose average
    spectrum is most alike (largest cosine once each spectrum's mean is taken off, the flat
    background the fit adds), its sites kept."""
    small = int(np.argmin(sio_classes.counts))
    n = int(sio_classes.counts[small])
    comps = np.array([c.intensity - c.intensity.mean() for c in sio_classes.components])
    comps /= np.linalg.norm(comps, axis=1, keepdims=True)
    alike = np.abs(comps @ comps[small])
    alike[small] = -1.0
    nearest = sio_classes.labels[int(np.argmax(alike))]
    predicted = model.predict_structure(sio)
    merged = site_classes(sio, predicted, ClassParams(min_sites=n + 1))
    assert len(merged.labels) == 4 and merged.counts.sum() == sio_classes.counts.sum()
    assert merged.merged == [f"merged {sio_classes.labels[small]} into {nearest}: only {n} sites "
                             f"(fewer than {n + 1}); {nearest} has the most similar spectrum"]
    assert np.allclose(merged.average.intensity, sio_classes.average.intensity, atol=1e-12)


def test_a_class_of_sites_unlike_the_training_sites_is_named(model, sio, sio_classes):
    """A component averaged over sites the model never learnt anything like is a guess: its note
    says so (engine/surrogate/domain.py). The model learnt from this very a-SiO: no note."""
    assert not any("domain radius" in n for n in sio_classes.notes)
    predicted = model.predict_structure(sio)
    si0 = classify(sio, predicted.sites) == 0
    far = replace(predicted, distance=np.where(si0, 3.0, predicted.distance))
    notes = [n for n in site_classes(sio, far).notes if "domain radius" in n]
    assert notes == [f"Si0: All {np.sum(si0)} Si sites lie far from every site the model learnt from (median "
                     f"3.0 times its domain radius): their spectra are extrapolated, not learnt"]


def test_explain_returns_the_models_own_oxidation_fractions(sio, sio_classes):
    truth = _builder_fractions(sio)
    assert np.allclose(sio_classes.fractions, truth, atol=2e-3)  # the builder's own bookkeeping
    result = explain(sio_classes.average, sio_classes, n_bootstrap=20, seed=0)
    assert np.all(np.abs(result.fit.fractions - truth) < 0.05)
    assert np.allclose(result.fit.fractions, sio_classes.fractions, atol=1e-6)
    assert result.conditioning.distinctness.min() > 0.01


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_explain_with_poisson_noise_covers_the_truth(sio_classes, seed):
    """10⁵ counts at the white line over a background of 2·10⁴ counts, as a good EELS edge."""
    average = sio_classes.average
    rng = np.random.default_rng(seed)
    counts = rng.poisson(average.intensity / average.intensity.max() * 1e5 + 2e4).astype(np.float64)
    result = explain(replace(average, intensity=counts), sio_classes, noise="counts", n_bootstrap=200, seed=seed)
    truth = sio_classes.fractions
    error = np.abs(result.fit.fractions - truth)
    assert np.all(error < 0.05), error
    assert np.all(error <= 3 * result.fit.fraction_std), (error, result.fit.fraction_std)
    assert not result.undetermined


def test_absent_classes_are_named_and_a_pure_model_is_one_class(model):
    silica = read(path("examples") / "a-SiO2.extxyz")
    classes = predicted_classes(silica, model)
    assert classes.labels == ["Si4+"] and classes.absent == ["Si0", "Si1+", "Si2+", "Si3+"]
    result = explain(classes.average, classes, n_bootstrap=0)
    assert result.fit.fractions.tolist() == [1.0]
    assert sum("no site of this class" in n for n in result.notes) == 4
    assert result.notes[-1].startswith("one class only (Si4+: all 1000 sites), so there is nothing to tell apart")
    assert "ring (smallest ring through the site)" in result.notes[-1]


def test_indistinguishable_components_are_refused_or_merged(sio_classes):
    """Replace Si2+'s component by the mean of Si1+ and Si3+: a mixture of the others."""
    comps = list(sio_classes.components)
    comps[2] = replace(comps[2], intensity=0.5 * (comps[1].intensity + comps[3].intensity))
    classes = replace(sio_classes, components=comps)
    with pytest.raises(IllConditionedError, match="Si2\\+.*cannot tell them apart"):
        explain(classes.average, classes, merge=False, n_bootstrap=0)
    result = explain(classes.average, classes, n_bootstrap=0)
    assert len(result.classes.labels) == 4
    # Si1+, Si2+ and Si3+ are now linearly dependent: one of them joins another of the three
    # (which one depends on the model's spectra); Si0 and Si4+ stay apart
    (note,) = [n for n in result.notes if n.startswith("merged")]
    assert note.split(":")[0] in {f"merged {a} into {b}" for a in ("Si1+", "Si2+", "Si3+")
                                  for b in ("Si1+", "Si2+", "Si3+") if a != b}
    assert "Si0" in result.classes.labels and "Si4+" in result.classes.labels
    # the merged classes carry the sum of their model fractions; the fit still returns them
    assert np.isclose(result.classes.fractions.sum(), 1.0)
    assert np.allclose(result.fit.fractions, result.classes.fractions, atol=0.02)
    assert result.conditioning.distinctness.min() >= 0.01


def test_bad_input_is_named(sio, model):
    with pytest.raises(ParameterError, match="scheme"):
        classify(sio, [0], ClassParams("bond order"))
    with pytest.raises(ParameterError, match="spectra"):
        site_classes(sio, "not spectra")
    far = SiteSpectra(model.energy, np.ones((1, len(model.energy))), [len(sio) + 5], "Si", "K")
    with pytest.raises(ParameterError, match="site indices"):
        site_classes(sio, far)


def test_o_sites_are_classed_by_their_bonded_si_not_by_o_neighbours():
    """The shipped O K model on α-quartz: every O bridges two Si, so one class, O CN 2, holds all
    sites; counting O neighbours (oxidation) is refused for O."""
    from amorpha.engine.spectra.site_classes import default_scheme
    from amorpha.engine.surrogate.model import SpectrumModel

    assert default_scheme("O") == "coordination" and default_scheme("Si") == "oxidation"
    atoms = alpha_quartz().repeat((2, 2, 2))
    o = np.flatnonzero(atoms.numbers == 8)
    assert np.all(classify(atoms, o, ClassParams("coordination")) == 2)  # every O bridges two Si
    o_model = SpectrumModel.load(path("models") / "O-K-xtb.amodel")
    classes = predicted_classes(atoms, o_model, ClassParams(default_scheme("O")))
    assert classes.labels == ["O CN 2"] and classes.fractions.tolist() == [1.0]
    with pytest.raises(ParameterError, match="coordination or ring for O sites"):
        predicted_classes(atoms, o_model, ClassParams("oxidation"))


def test_candidate_models_the_spectrum_cannot_tell_apart_get_notes():
    """Two candidates with near-identical spectra: each fraction is undetermined, said for models
    as for site classes (the models route gave no note)."""
    from amorpha.engine.spectra.site_classes import undetermined_notes
    from amorpha.engine.spectra.spectrum import Spectrum
    from amorpha.engine.spectra.unmix import bootstrap, fit_components

    e = np.linspace(0, 30, 301)
    a = Spectrum(e, np.exp(-0.5 * ((e - 12) / 2) ** 2), label="quartz")
    b = Spectrum(e, np.exp(-0.5 * ((e - 12.05) / 2) ** 2), label="glass")
    measured = Spectrum(e, 1000 * a.intensity + np.random.default_rng(3).normal(0, 20, len(e)))
    fit = bootstrap(fit_components(measured, [a, b]), n=100, seed=0)
    assert [n.split(":")[0] for n in undetermined_notes(fit)] == ["quartz", "glass"]

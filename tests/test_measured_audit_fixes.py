"""A microscopist's audit of the measured-spectrum engine: an EMSA file whose #SPECTRUM line ends
at its colon, PCA signs, components drawn on the counts' axis, the background a scaled prediction
stands on, and a power law that rises."""
import numpy as np
import pytest

from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.spectra.images import DecompositionParams, compare_components, decompose
from amorpha.engine.spectra.microscope import SpectrumData, read_microscope
from amorpha.engine.spectra.prepare import (background_removed, calibrate, powerlaw_background, refuse_rising,
                                            smooth)
from amorpha.engine.spectra.spectrum import Spectrum

from test_prepare import core_loss_with_background

EMPTY_SPECTRUM_LINE = "#SPECTRUM    :"  # no count, and no space, after the colon


def _msa(values, spectrum_line=EMPTY_SPECTRUM_LINE, npoints=None, end=True) -> str:
    """A one-spectrum EMSA/MSA file (DATATYPE Y) of ``values`` on 500 eV + 0.5 eV per channel."""
    head = ["#FORMAT      : EMSA/MAS Spectral Data File", "#VERSION     : 1.0", "#TITLE       : ",
            f"#NPOINTS     : {len(values) if npoints is None else npoints}.00", "#NCOLUMNS    : 1.00000",
            "#XUNITS      : eV", "#YUNITS      : Counts", "#DATATYPE    : Y", "#XPERCHAN    : 0.500000",
            "#OFFSET      : 500.000", "#SIGNALTYPE  : ELS", spectrum_line]
    tail = ["#ENDOFDATA   : "] if end else []
    return "\r\n".join(head + [f"{v:g}" for v in values] + tail) + "\r\n"


def test_an_msa_file_whose_spectrum_line_ends_at_the_colon_reads_every_point(tmp_path):
    """RosettaSciIO starts reading at "#SPECTRUM : " (a space after the colon): the line ending at
    the colon read as 0 points, and the file was called cut short."""
    counts = 1000.0 + 10.0 * np.arange(40)
    (tmp_path / "empty.msa").write_text(_msa(counts))
    data = read_microscope(tmp_path / "empty.msa")
    np.testing.assert_array_equal(data.data, counts)
    np.testing.assert_allclose(data.energy, 500.0 + 0.5 * np.arange(40))
    assert data.meta["signal type"] == "EELS"
    # the same file with the usual line reads the same
    (tmp_path / "usual.msa").write_text(_msa(counts, "#SPECTRUM    : Spectral Data Starts Here"))
    np.testing.assert_array_equal(read_microscope(tmp_path / "usual.msa").data, counts)


def test_an_msa_file_cut_short_is_still_called_cut_short_whatever_its_spectrum_line(tmp_path):
    counts = 1000.0 + 10.0 * np.arange(40)
    (tmp_path / "short.msa").write_text(_msa(counts[:25], npoints=40))
    with pytest.raises(ReadError, match=r"it holds 25 points where its header \(#NPOINTS\) says 40: the file was "
                                        r"cut short"):
        read_microscope(tmp_path / "short.msa")
    (tmp_path / "unclosed.msa").write_text(_msa(counts, end=False))
    with pytest.raises(ReadError, match="does not end with #ENDOFDATA"):
        read_microscope(tmp_path / "unclosed.msa")


def test_the_shared_core_loss_with_its_spectrum_line_cut_at_the_colon(shared_data, tmp_path):
    source = shared_data / "eels/exspy/coreloss_spectrum.msa"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    text = source.read_bytes().decode("latin-1")
    assert "#SPECTRUM    : \n" in text
    (tmp_path / "cut_colon.msa").write_bytes(text.replace("#SPECTRUM    : \n", "#SPECTRUM    :\n").encode("latin-1"))
    as_shared, cut = read_microscope(source), read_microscope(tmp_path / "cut_colon.msa")
    assert cut.data.shape == as_shared.data.shape == (2048,)
    np.testing.assert_array_equal(cut.data, as_shared.data)
    np.testing.assert_array_equal(cut.energy, as_shared.energy)


# ---------------------------------------------------------------- spectrum images

ENERGY = np.linspace(95.0, 135.0, 400)
#: an edge (a step at 97 eV and a small white line) standing on a constant that its pixels
#: lower as the edge grows: the component of that change is the edge minus 0.8, whose largest
#: loading is the pre-edge's −0.8 although it sums to more than 0
EDGE = 0.5 + np.arctan((ENERGY - 97.0) / 0.8) / np.pi + 0.3 * np.exp(-0.5 * ((ENERGY - 99.0) / 1.2) ** 2)


def edge_scan(n=48, seed=3) -> SpectrumData:
    t = np.linspace(0.0, 1.0, n)[:, None]
    clean = 3000.0 + 2000.0 * t * (EDGE - 0.8)
    return SpectrumData(ENERGY, np.random.default_rng(seed).poisson(clean).astype(float))


def test_a_pca_component_shaped_like_the_prediction_has_a_positive_r():
    """The sign of a PCA component is arbitrary: scikit-learn makes the largest loading positive,
    which turned this edge upside down (r = −1 with the prediction of that very edge). Ours: the
    loadings sum to a positive number, the scores flipped with them."""
    data = edge_scan()
    dec = decompose(data, DecompositionParams("pca", 2))
    assert dec.components[0].sum() > 0 and dec.components[1].sum() > 0
    (first, _) = compare_components(dec, Spectrum(ENERGY, EDGE, label="predicted"))
    assert first["pearson"] > 0.99
    # the scores followed: the mean plus the components still rebuild the pixels
    assert np.sqrt(np.mean((dec.reconstruction() - data.data) ** 2)) < 1.1 * np.sqrt(data.data.mean())
    # the edge grows along the scan: so does its score
    assert np.corrcoef(dec.image(0), np.arange(48))[0, 1] > 0.99


def test_components_drawn_beside_counts_are_on_their_scale_and_say_how():
    """A PCA loading is a unit vector: beside counts of thousands it was a flat line at 0."""
    data = edge_scan()
    pca = decompose(data, DecompositionParams("pca", 2))
    drawn = pca.on_counts(0, height=4000.0)
    assert np.abs(drawn.intensity).max() == pytest.approx(4000.0)
    np.testing.assert_allclose(drawn.intensity / drawn.meta["factor"], pca.components[0])
    assert drawn.label.startswith("PCA 1 (loading ×") and "scaled to the counts" in drawn.label
    nmf = decompose(data, DecompositionParams("nmf", 2))
    mean = nmf.on_counts(0, 4000.0).intensity + nmf.on_counts(1, 4000.0).intensity
    assert np.abs(mean - data.data.mean(axis=0)).max() < 0.05 * data.data.mean()  # the mean pixel, in counts
    assert nmf.on_counts(0, 4000.0).label == "NMF 1 (mean contribution to a pixel)"
    kmeans = decompose(data, DecompositionParams("kmeans", 2))
    assert kmeans.on_counts(0, 4000.0).label.startswith("k-means cluster 1, ")
    np.testing.assert_array_equal(kmeans.on_counts(0, 4000.0).intensity, kmeans.components[0])


# ---------------------------------------------------------------- background

def test_a_rising_power_law_is_refused_with_what_to_do():
    s, _, _ = core_loss_with_background(2e12, 3.2)
    _, good = powerlaw_background(s, window=(430.0, 525.0))
    refuse_rising(good)  # a falling tail passes
    onset = s.energy[np.argmax(np.gradient(s.intensity))]
    _, rising = powerlaw_background(s, window=(onset - 1.0, onset + 4.0))
    assert rising.r < 0
    with pytest.raises(ParameterError) as refused:
        refuse_rising(rising)
    assert refused.value.parameter == "window"
    assert "rise with energy" in refused.value.reason and "nothing was subtracted" in refused.value.reason
    assert "Choose another pre-edge window" in refused.value.reason


def test_background_removed_is_read_from_the_steps_as_recorded_or_saved():
    s, _, _ = core_loss_with_background()
    assert not background_removed(s) and not background_removed(calibrate(smooth(s, window_ev=2.0), shift=1.0))
    subtracted, _ = powerlaw_background(s, window=(430.0, 525.0))
    assert background_removed(subtracted) and background_removed(calibrate(subtracted, shift=1.0))
    as_saved = Spectrum(s.energy, s.intensity, meta={"steps": [st.to_dict() for st in subtracted.meta["steps"]]})
    assert background_removed(as_saved)

"""Measured spectra from microscope files (RosettaSciIO) and text columns."""
import numpy as np
import pytest

from amorpha.engine.errors import ReadError
from amorpha.engine.spectra.microscope import read_microscope


def test_msa_written_by_rosettasciio_reads_back(tmp_path):
    from rsciio.msa import file_writer

    counts = np.exp(-0.5 * ((np.arange(300) - 120) / 10.0) ** 2) * 1000 + 50
    signal = {"data": counts, "axes": [{"size": 300, "index_in_array": 0, "name": "Energy loss",
                                        "scale": 0.25, "offset": 520.0, "units": "eV", "navigate": False}],
              "metadata": {"General": {"title": "O K test"}, "Signal": {"signal_type": "EELS"},
                           "Acquisition_instrument": {"TEM": {"beam_energy": 200.0}}},
              "original_metadata": {}}
    file_writer(str(tmp_path / "ok.msa"), signal)
    data = read_microscope(tmp_path / "ok.msa")
    assert data.kind == "spectrum" and data.title == "ok.msa" and data.meta["title in the file"] == "O K test"
    np.testing.assert_allclose(data.energy, 520.0 + 0.25 * np.arange(300))
    np.testing.assert_allclose(data.data, counts, rtol=1e-5)
    assert data.meta["dispersion (eV/channel)"] == 0.25 and data.meta["beam energy (keV)"] == 200.0


def _msa_with(*keywords: str) -> str:
    """A small EMSA/MSA file holding these header keywords (as the EMSA spec writes units)."""
    head = ["#FORMAT      : EMSA/MAS Spectral Data File", "#VERSION     : 1.0", "#TITLE       : units",
            "#NPOINTS     : 5", "#NCOLUMNS    : 1", "#XUNITS      : eV", "#DATATYPE    : Y",
            "#XPERCHAN    : 1.0", "#OFFSET      : 500.0", "#SIGNALTYPE  : ELS", *keywords,
            "#SPECTRUM    : Spectral Data Starts Here"]
    return "\n".join(head + [f"{v}," for v in range(1, 6)] + ["#ENDOFDATA   : End Of Data and File", ""])


def test_settings_are_shown_in_one_unit_whatever_unit_the_file_wrote(tmp_path):
    """EMSA's dwell time carries its unit in the keyword (#DWELLTIME-ms, the spec's example): 100
    ms is 0.1 s, not the 100 s shown before; angles in "mR" are mrad; an unknown unit is left
    unsaid rather than shown a thousand times off."""
    cases = {("#DWELLTIME-ms: 100.0",): 0.1, ("#DWELLTIME-s: 2.5",): 2.5, ("#DWELLTIME-us: 40",): 4e-5,
             ("#DWELLTIME-fortnights: 3",): None}
    for keywords, seconds in cases.items():
        path = tmp_path / "units.msa"
        path.write_text(_msa_with("#BEAMKV   -kV: 200.0", "#CONVANGLE-mR: 21.0", *keywords))
        meta = read_microscope(path).meta
        assert meta.get("exposure (s)") == (pytest.approx(seconds) if seconds else None), keywords
        assert meta["beam energy (keV)"] == 200.0 and meta["convergence angle (mrad)"] == 21.0


def test_msa_cut_short_is_refused_not_read_with_a_cut_last_value(tmp_path):
    """RosettaSciIO reads what is there: a file cut inside its data gave a last count ("269" of
    "26912.") a hundred times too small, drawn as a cliff. The header's #NPOINTS and the
    closing #ENDOFDATA say the file is whole."""
    from rsciio.msa import file_writer

    counts = 20000.0 + 100.0 * np.arange(300)
    signal = {"data": counts, "axes": [{"size": 300, "index_in_array": 0, "name": "Energy loss",
                                        "scale": 0.25, "offset": 520.0, "units": "eV", "navigate": False}],
              "metadata": {"General": {"title": "O K test"}, "Signal": {"signal_type": "EELS"}},
              "original_metadata": {}}
    whole = tmp_path / "whole.msa"
    file_writer(str(whole), signal)
    text = whole.read_bytes()
    start = text.index(b"#SPECTRUM")
    cut = tmp_path / "cut.msa"
    cut.write_bytes(text[: start + (len(text) - start) // 2])
    with pytest.raises(ReadError, match=r"cut.msa: it holds \d+ points where its header \(#NPOINTS\) says 300"):
        read_microscope(cut)
    unclosed = tmp_path / "unclosed.msa"
    unclosed.write_bytes(text[: text.index(b"#ENDOFDATA")])
    with pytest.raises(ReadError, match="does not end with #ENDOFDATA"):
        read_microscope(unclosed)
    assert len(read_microscope(whole).data) == 300


def test_msa_named_file_with_bare_columns_and_bad_files(tmp_path):
    bare = tmp_path / "columns.msa"
    np.savetxt(bare, np.column_stack([np.arange(10.0), np.arange(10.0) ** 2]))
    data = read_microscope(bare)
    assert data.kind == "spectrum" and data.data[3] == 9.0
    broken = tmp_path / "broken.dm3"
    broken.write_bytes(b"\x00\x00\x00\x03" + bytes(range(256)) * 4)
    with pytest.raises(ReadError, match="broken.dm3: not a readable DM3 file"):
        read_microscope(broken)
    backwards = tmp_path / "backwards.txt"
    backwards.write_text("1 5\n2 6\n1.5 7\n")
    with pytest.raises(ReadError, match="backwards.txt, line 3"):
        read_microscope(backwards)
    with pytest.raises(ReadError, match="no such file"):
        read_microscope(tmp_path / "absent.dm4")


def test_shared_eels_files(shared_data):
    eels = shared_data / "eels"
    image = read_microscope(eels / "rosettasciio/EELS_SI.dm4")  # energy is array axis 0 in the file
    assert image.kind == "spectrum image" and image.shape == (2, 2) and len(image.energy) == 2048
    assert image.energy[0] == 300.0 and image.meta["dispersion (eV/channel)"] == 1.0
    mean = image.spectrum()
    assert "mean of 2×2 pixels" in mean.label
    np.testing.assert_allclose(mean.intensity, image.data.mean(axis=(0, 1)))
    nio = read_microscope(eels / "rosettasciio/example1_NiO_OK.msa")
    assert len(nio.energy) == 21 and nio.meta["beam energy (keV)"] == 120.0
    assert nio.meta["collection angle (mrad)"] == 3.4
    assert nio.meta["exposure (s)"] == pytest.approx(0.1)  # "#DWELLTIME-ms: 100."
    # a DM file's settings sit in its own tags until RosettaSciIO's mapping is applied
    assert {k: image.meta[k] for k in ("beam energy (keV)", "convergence angle (mrad)",
                                       "collection angle (mrad)")} == {
        "beam energy (keV)": 200.0, "convergence angle (mrad)": 21.0, "collection angle (mrad)": 62.0}
    assert image.meta["exposure (s)"] == pytest.approx(0.01995, rel=1e-3)
    assert read_microscope(eels / "pyEELSMODEL/SrTiO3_hl.msa").data.shape == (1024,)
    ta = read_microscope(eels / "eelsdb/ta2o5-amoprhou.headerless_2col.txt")
    assert ta.energy[0] == 150.0 and len(ta.energy) == 2998
    assert read_microscope(eels / "rosettasciio/test-EELS_spectrum.dm3").energy[0] == -100.0


def test_a_cut_short_dm_file_is_said_to_be_cut_short(shared_data, tmp_path):
    whole = (shared_data / "eels/rosettasciio/test-EELS_spectrum.dm3").read_bytes()
    for size in (len(whole) // 3, len(whole) - 100):
        cut = tmp_path / "cut.dm3"
        cut.write_bytes(whole[:size])
        with pytest.raises(ReadError, match="cut.dm3: not a readable DM3 file: it ends before the data its own headers announce, so it was cut short"):
            read_microscope(cut)

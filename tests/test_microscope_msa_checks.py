"""EMSA/MSA files as written, not as RosettaSciIO rebuilds them: a DATATYPE XY file's energies are
its X column, a #NPOINTS that disagrees with the data is said, and a corrupt or cut file names the
line instead of an IndexError or ValueError."""
import numpy as np
import pytest

from amorpha.engine.errors import ReadError
from amorpha.engine.spectra.microscope import read_microscope

#: as RosettaSciIO's NiO example: two steps of 2.32 eV among 3.10, one point more than #NPOINTS
X = np.array([520.13, 523.22, 526.32, 529.42, 532.51, 535.61, 538.70, 541.80, 543.12, 546.22, 549.31])
Y = np.arange(1.0, len(X) + 1) * 100.0


def _xy_file(path, x=X, y=Y, npoints=None, ending="#ENDOFDATA   : End Of Data and File\n"):
    head = ["#FORMAT      : EMSA/MAS Spectral Data File", "#VERSION     : 1.0", "#TITLE       : xy",
            f"#NPOINTS     : {len(x) if npoints is None else npoints}.", "#NCOLUMNS    : 1.",
            "#XUNITS      : eV", "#YUNITS      : Counts", "#DATATYPE    : XY", "#XPERCHAN    : 3.1",
            "#OFFSET      : 520.13", "#SIGNALTYPE  : ELS", "#SPECTRUM    : Spectral Data Starts Here"]
    path.write_text("\n".join(head + [f"{a:.2f}, {b:.1f}" for a, b in zip(x, y)]) + "\n" + ending)
    return path


def test_xy_energies_are_the_files_x_column(tmp_path):
    data = read_microscope(_xy_file(tmp_path / "xy.msa", npoints=len(X) - 1))
    np.testing.assert_allclose(data.energy, X)  # not 520.13 + 3.1·i (549.31 read as 551.13)
    np.testing.assert_allclose(data.data, Y)
    assert "unequal steps" in data.meta["energy axis"]
    assert data.meta["note"] == f"the header (#NPOINTS) says {len(X) - 1} points, the file holds {len(X)}: " \
                                f"all {len(X)} are used"
    even = read_microscope(_xy_file(tmp_path / "even.msa", x=600.0 + 0.5 * np.arange(len(X))))
    np.testing.assert_allclose(even.energy, 600.0 + 0.5 * np.arange(len(X)))  # OFFSET says 520.13
    assert "energy axis" not in even.meta and "note" not in even.meta
    assert even.meta["offset (eV)"] == 600.0


def test_a_value_that_is_not_a_number_is_named_with_its_line(tmp_path):
    path = _xy_file(tmp_path / "corrupt.msa")
    lines = path.read_text().split("\n")
    lines[15] = "abc, def"
    path.write_text("\n".join(lines))
    with pytest.raises(ReadError, match=r"^corrupt.msa, line 16: 'abc' is not a number$"):
        read_microscope(path)


def test_a_file_cut_inside_its_last_line_says_so(tmp_path):
    whole = _xy_file(tmp_path / "whole.msa").read_text()
    cut = tmp_path / "cut.msa"
    cut.write_text(whole[:whole.index("541.80") + 3])  # "541" and no count
    with pytest.raises(ReadError, match=r"^cut.msa, line 20: the last line is incomplete: the file was cut short$"):
        read_microscope(cut)
    cut.write_text(whole[:whole.index("541.80, 800.0") + 9])  # "541.80, 8": a count cut short
    with pytest.raises(ReadError, match=r"^cut.msa: it holds \d+ points where its header \(#NPOINTS\) says 11: "
                                        r"the file was cut short \(its last line, 20, is incomplete\)$"):
        read_microscope(cut)


def test_shared_nio_file_uses_its_x_column(shared_data):
    nio = read_microscope(shared_data / "eels/rosettasciio/example1_NiO_OK.msa")
    assert nio.energy[-1] == pytest.approx(580.50) and nio.energy[15] == pytest.approx(565.79)
    assert "#NPOINTS" in nio.meta["note"] and "unequal steps" in nio.meta["energy axis"]

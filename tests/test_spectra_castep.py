"""CASTEP core-loss results: OptaDOS ``seed_core_edge.dat`` blocks placed on the atoms of
``seed.cell``, as a single file pair and as a training folder.

The files are written as OptaDOS writes them (tests/optados_files.py).
"""
import numpy as np
import pytest

from amorpha.engine.errors import ParameterError, ReadError
from amorpha.engine.spectra.columns import read_columns
from amorpha.engine.spectra.castep import AXIS, OptadosRun, castep_sites, optados_run, read_castep_cell, read_optados_core
from amorpha.engine.spectra.folders import SeveralEdgesError, read_spectrum_folder

from optados_files import CELL, ENERGY, block, core_file, peak

@pytest.fixture
def quartz_run(tmp_path):
    """A 9-atom quartz cell with a core hole on its second Si (species Si:exc) and two edges."""
    (tmp_path / "SiO2.cell").write_text(CELL)
    blocks = [(block("Si", 1, "K1", "Si:exc"), peak(8.0, 0.3) * 1e-3, peak(8.0)),   # the labelled species' only atom
              (block("O", 4, "K1"), peak(12.0, 0.3), peak(12.0, 2.0))]              # the 4th O of the cell
    (tmp_path / "SiO2_core_edge.dat").write_text(core_file(blocks))
    return tmp_path


def test_blocks_are_read_with_their_broadened_column_and_settings(quartz_run):
    edges = read_optados_core(quartz_run / "SiO2_core_edge.dat")
    assert [(e.element, e.rank, e.edge, e.species) for e in edges] == [("Si", 1, "K", "Si:exc"), ("O", 4, "K", "O")]
    si = edges[0].spectrum
    np.testing.assert_allclose(si.energy, ENERGY)
    np.testing.assert_allclose(si.intensity, peak(8.0), rtol=1e-15)  # the broadened column, not 1e-3 × ...
    assert si.broadening == {"gaussian_fwhm": 0.5, "lorentzian_fwhm": 0.29999999999999999,
                             "lorentzian_scale": 0.10000000000000001, "lorentzian_offset": 0.0}


def test_each_block_lands_on_its_atom_of_the_cell(quartz_run):
    atoms, sites = castep_sites(quartz_run / "SiO2.cell", quartz_run / "SiO2_core_edge.dat")
    assert atoms.calc is None and len(atoms) == 9
    assert list(atoms.arrays["castep_custom_species"][:3]) == ["Si", "Si:Exc", "Si"]  # OptaDOS: si:exc
    assert [i for i, _ in sites] == [1, 6]  # Si:exc is atom 1; the 4th O is atom 3 + 3
    assert [(s.site, s.element) for _, s in sites] == [(1, "Si"), (6, "O")]


def test_a_folder_of_castep_runs_trains_like_any_other(quartz_run):
    other = quartz_run / "second"
    other.mkdir()
    (other / "run-out.cell").write_text(CELL)
    (other / "run_core_edge.dat").write_text(core_file([(block("Si", 1, "K1", "Si:exc"), peak(9.0), peak(9.0))], broadened=False))
    (quartz_run / "lonely_core_edge.dat").write_text(core_file([(block("Si", 1, "K1"), peak(9.0), peak(9.0))]))
    folder = read_spectrum_folder(quartz_run)
    assert folder.layout == "castep"
    assert [(r.name, r.absorber, r.spectrum.edge) for r in folder.records] == [
        ("SiO2 Si:exc 1 K", 1, "K"), ("SiO2 O 4 K", 6, "K"), ("second/run Si:exc 1 K", 1, "K")]
    assert folder.records[2].spectrum.broadening == {}  # OptaDOS broadened nothing there
    assert len(folder.problems) == 1 and "no lonely.cell beside it" in str(folder.problems[0])


def test_bad_files_say_what_is_wrong_and_where(quartz_run, tmp_path):
    core = quartz_run / "SiO2_core_edge.dat"
    text = core.read_text()
    core.write_text(text.replace(block("O", 4, "K1"), block("O", 7, "K1")))
    with pytest.raises(ReadError, match="O 7: SiO2.cell has 6 atoms of species O") as err:
        castep_sites(quartz_run / "SiO2.cell", core)
    assert err.value.line == text.splitlines().index(" # " + block("O", 4, "K1")) + 1
    core.write_text(text.replace(block("Si", 1, "K1", "Si:exc"), block("Si", 1, "K1")))  # 1st plain Si is atom 0: fine
    assert castep_sites(quartz_run / "SiO2.cell", core)[1][0][0] == 0
    long = quartz_run / "long"  # OptaDOS cuts a label to 10 characters: Si:corehole is Si:corehol
    long.mkdir()
    (long / "SiO2.cell").write_text(CELL.replace("Si:Exc", "Si:corehole"))
    (long / "SiO2_core_edge.dat").write_text(core_file([(block("Si", 1, "K1", "Si:corehol"), peak(8.0), peak(8.0))]))
    assert castep_sites(long / "SiO2.cell", long / "SiO2_core_edge.dat")[1][0][0] == 1
    (long / "SiO2.cell").write_text(CELL.replace("Si:Exc", "Si:corehole").replace("Si     0.5303", "Si:corehole2 0.5303"))
    with pytest.raises(ReadError, match="has 0 atoms of species Si:corehol"):  # two labels cut alike
        castep_sites(long / "SiO2.cell", long / "SiO2_core_edge.dat")
    plain = tmp_path / "plain.dat"
    plain.write_text("0 1\n1 2\n")
    with pytest.raises(ReadError, match="not an OptaDOS core-loss file") as err:
        read_optados_core(plain)
    assert err.value.line == 1
    rows = text.splitlines()
    first_row = rows.index(" # " + block("Si", 1, "K1", "Si:exc")) + 1
    rows[first_row + 3] = rows[first_row + 1]  # an energy that goes back
    core.write_text("\n".join(rows))
    with pytest.raises(ReadError, match="must increase"):
        read_optados_core(core)
    with pytest.raises(ReadError, match="Train from folder"):  # File › Open Spectrum on it
        read_columns(quartz_run / "SiO2_core_edge.dat")
    broken = tmp_path / "broken.cell"
    broken.write_text("%BLOCK POSITIONS_FRAC\nSi 0 0 0\n%ENDBLOCK POSITIONS_FRAC\n")
    with pytest.raises(ReadError, match="not a readable CASTEP cell"):
        read_castep_cell(broken)


def test_core_hole_runs_on_every_o_of_quartz_train_a_model(tmp_path):
    """Six supercell runs, the core hole (O:Exc) on each O in turn, as a Mizoguchi-style O K set:
    read as one folder and trained through the window's pipeline (cross-validated, periodic SOAP).
    Each run's file also holds, as OptaDOS writes them, an O without the hole (left out: not the
    spectrum the run was for) and the L2,3 edge (another kind: a model learns one, named)."""
    from amorpha.engine.surrogate.model import SpectrumModel, SurrogateParams
    from amorpha.engine.surrogate.pipeline import train_from_folder

    rows = CELL.splitlines()
    o_rows = [i for i, row in enumerate(rows) if row.startswith("O ")]
    for k, row in enumerate(o_rows):
        run = tmp_path / f"O{k + 1}"
        run.mkdir()
        cell = list(rows)
        cell[row] = cell[row].replace("O ", "O:Exc", 1)
        (run / "SiO2.cell").write_text("\n".join(cell))
        shape = peak(10.0 + 0.2 * k, 1.5)
        blocks = [(block("O", 2, "K1"), 0 * shape, 0 * shape), (block("O", 1, "K1", "O:Exc"), shape, shape),
                  (block("O", 1, "L2,3", "O:Exc"), shape, shape)]
        (run / "SiO2_core_edge.dat").write_text(core_file(blocks))
    folder = read_spectrum_folder(tmp_path)
    assert folder.layout == "castep" and folder.kinds == {"O K": 6, "O L2,3": 6}
    with pytest.raises(SeveralEdgesError, match=r"the folder holds O K \(6 sites\), O L2,3 \(6 sites\)") as err:
        train_from_folder(folder)
    assert err.value.folder is folder
    with pytest.raises(ParameterError, match="Si K: the folder holds O K, O L2,3"):
        folder.one_kind("Si K")
    folder = folder.one_kind("O K")
    assert [r.absorber for r in folder.records] == [3, 4, 5, 6, 7, 8]
    model = train_from_folder(folder, params=SurrogateParams(regressor="kernel_ridge"))
    assert (model.element, model.edge, model.descriptor["periodic"]) == ("O", "K", True)
    assert model.metrics["n"] == 6 and model.metrics["measured_on"].startswith("5-fold cross-validation")
    # its axis is CASTEP's, not the edge's: the model, its file and its predictions say so
    assert model.axis == AXIS
    model.save(tmp_path / "o_k.amodel")
    loaded = SpectrumModel.load(tmp_path / "o_k.amodel")
    predicted = loaded.predict_structure(folder.records[0].atoms)
    assert loaded.axis == AXIS and predicted.meta["axis"] == AXIS and predicted.mean().meta["axis"] == AXIS


@pytest.mark.parametrize("broadened", [True, False])
def test_a_spin_polarised_run_gives_up_plus_down(tmp_path, broadened):
    """Fe L2,3 of a magnetic oxide is spin-polarised: OptaDOS then writes E up down total (and the
    three again broadened) in E21.13. The spectrum is up + down; the total column is not taken,
    since OptaDOS's loop over angular-momentum channels can count up twice in it."""
    up, down = peak(6.0), 0.5 * peak(9.0)
    core = tmp_path / "Fe_core_edge.dat"
    core.write_text(core_file([(block("Fe", 1, "L2,3"), (0.1 * up, 0.1 * down), (up, down))], broadened, spin=True))
    (edge,) = read_optados_core(core)
    assert (edge.element, edge.rank, edge.edge) == ("Fe", 1, "L2,3")
    expected = up + down if broadened else 0.1 * (up + down)
    np.testing.assert_allclose(edge.spectrum.intensity, expected, rtol=1e-12, atol=1e-25)
    assert bool(edge.spectrum.broadening) is broadened
    rows = core.read_text().splitlines()
    rows[-3] = rows[-3].rsplit(None, 1)[0]  # a row cut short
    core.write_text("\n".join(rows))
    message = ("6 numbers; OptaDOS writes 2 .* 4 or 7 when spin-polarised" if broadened else
               "rows of 3 and 4 numbers mixed in one block")
    with pytest.raises(ReadError, match=message) as err:
        read_optados_core(core)
    assert err.value.line == len(rows) - 2


def test_the_edge_offered_first_is_the_core_hole_atoms(tmp_path):
    """NaGe in OptaDOS's test suite lists four Na atoms' edges before Ge:ex's: the run was made
    for Ge, so the folder offers Ge's edge first; without a label, the first edge read."""
    rows = CELL.splitlines()
    o_row = next(i for i, row in enumerate(rows) if row.startswith("O "))
    rows[o_row] = rows[o_row].replace("O ", "O:Exc", 1)
    (tmp_path / "SiO2.cell").write_text("\n".join(rows).replace("Si:Exc", "Si    "))
    blocks = [(block("Si", 1, "K1"), peak(5.0), peak(5.0)), (block("Si", 1, "L2,3"), peak(6.0), peak(6.0)),
              (block("O", 1, "K1", "O:Exc"), peak(7.0), peak(7.0))]
    (tmp_path / "SiO2_core_edge.dat").write_text(core_file(blocks))
    folder = read_spectrum_folder(tmp_path)
    assert list(folder.kinds) == ["Si K", "Si L2,3", "O K"] and folder.likely_kind == "O K"
    assert folder.one_kind("Si K").likely_kind == "Si K"


def odi(core_type: str) -> str:
    """A seed.odi as OptaDOS's examples write one: comments, upper-case keywords, ' : '."""
    return ("# Choose the task to perform\nTASK               : core\n"
            f"DOS_SPACING       : 0.01 \n\nCORE_TYPE : {core_type}   # absorption, emission or all\n"
            "BROADENING         : linear # Default\n")


def test_emission_runs_are_refused_since_their_files_look_the_same(quartz_run):
    """OptaDOS writes an X-ray emission run (core_type: emission, or all: both summed) in the same
    format: only the run's input (seed.odi), else its output (seed.odo), tells. Training on one
    as an absorption edge would be silently wrong."""
    core = quartz_run / "SiO2_core_edge.dat"
    (quartz_run / "SiO2.odi").write_text(odi("absorption"))
    assert (optados_run(core).core_type, optados_run(core).type_from) == ("absorption", "SiO2.odi")
    assert len(read_optados_core(core)) == 2
    other = quartz_run / "second"  # in a folder, an emission run is skipped and named from it
    other.mkdir()
    (other / "run.cell").write_text(CELL)
    (other / "run_core_edge.dat").write_text(core_file([(block("Si", 1, "K1", "Si:exc"), peak(9.0), peak(9.0))]))
    (other / "run.odi").write_text("core_type = emission ! XES\n")
    folder = read_spectrum_folder(quartz_run)
    assert [r.name for r in folder.records] == ["SiO2 Si:exc 1 K", "SiO2 O 4 K"]
    assert folder.warnings == ["second/run_core_edge.dat: run.odi says core_type: emission, so its spectra are "
                               "X-ray emission: the occupied states, not the absorption edge (ELNES/XANES) "
                               "Amorpha learns; run OptaDOS again with core_type: absorption"]
    (quartz_run / "SiO2.odi").write_text(odi("EMISSION"))
    with pytest.raises(ReadError, match="SiO2.odi says core_type: emission"):
        read_optados_core(core)
    (quartz_run / "SiO2.odi").unlink()  # no input beside it: the output's table says it
    (quartz_run / "SiO2.odo").write_text(
        " |  Absorption or Emission Spectrum           :  Both                         |\n")
    with pytest.raises(ReadError, match="SiO2.odo says core_type: all, so its spectra are absorption and emission"):
        read_optados_core(core)
    (quartz_run / "SiO2.odo").unlink()
    assert optados_run(core) == OptadosRun()  # OptaDOS's default: absorption


def test_spectra_on_different_scales_are_not_put_on_one_grid(quartz_run):
    """A CASTEP block beside an edge-relative spectrum (query results of two codes in one folder)
    would be learnt as if 0 eV meant the same in both."""
    from amorpha.engine.spectra.spectrum import SiteSpectra, Spectrum, SpectrumError

    castep = read_optados_core(quartz_run / "SiO2_core_edge.dat")[0].spectrum
    plain = Spectrum(ENERGY, peak(8.0), element="Si", edge="K")
    assert SiteSpectra.from_spectra([castep, castep]).meta == {"axis": AXIS}
    with pytest.raises(SpectrumError, match=r"different scales \(on the CASTEP/OptaDOS scale and relative "
                                            r"to the edge or absolute\)"):
        SiteSpectra.from_spectra([castep, plain])
    absolute = Spectrum(ENERGY + 1839.0, peak(8.0), label="query-3", element="Si", edge="K")
    with pytest.raises(SpectrumError, match="query-3 \\(1834–1864 eV\\) lies outside the common grid \\(-5–25 eV\\)"):
        SiteSpectra.from_spectra([plain, absolute])


def odo(fermi_line: str, zero: bool = False, shift: str = "None") -> str:
    """One run's part of a seed.odo, in the lines OptaDOS writes (parameters.f90, dos_utils.f90)."""
    return (" OptaDOS: Execution started on  7 Dec 2022 at 11:17:07 \n"
            f" |  Shift energy scale so fermi_energy=0      :  {'True ' if zero else 'False'}                        |\n"
            " |  Absorption or Emission Spectrum           :  Absorption                   |\n"
            f" |  Core chemical shift                       :  {shift:<28} |\n"
            " +--------------------------- Setting Fermi Energy  --------------------------+\n"
            f"{fermi_line}\n"
            " +----------------------------- Fermi Energy Analysis ------------------------+\n"
            " |         Fermi energy (Adaptive broadening) :   9.9999 eV            <- EfA |\n")


def test_the_fermi_level_places_castep_spectra(tmp_path):
    """OptaDOS counts no empty states below the Fermi level in an absorption spectrum, so on
    CASTEP's own energies the edge starts there: a run's seed.odo (appended to by every run, the
    last counts) or its seed.odi says where. A model trained on such runs places its predictions
    by it, not by CASTEP's arbitrary 0."""
    from amorpha.engine.spectra.edges import place_at_onset
    from amorpha.engine.surrogate.model import SurrogateParams
    from amorpha.engine.surrogate.pipeline import train_from_folder

    for k, fermi in enumerate((4.0, 4.2, 4.4, 4.6)):
        run = tmp_path / f"run{k}"
        run.mkdir()
        (run / "SiO2.cell").write_text(CELL)
        (run / "SiO2_core_edge.dat").write_text(core_file([(block("Si", 1, "K1", "Si:exc"), peak(8.0 + k), peak(8.0 + k))]))
        (run / "SiO2.odo").write_text(odo(" |                      Fermi energy from DOS :   1.0000 eV            <- EfD |")
                                      + odo(f" |                      Fermi energy from DOS :   {fermi:.4f} eV            <- EfD |"))
    run = optados_run(tmp_path / "run1/SiO2_core_edge.dat")
    assert (run.fermi_ev, run.fermi_from) == (4.2, "SiO2.odo")  # the last run's, not the first
    folder = read_spectrum_folder(tmp_path)
    assert folder.records[0].spectrum.meta["onset_at_ev"] == 4.0
    model = train_from_folder(folder, params=SurrogateParams(regressor="ridge"))
    assert model.onset_at["ev"] == pytest.approx(4.3)
    assert model.onset_at["from"] == ("OptaDOS's Fermi level in SiO2.odo, below which it counts no empty states; "
                                      "mean of 4, 4.00 to 4.60 eV")
    predicted = model.predict_structure(folder.records[0].atoms).mean()
    placed = place_at_onset(predicted, 1839.0)  # the Si K onset of a measurement
    assert placed.energy[0] == pytest.approx(ENERGY[0] + 1839.0 - 4.3)

    (tmp_path / "run3/SiO2.odo").unlink()  # a run without its output: the others still place the model
    partial = read_spectrum_folder(tmp_path).site_spectra().meta
    assert partial["onset_at_ev"] == pytest.approx(4.2)
    assert partial["onset_at_from"].endswith("; mean of 3 of 4, 4.00 to 4.40 eV")

    where = tmp_path / "run0"
    for text, expected in [(odo(" |                       Fermi energy from user :   -2.5000 eV  <- EfU"), -2.5),
                           (odo(" | Fermi energy assuming insulator : 3.1000 eV  <- EfI"), 3.1),
                           (odo(" |  Fermi energy from DOS :   4.3195 eV  <- EfD |", zero=True), 0.0),
                           (odo(" |  Fermi energy from DOS :   4.3195 eV  <- EfD |", shift="1500.0000"), None)]:
        (where / "SiO2.odo").write_text(text)
        assert optados_run(where / "SiO2_core_edge.dat").fermi_ev == expected, text
    (where / "SiO2.odo").unlink()
    for text, expected in [("set_efermi_zero : true\n", 0.0), ("SET_EFERMI_ZERO = F\n", None),
                           ("efermi: 3.5 ! eV\n", 3.5), ("efermi : optados\n", None),
                           ("efermi : 3.5\ncore_chemical_shift : 1839\n", None)]:
        (where / "SiO2.odi").write_text(text)
        assert optados_run(where / "SiO2_core_edge.dat").fermi_ev == expected, text

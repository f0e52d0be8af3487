"""amorpha-cli and the frame runner: the window's numbers for every frame of a trajectory, the same
files serially, over local processes and over a Dask LocalCluster, a model's predicted spectra,
Ctrl-C, and one clear sentence (exit code 2) for each kind of bad input.

The CLI runs as a subprocess (``python -m amorpha.engine.cli``), as a user or a job script runs it.
"""
import csv
import json
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from amorpha.engine.batch import (
    BatchCancelled,
    FrameError,
    RingAnalysis,
    parse_frames,
    resolve_frames,
    run_frames,
)
from amorpha.engine.bonds import CoordinationParams, bond_cutoffs, bonds, compute_coordination
from amorpha.engine.build.crystals import beta_cristobalite
from amorpha.engine.errors import ParameterError
from amorpha.engine.io import open_structure, write_extxyz
from amorpha.engine.order.local_order import compute_steinhardt, compute_tetrahedral
from amorpha.engine.order.rings import compute_rings

N_FRAMES = 100
CLI = [sys.executable, "-m", "amorpha.engine.cli"]


def cli(*args, timeout=120):
    """Run amorpha-cli; returns (exit code, stdout, stderr, seconds)."""
    start = time.monotonic()
    proc = subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start


def data_rows(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(line for line in handle if not line.startswith("#")))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def traj(tmp_path_factory):
    """100 frames of jittered β-cristobalite 2×2×2 (192 atoms); frame k lacks k % 5 oxygens, so
    the ring statistics change from frame to frame (and so do the atom counts)."""
    rng = np.random.default_rng(20240901)
    base = beta_cristobalite((2, 2, 2))
    frames = []
    for k in range(N_FRAMES):
        atoms = base.copy()
        atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
        oxygens = np.flatnonzero(atoms.numbers == 8)
        del atoms[sorted(rng.choice(oxygens, k % 5, replace=False).tolist())]
        frames.append(atoms)
    path = tmp_path_factory.mktemp("traj") / "cristobalite.extxyz"
    write_extxyz(frames, path)
    return path


@pytest.fixture(scope="module")
def frames(traj):
    t = open_structure(traj)
    return [t[i] for i in range(len(t))]


@pytest.fixture(scope="module")
def serial(traj, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    code, stdout, stderr, _ = cli("rings", traj, "--out", out, "--format", "both")
    assert code == 0, stderr
    assert "wrote" in stdout and stderr == ""  # no progress line when stderr is not a terminal
    return out


def window_ring_params(qtbot, numbers):
    """The Rings panel's default parameters for a model with these atoms."""
    from amorpha.gui.panels.rings_panel import RingsPanel

    panel = RingsPanel()
    qtbot.addWidget(panel)
    panel.set_elements(numbers)
    return panel.params()


def test_rings_are_the_windows_numbers_for_every_frame(qtbot, traj, frames, serial, tmp_path):
    from amorpha.engine.order.rings import write_ring_statistics

    params = window_ring_params(qtbot, frames[0].numbers)
    document = json.loads((serial / "cristobalite_rings.json").read_text())
    assert document["complete"] and len(document["results"]) == N_FRAMES
    assert document["parameters"] == {"definition": params.definition,
                                      "max_size": params.max_size,
                                      "count_element": params.count_element}
    header, rows = data_rows(serial / "cristobalite_rings.csv")
    assert header == ["frame", "size", "R_C", "R_C_per_node", "P_N", "P_max", "P_min"]
    counts = set()
    for k, (atoms, got) in enumerate(zip(frames, document["results"])):
        # what MainWindow.compute_bonds and MainWindow.compute_rings do with no cutoff overrides
        cutoffs = bond_cutoffs(atoms.numbers)
        bonded = bonds(atoms, cutoffs)
        result = compute_rings(atoms, replace(params, cutoffs=cutoffs), neighbors=bonded)
        want = result.to_dict()
        del want["rings"]
        assert got.pop("frame") == k
        assert got == json.loads(json.dumps(want)), f"frame {k}"
        counts.add(want["n_rings"] - want["n_wrapping"])
        if k in (0, 1, 4, 99):  # the CSV block is the Rings panel's own export of this frame
            write_ring_statistics(result, tmp_path / f"panel{k}.csv")
            assert [[str(k), *r] for r in data_rows(tmp_path / f"panel{k}.csv")[1]] == \
                [r for r in rows if r[0] == str(k)]
    assert len(counts) > 1  # the frames really differ


def test_two_worker_processes_write_identical_files(traj, serial, tmp_path):
    code, stdout, stderr, seconds = cli("rings", traj, "--out", tmp_path, "--format", "both",
                                        "--workers", "2")
    assert code == 0, stderr
    assert "2 processes" in stdout
    for name in ("cristobalite_rings.csv", "cristobalite_rings.json"):
        assert (tmp_path / name).read_bytes() == (serial / name).read_bytes()


def test_dask_local_cluster_writes_identical_files(traj, serial, tmp_path):
    pytest.importorskip("dask.distributed")
    code, stdout, stderr, seconds = cli("rings", traj, "--out", tmp_path, "--format", "both",
                                        "--scheduler", "local", "--workers", "2")
    assert code == 0, stderr
    assert "Dask local" in stdout
    for name in ("cristobalite_rings.csv", "cristobalite_rings.json"):
        assert (tmp_path / name).read_bytes() == (serial / name).read_bytes()


def test_all_rings_cutoffs_and_frame_selection(traj, frames, tmp_path):
    code, _, stderr, _ = cli("rings", traj, "--frames", "0:9:4", "--cutoff", "Si-O=1.9",
                             "--definition", "king", "--max-size", "12", "--count-element", "all",
                             "--all-rings", "--format", "json", "--out", tmp_path)
    assert code == 0, stderr
    results = json.loads((tmp_path / "cristobalite_rings.json").read_text())["results"]
    assert [r.pop("frame") for r in results] == [0, 4, 8]
    for k, got in zip((0, 4, 8), results):
        atoms = frames[k]
        cutoffs = bond_cutoffs(atoms.numbers)
        cutoffs[(8, 14)] = 1.9
        from amorpha.engine.order.rings import RingParams

        params = RingParams(max_size=12, definition="king", cutoffs=cutoffs)
        want = compute_rings(atoms, params, neighbors=bonds(atoms, cutoffs)).to_dict()
        assert got == json.loads(json.dumps(want))
        assert got["rings"]


def test_the_rings_csv_names_the_bond_cutoffs(traj, tmp_path):
    """Ring counts depend on the bonds: the CLI's CSV says the cutoffs, as the window's export does."""
    code, _, stderr, _ = cli("rings", traj, "--frames", "0:2", "--cutoff", "Si-O=1.9", "--max-size", "8",
                             "--format", "csv", "--out", tmp_path)
    assert code == 0, stderr
    text = (tmp_path / "cristobalite_rings.csv").read_text()
    assert "# bond cutoffs: " in text and "Si–O 1.9 Å" in text.split("# bond cutoffs: ")[1].splitlines()[0]


def test_coordination_and_order_are_the_windows(qtbot, traj, frames, tmp_path):
    from amorpha.gui.panels.order_panel import OrderPanel

    code, stdout, stderr, _ = cli("coordination", traj, "--frames", "0:3", "--format", "both",
                                  "--out", tmp_path)
    assert code == 0, stderr
    assert "mean coordination" in stdout
    results = json.loads((tmp_path / "cristobalite_coordination.json").read_text())["results"]
    for k, got in enumerate(results):
        cutoffs = bond_cutoffs(frames[k].numbers)
        want = compute_coordination(frames[k], CoordinationParams(cutoffs=cutoffs),
                                    neighbors=bonds(frames[k], cutoffs)).to_dict()
        assert got == {"frame": k, **json.loads(json.dumps(want))}
    header, rows = data_rows(tmp_path / "cristobalite_coordination.csv")
    assert header == ["frame", "element", "coordination", "atoms", "fraction"]
    si = {r[2]: int(r[3]) for r in rows if r[0] == "1" and r[1] == "Si"}
    assert si == results[1]["elements"]["Si"]["histogram"] == {"3": 2, "4": 62}  # one O missing

    panel = OrderPanel()
    qtbot.addWidget(panel)
    panel.set_elements(frames[0].numbers)
    q_params, _ = panel.steinhardt_params()
    t_params = panel.tetrahedral_params()
    code, stdout, stderr, _ = cli("order", traj, "--frames", "2,3", "--steinhardt", "6",
                                  "--tetrahedral", "--format", "both", "--out", tmp_path)
    assert code == 0, stderr
    results = json.loads((tmp_path / "cristobalite_order.json").read_text())["results"]
    for k, got in zip((2, 3), results):
        want = {"frame": k,
                "steinhardt": [compute_steinhardt(frames[k], q_params).to_dict()],
                "tetrahedral": compute_tetrahedral(frames[k], t_params).to_dict()}
        assert got == json.loads(json.dumps(want))
    header, rows = data_rows(tmp_path / "cristobalite_order.csv")
    assert header == ["frame", "quantity", "element", "count", "mean", "std"]
    q6_si = [r for r in rows if r[:3] == ["2", "q6", "Si"]][0]
    assert float(q6_si[4]) == results[0]["steinhardt"][0]["elements"]["Si"]["q6"]["mean"]
    assert {r[1] for r in rows} == {"q6", "tetrahedral_q"}


@pytest.fixture(scope="module")
def model_path(frames, tmp_path_factory):
    """A Si K model trained on spectra a fixed rule makes from SOAP features (as in
    tests/gui/test_prediction.py): the mechanics are under test, not the physics."""
    from amorpha.engine.descriptors import compute
    from amorpha.engine.spectra import SiteSpectra
    from amorpha.engine.surrogate.model import SpectrumModel, SurrogateParams
    from amorpha.engine.surrogate.pipeline import default_descriptor

    energy = np.linspace(-5, 30, 176)
    descriptor = default_descriptor(["O", "Si"])
    sites = np.flatnonzero(frames[1].numbers == 14)
    x = compute(frames[1], descriptor, sites)  # frame 1 lacks an O: its sites differ
    centre = 5 + x[:, :3].sum(axis=1) / x[:, :3].sum(axis=1).std()
    y = np.exp(-0.5 * (energy[None, :] - centre[:, None]) ** 2)
    model = SpectrumModel.train(x, SiteSpectra(energy, y, sites, "Si", "K", "rule"),
                                descriptor.to_dict(), SurrogateParams(regressor="ridge"))
    path = tmp_path_factory.mktemp("model") / "rule.amodel"
    model.save(path)
    return path


def test_order_takes_w_l_and_the_windows_tetrahedral_cutoff(tmp_path):
    """--wl gives w6 and ŵ6; tetrahedral q counts bonded O only by default (the a-SiO example:
    mean 0.987, where the 4 nearest O at any distance gave 0.331), --t-cutoff 0 as before."""
    from amorpha.engine.examples import example_path
    from amorpha.engine.io import read_structure
    from amorpha.engine.order.local_order import SteinhardtParams, TetrahedralParams, bond_cutoff_between

    path = example_path("a-SiO")
    code, stdout, stderr, _ = cli("order", path, "--wl", "--format", "both", "--out", tmp_path)
    assert code == 0, stderr
    document = json.loads((tmp_path / "a-SiO_order.json").read_text())
    atoms = read_structure(path)
    cutoff = bond_cutoff_between(atoms.numbers, "Si", "O")
    assert document["parameters"]["tetrahedral"]["cutoff"] == cutoff
    assert document["parameters"]["steinhardt"][0]["wl"] is True
    got = document["results"][0]
    assert got["steinhardt"] == [json.loads(json.dumps(compute_steinhardt(
        atoms, SteinhardtParams((6,), num_neighbors=12, wl=True)).to_dict()))]
    assert got["tetrahedral"] == json.loads(json.dumps(compute_tetrahedral(
        atoms, TetrahedralParams("Si", "O", cutoff)).to_dict()))
    assert got["tetrahedral"]["mean"] == pytest.approx(0.987, abs=0.002)
    assert "w6_hat (all): mean" in stdout and "tetrahedral_q (Si): mean 0.987" in stdout
    comments = [line for line in (tmp_path / "a-SiO_order.csv").read_text().splitlines()
                if line.startswith("#")]
    assert f"# tetrahedral_q: Si over its 4 nearest O neighbours within {cutoff:.3f} Å (fewer: no value)" in comments
    assert "# Steinhardt q6, w6, w6_hat: the 12 nearest neighbours" in comments

    code, stdout, stderr, _ = cli("order", path, "--tetrahedral", "--t-cutoff", "0", "--out", tmp_path)
    assert code == 0, stderr
    assert "tetrahedral_q (Si): mean 0.3315" in stdout

    # a bond cutoff of the Bonds table's kind moves the default as it does in the window
    code, stdout, stderr, _ = cli("order", path, "--tetrahedral", "--cutoff", "Si-O=1.7",
                                  "--format", "json", "--out", tmp_path)
    assert code == 0, stderr
    document = json.loads((tmp_path / "a-SiO_order.json").read_text())
    assert document["parameters"]["tetrahedral"]["cutoff"] == 1.7
    assert document["results"][0]["tetrahedral"] == json.loads(json.dumps(compute_tetrahedral(
        atoms, TetrahedralParams("Si", "O", 1.7)).to_dict()))


def test_order_on_a_molecule_says_what_it_could_not_do(tmp_path):
    """Water: 2 neighbours, not the 12 asked for, and no atom with 4 bonded neighbours."""
    path = tmp_path / "water.xyz"
    path.write_text("3\nwater\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n")
    code, stdout, stderr, _ = cli("order", path, "--out", tmp_path)
    assert code == 0, stderr
    assert ("q6: atoms have as few as 2 neighbours, not the 12 asked for (a model without a "
            "periodic cell has no more); see --neighbors") in stdout
    assert ("tetrahedral_q: no atom has a value. Asked for: Every atom over its 4 nearest "
            "neighbours within 1.584 Å (fewer: no value); see --centre, --neighbor, --t-cutoff") in stdout


def test_the_rings_summary_gives_its_spread_in_digits():
    from amorpha.engine.cli import RingsCommand
    from amorpha.engine.order.rings import RingParams

    command = RingsCommand()
    command.params = RingParams(count_element="Si")
    results = [{"histogram": {6: n}, "n_wrapping": 0} for n in (423, 632)]  # 527.5 ± 104.5
    assert command.summary([0, 1], results)[0] == "rings per frame: 528 ± 104"
    assert RingsCommand._plus_minus(12.3456, 0.4123) == "12.35 ± 0.41"
    assert RingsCommand._plus_minus(7.0, 0.0) == "7 ± 0"
    assert command.summary([0], results[:1])[0] == "rings per frame: 423"


def test_predicted_spectra_are_the_models_averages(frames, traj, model_path, tmp_path):
    from amorpha.engine.surrogate.model import SpectrumModel

    code, stdout, stderr, _ = cli("predict-spectrum", traj, "--model", model_path,
                                  "--frames", "0:3", "--out", tmp_path)
    assert code == 0, stderr
    header, rows = data_rows(tmp_path / "cristobalite_spectrum.csv")
    assert header == ["energy", "frame0", "frame1", "frame2"]
    table = np.array(rows, dtype=float)
    loaded = SpectrumModel.load(model_path)
    assert np.array_equal(table[:, 0], loaded.energy)
    for k in range(3):
        want = loaded.average(loaded.predict_structure(frames[k])).intensity
        # the same arithmetic in another process, whose BLAS and numba threads may sum in another
        # order: under load values came out 2e-9 apart relatively (1e-11 absolute on 1e-3), so
        # equal to rounding, far below the frames' own differences (checked next)
        np.testing.assert_allclose(table[:, k + 1], want, rtol=1e-7, atol=1e-7 * np.abs(want).max(),
                                   err_msg=f"frame {k}")
    assert np.abs(table[:, 1] - table[:, 2]).max() > 1e-4 * np.abs(table[:, 1]).max()


def test_no_built_in_model_a_model_without_the_element_and_a_damaged_model(traj, model_path,
                                                                           tmp_path):
    from amorpha.resources import path

    code, _, stderr, _ = cli("predict-spectrum", traj, "--frames", "0", "--out", tmp_path)
    if (path("models") / "Si-K-xtb.amodel").is_file():
        assert code == 0, stderr
    else:
        assert code == 2 and "--model PATH" in stderr and len(stderr.strip().splitlines()) == 1

    oxygen = tmp_path / "oxygen.xyz"
    oxygen.write_text("2\nO2\nO 0 0 0\nO 0 0 1.21\n")
    code, _, stderr, _ = cli("predict-spectrum", oxygen, "--model", model_path, "--out", tmp_path)
    assert code == 2 and stderr.strip() == ("amorpha-cli: error: rule.amodel: this model predicts "
                                            "Si K spectra and the structure has no Si")
    damaged = tmp_path / "damaged.amodel"
    damaged.write_bytes(model_path.read_bytes()[:1000])
    code, _, stderr, _ = cli("predict-spectrum", traj, "--model", damaged, "--out", tmp_path)
    assert code == 2 and "damaged.amodel: damaged or incomplete model file" in stderr  # cut short
    assert len(stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def corrupt(tmp_path_factory):
    path = tmp_path_factory.mktemp("corrupt") / "corrupt.xyz"
    path.write_text("3\nSi3\nSi 0 0 0\nSi 1.0 1.0\nSi 2 2 2\n")
    return path


@pytest.mark.parametrize("case, args, words, limit", [
    ("missing file", ["rings", "{dir}/nothing_here.xyz"], ["nothing_here.xyz", "no such file"], 30),
    ("corrupt xyz", ["rings", "{corrupt}"], ["corrupt.xyz, line 4"], 30),
    ("bad frame range", ["rings", "{traj}", "--frames", "5:2"], ["--frames", "5:2", "no frames"], 30),
    ("frame out of range", ["rings", "{traj}", "--frames", "100"], ["frame 100", "100 frames"], 30),
    ("bad cutoff", ["rings", "{traj}", "--cutoff", "Si-O=abc"], ["--cutoff", "abc"], 30),
    ("bad parameter", ["order", "{traj}", "--steinhardt", "30"], ["--steinhardt", "between 1 and 20"], 30),
    ("no scheduler", ["rings", "{traj}", "--scheduler", "tcp://127.0.0.1:1"],
     ["tcp://127.0.0.1:1", "cannot reach"], 20),
])
def test_bad_input_is_one_sentence_and_exit_2(case, args, words, limit, traj, corrupt, tmp_path):
    if case == "no scheduler":
        pytest.importorskip("dask.distributed")
    args = [a.format(dir=tmp_path, corrupt=corrupt, traj=traj) for a in args]
    code, stdout, stderr, seconds = cli(*args, "--out", tmp_path / "out")
    assert code == 2, (case, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("amorpha-cli: error: "), stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in stderr and seconds < limit
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_bad_frame_in_the_middle_stops_the_run_and_keeps_the_finished_frames(tmp_path):
    path = tmp_path / "mid.xyz"
    path.write_text("2\nO2\nO 0 0 0\nO 0 0 1.21\n" "2\nO2\nO 0 0 0\nO 0 1.21\n"
                    "2\nO2\nO 0 0 0\nO 0 0 1.3\n")
    code, stdout, stderr, _ = cli("coordination", path, "--out", tmp_path)
    assert code == 2
    assert stderr.strip() == ("amorpha-cli: error: frame 1: mid.xyz, line 8: expected 3 "
                              "coordinates, found 2; 1 finished frame written")
    text = (tmp_path / "mid_coordination.csv").read_text()
    assert "INCOMPLETE (failed): 1 of 3 frames" in text and text.endswith("0,O,1,2,1\n")


def test_placeholder_elements_are_warned_about_and_named_by_symbols(tmp_path):
    """A LAMMPS data file (or an RMC++ cfg) numbers its species: without --symbols the numbers ran
    silently as "H 0, He 0" (the window says it in orange); now a warning names the option, and
    --symbols names them."""
    from amorpha.engine.build.crystals import beta_cristobalite

    cell = beta_cristobalite()
    box = cell.cell.lengths()
    atoms = "\n".join(f"{k} {1 if z == 14 else 2} {x:.6f} {y:.6f} {w:.6f}"
                       for k, (z, (x, y, w)) in enumerate(zip(cell.numbers, cell.positions), 1))
    (path := tmp_path / "cristobalite.data").write_text(
        f"beta-cristobalite\n\n{len(cell)} atoms\n2 atom types\n\n0 {box[0]} xlo xhi\n0 {box[1]} ylo yhi\n"
        f"0 {box[2]} zlo zhi\n\nAtoms # atomic\n\n{atoms}\n")
    code, stdout, stderr, _ = cli("coordination", path, "--out", tmp_path)
    assert code == 0 and "warning: cristobalite.data: no element names in the file" in stderr
    assert "--symbols with amorpha-cli" in stderr
    code, stdout, stderr, _ = cli("coordination", path, "--out", tmp_path, "--symbols", "Si,O")
    assert code == 0 and "warning" not in stderr and "mean coordination: O 2, Si 4" in stdout, stdout


def test_ctrl_c_writes_the_finished_frames_and_exits_130(traj, tmp_path):
    proc = subprocess.Popen([*CLI, "rings", str(traj), "--out", str(tmp_path), "--progress",
                             "--format", "both"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = bytearray()

    def pump():
        while chunk := proc.stderr.read1(4096):
            seen.extend(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + 60

    def frames_done() -> int:  # the progress line is throttled: it may go 0, 4, 9… and skip 3
        return max((int(n) for n in re.findall(rb"(\d+)/100 frames", bytes(seen))), default=0)

    while frames_done() < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(30)
    reader.join(5)
    stderr = seen.decode()
    assert code == 130, stderr
    assert "cancelled after" in stderr and "Traceback" not in stderr
    document = json.loads((tmp_path / "cristobalite_rings.json").read_text())
    done = [r["frame"] for r in document["results"]]
    assert not document["complete"] and document["status"] == "cancelled"
    assert 3 <= len(done) < N_FRAMES and done == list(range(len(done)))
    text = (tmp_path / "cristobalite_rings.csv").read_text()
    assert f"INCOMPLETE (cancelled): {len(done)} of {N_FRAMES} frames" in text
    assert "\r" in stderr  # the progress line updates in place


# ----------------------------------------------------------------------------- the Python API


def test_frame_selection():
    assert resolve_frames(None, 4) == [0, 1, 2, 3]
    assert resolve_frames("1:", 4) == [1, 2, 3]
    assert resolve_frames("::2", 5) == [0, 2, 4]
    assert resolve_frames("-1", 5) == [4]
    assert resolve_frames("0,3,1:3", 5) == [0, 3, 1, 2]
    assert resolve_frames(slice(0, 1000), 3) == [0, 1, 2]
    assert parse_frames("0:100:1") == [slice(0, 100, 1)]
    for bad in ("5:2", "a", "1:2:0", "1:2:3:4", "", "1,,2"):
        with pytest.raises(ParameterError):
            parse_frames(bad)
    for bad in ("7", "10:", "-8"):
        with pytest.raises(ParameterError):
            resolve_frames(bad, 5)


def test_run_frames_in_process_cancel_and_a_failing_frame(traj, frames):
    analysis = RingAnalysis()
    got = run_frames(traj, analysis, "0:3")
    want = [RingAnalysis()(frames[k]) for k in range(3)]
    assert got == want

    looks = []  # how often one frame looks at cancel
    run_frames(traj, analysis, "0", cancel=lambda: looks.append(1) or False)
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2.5 * len(looks)  # some way into the run

    with pytest.raises(BatchCancelled) as info:
        run_frames(traj, analysis, None, cancel=cancel)
    assert 0 < len(info.value.frames) < N_FRAMES
    assert info.value.frames == list(range(len(info.value.frames)))
    assert info.value.results == [RingAnalysis()(frames[k]) for k in info.value.frames]

    with pytest.raises(FrameError) as info:
        run_frames(traj, _fails_on_frame_2, "0:5")
    assert info.value.frame == 2 and info.value.frames == [0, 1]
    assert "frame 2: no good" in str(info.value)


def _fails_on_frame_2(atoms, progress=None, cancel=None):
    if len(atoms) == 190:  # frame 2 lacks two oxygens
        raise ValueError("no good")
    return len(atoms)


def test_diffusion_command_matches_the_engine(tmp_path):
    """Li in an fcc Ag host: 4 octahedral + 8 tetrahedral sites per cubic cell, oct–tet hops."""
    from ase.build import bulk

    from amorpha.engine.batch import DiffusionAnalysis

    host = bulk("Ag", "fcc", 4.09, cubic=True).repeat(2)
    path = tmp_path / "ag.extxyz"
    write_extxyz([host], path)
    code, _, err, _ = cli("diffusion", path, "--element", "Li", "--temperatures", "300,400,500",
                          "--walkers", "50", "--steps", "300", "--format", "json", "--paths",
                          "--out", tmp_path)
    assert code == 0, err
    (document,) = [json.loads(p.read_text()) for p in tmp_path.glob("*diffusion.json")]
    (result,) = document["results"]
    expected = DiffusionAnalysis("Li", (300.0, 400.0, 500.0), 50, 300)(host)
    assert result["sites"] == expected["sites"] == 12 * 8
    assert "paths" not in result and "paths" not in expected  # the table has its own file:
    header, rows = data_rows(tmp_path / "ag_paths.csv")
    assert header[:4] == ["frame", "path", "site_i", "site_j"] and len(rows) == result["n_paths"] == 256
    table = np.array(rows, float)  # no merged sites: one minimum each, a number
    converged = header.index("converged")
    assert (table[:, 0] == 0).all() and table[:, converged].all()  # frame 0; every band converged
    # oct → tet and back: the barriers differ by the two sites' energies (detailed balance)
    np.testing.assert_allclose(table[:, 17] - table[:, 16], table[:, 13] - table[:, 14], atol=1e-12)
    comments = (tmp_path / "ag_paths.csv").read_text().splitlines()[:2]
    assert comments == ["# frame 0: sites and minimum-energy paths of Li: 96 sites, 256 paths",
                        "# frame 0: cell (A): 8.18 0.0 0.0; 0.0 8.18 0.0; 0.0 0.0 8.18"]
    assert result["percolation_barrier_ev"] == pytest.approx(expected["percolation_barrier_ev"], abs=1e-9)
    assert result["D_A2_per_s"] == pytest.approx(expected["D_A2_per_s"], rel=1e-12)
    code, _, err, _ = cli("diffusion", path, "--temperatures", "300,-5")
    assert code == 2 and "above 0 K" in err


def test_diffusion_defaults_are_the_windows_and_a_short_scan_says_what_e_a_is(tmp_path):
    """The CLI ran 2000 hops at 600-1200 K where the window runs 10⁵ at 500-1000 K: E_a 0.20 eV
    against the window's 0.52 on a-SiO2, without the window's note that the walkers never
    crossed the cell. Now one set of defaults serves both, a scan too short says so, and bad
    --steps/--walkers/--temperatures are refused before the site search."""
    from ase.build import bulk

    from amorpha.engine.batch import SCAN_HOPS, SCAN_TEMPERATURES, SCAN_WALKERS
    from amorpha.engine.cli import build_parser

    args = build_parser().parse_args(["diffusion", "x.xyz"])
    assert (args.temperatures, args.walkers, args.steps) == ("500,625,750,875,1000", SCAN_WALKERS, SCAN_HOPS)
    assert SCAN_TEMPERATURES == (500.0, 625.0, 750.0, 875.0, 1000.0)
    path = tmp_path / "ag.extxyz"
    write_extxyz([bulk("Ag", "fcc", 4.09, cubic=True).repeat(2)], path)
    code, out, err, _ = cli("diffusion", path, "--element", "Li", "--temperatures", "300,400",
                            "--walkers", "5", "--steps", "3", "--out", tmp_path)
    assert code == 0, err
    assert "the walkers did not cross the cell" in (out + err).lower() and "E_a describes only the hops" in out + err
    for option, value, words in (("--steps", "0", "--steps"), ("--walkers", "0", "--walkers"),
                                 ("--temperatures", "600,600", "two different temperatures")):
        code, _, err, seconds = cli("diffusion", path, "--element", "Li", option, value, "--out", tmp_path)
        assert code == 2 and words in err, (option, err)


def test_diffusion_command_on_sheets_reports_them_and_d_in_their_plane(tmp_path):
    """An Ag slab with a 12 Å gap: Li's paths span the cell in the ab plane only. The command
    failed there after the whole scan ("does not span the cell in all three directions")."""
    from ase.build import bulk

    slab = bulk("Ag", "fcc", 4.09, cubic=True).repeat(2)
    cell = slab.cell.array.copy()
    cell[2, 2] += 12.0
    slab.set_cell(cell)
    path = tmp_path / "slab.extxyz"
    write_extxyz([slab], path)
    code, out, err, _ = cli("diffusion", path, "--element", "Li", "--temperatures", "300,500",
                            "--walkers", "20", "--steps", "200", "--out", tmp_path)
    assert code == 0, err
    assert "the paths span the cell only in the ab plane (sheets), from a barrier of" in out + err
    header, rows = data_rows(tmp_path / "slab_diffusion.csv")
    assert header[4] == "spans" and {row[4] for row in rows} == {"in the ab plane (sheets)"}
    code, _, err, _ = cli("diffusion", path, "--element", "Li", "--temperatures", "300,500",
                          "--walkers", "20", "--steps", "200", "--format", "json", "--out", tmp_path)
    (result,) = json.loads((tmp_path / "slab_diffusion.json").read_text())["results"]
    windings = np.array(result["spanning_windings"])
    assert windings.shape == (2, 3) and not windings[:, 2].any()
    # the CSV's cells crossed are the JSON's (the same seeds), one row per temperature
    assert header[15:] == ["crossed_a", "crossed_b", "crossed_c"]
    crossed = np.array([[float(x) for x in row[15:]] for row in rows])
    assert np.allclose(crossed, result["cells_crossed"], rtol=1e-3)


def test_diffusion_command_takes_the_windows_site_ceiling_and_hop_distance(tmp_path):
    """Cu in α-quartz: its lowest minimum is 1.559 eV, so the default ceiling (1 eV) finds no
    site and says which option to raise; --sites-up-to 1.6 finds the c channels."""
    from amorpha.engine.build.crystals import CrystalParams, build_crystal

    path = tmp_path / "quartz.extxyz"
    write_extxyz([build_crystal(CrystalParams("alpha-quartz", (2, 2, 2)))], path)
    run = ("diffusion", path, "--temperatures", "1500,2000", "--walkers", "20", "--steps", "200",
           "--out", tmp_path)
    code, _, err, _ = cli(*run)
    assert code == 2 and "frame 0: --sites-up-to: no site for Cu" in err
    assert "raise --sites-up-to or choose a smaller atom" in err and "energy_max" not in err
    code, out, err, _ = cli(*run, "--sites-up-to", "1.6", "--format", "json")
    assert code == 0, err
    assert "the paths span the cell only along c (channels), from a barrier of 2.339 eV" in out
    document = json.loads((tmp_path / "quartz_diffusion.json").read_text())
    assert document["parameters"]["sites_up_to_ev"] == 1.6
    assert document["results"][0]["spanning_windings"] in ([[0, 0, 1]], [[0, 0, -1]])
    for option, value, words in (("--hop-distance", "0", "--hop-distance needs a hop distance"),
                                 ("--sites-up-to", "nan", "--sites-up-to needs an energy ceiling")):
        code, _, err, _ = cli(*run, option, value)
        assert code == 2 and words in err and "frame" not in err  # before any frame runs


def test_a_castep_models_spectra_say_their_energy_scale(traj, model_path, tmp_path):
    """A model trained on CASTEP/OptaDOS spectra counts energies from CASTEP's zero, not the edge:
    the file's header and the JSON parameters say so."""
    from amorpha.engine.spectra.castep import AXIS
    from amorpha.engine.surrogate.model import SpectrumModel

    model = SpectrumModel.load(model_path)
    model.axis = AXIS
    model.save(tmp_path / "castep.amodel")
    code, _, stderr, _ = cli("predict-spectrum", traj, "--model", tmp_path / "castep.amodel",
                             "--frames", "0", "--out", tmp_path)
    assert code == 0, stderr
    assert "energies on the CASTEP/OptaDOS scale)" in (tmp_path / "cristobalite_spectrum.csv").read_text()
    code, _, stderr, _ = cli("predict-spectrum", traj, "--model", tmp_path / "castep.amodel",
                             "--frames", "0", "--format", "json", "--out", tmp_path)
    assert code == 0, stderr
    document = json.loads((tmp_path / "cristobalite_spectrum.json").read_text())
    assert document["parameters"]["energy_scale"] == AXIS

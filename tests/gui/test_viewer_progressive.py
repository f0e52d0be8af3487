"""Draw budget and progressive refinement of the structure viewer (under Xvfb, marked gl)."""
import time


import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list

from amorpha.engine.build.crystals import alpha_quartz
from amorpha.gui.viewer import StructureViewer, prepare_atoms_arrays
from amorpha.gui.viewer.progressive import gather, is_software_renderer, shuffled_order

from .stall_monitor import FROZEN_S, least_stalled

SIZE = (480, 360)


def test_shuffled_order_and_gather():
    o = shuffled_order(1000, 7)
    assert sorted(o) == list(range(1000)) and not np.array_equal(o, np.arange(1000))
    assert np.array_equal(o, shuffled_order(1000, 7))
    x = np.random.default_rng(0).random((1000, 3)).astype(np.float32)
    assert np.array_equal(gather(x, o), x[o])
    assert np.array_equal(gather(x[:, 0].copy(), o), x[o, 0])
    assert is_software_renderer("llvmpipe (LLVM 15.0.6, 256 bits)")
    assert not is_software_renderer("NVIDIA GeForce RTX 3080/PCIe/SSE2")


@pytest.fixture(scope="module")
def quartz20k():
    atoms = alpha_quartz((13, 13, 13))  # 19773 atoms
    i, j, s = neighbor_list("ijS", atoms, 2.0)
    return atoms, (i, j, s)


@pytest.mark.gl
def test_accumulated_picture_equals_the_direct_one(qtbot, shown, quartz20k):
    atoms, bonds = quartz20k
    viewer = shown(StructureViewer(), *SIZE)
    viewer.set_atoms(atoms)
    viewer.set_bonds(*bonds)
    qtbot.waitUntil(lambda: not viewer.bonds_pending, timeout=10000)
    viewer.set_selection([0, 5, 100])
    viewer.set_draw_budget(1e12)  # everything in one paint, straight into the frame
    full = viewer.render_image()
    assert not viewer.layer.accumulating

    viewer.set_draw_budget(3000)  # ~50 chunks over as many paints
    with qtbot.waitSignal(viewer.render_complete, timeout=30000):
        viewer.canvas.update()
    assert viewer.rendering_complete
    assert viewer.layer.accumulating and viewer.layer.chunks_drawn > 10
    progressive = viewer.render_image()
    diff = np.abs(progressive[..., :3].astype(int) - full[..., :3]).sum(-1) > 30
    print(f"chunks {viewer.layer.chunks_drawn}, differing pixels {diff.mean() * 100:.3f} %")
    assert diff.mean() < 0.001


@pytest.mark.gl
def test_partial_frames_thin_the_whole_model_and_render_image_completes(qtbot, shown, quartz20k):
    atoms, _ = quartz20k
    viewer = shown(StructureViewer(), *SIZE)
    viewer.set_draw_budget(2000)
    on_paint, viewer.layer.on_paint = viewer.layer.on_paint, None  # no automatic refinement
    viewer._refine_timer.stop()  # nor one already scheduled
    viewer.set_atoms(atoms)
    qtbot.waitUntil(lambda: viewer.layer.chunks_drawn >= 1 and viewer.layer.progress > 0,
                    timeout=5000)
    qtbot.wait(50)
    assert viewer.layer.chunks_drawn == 1  # first chunk only: ~2000 of 19773 atoms
    assert not viewer.rendering_complete
    assert 0 < viewer.layer.progress < 0.2
    viewer.layer.on_paint = on_paint
    # render_image finishes all chunks at once: equal to a direct render
    img = viewer.render_image()
    assert viewer.layer.complete
    viewer.set_draw_budget(None)
    viewer.set_draw_budget(1e12)
    direct = viewer.render_image()
    diff = np.abs(img[..., :3].astype(int) - direct[..., :3]).sum(-1) > 30
    assert diff.mean() < 0.001
    # any change restarts the accumulation
    viewer.set_draw_budget(2000)
    viewer.render_image()
    assert viewer.rendering_complete
    viewer.view.camera.azimuth += 5
    assert not viewer.rendering_complete
    with qtbot.waitSignal(viewer.render_complete, timeout=30000):
        viewer.canvas.update()
    viewer.set_slab((0, 0, 1), atoms.cell[:].sum(axis=0) / 2, 4.0)
    assert not viewer.rendering_complete


@pytest.mark.gl
def test_picking_and_selection_use_original_indices(qtbot, shown):
    atoms = alpha_quartz((2, 2, 2))
    viewer = shown(StructureViewer(), *SIZE)
    viewer.set_draw_budget(20)  # 72 atoms: several chunks
    viewer.set_atoms(atoms)
    assert not np.array_equal(viewer._order, np.arange(len(atoms)))
    with qtbot.waitSignal(viewer.render_complete, timeout=10000):
        viewer.canvas.update()
    img = viewer.render_image()
    xy = viewer.project(atoms.positions)
    front = [k for k in range(len(atoms)) if viewer.pick(*xy[k]) == k]
    assert len(front) > len(atoms) // 4
    # the drawn pixel at a front atom has that atom's (original index) colour
    from amorpha.engine.elements import jmol_rgb

    scale = img.shape[1] / viewer.canvas.size[0]
    good = 0
    for k in front:
        x, y = xy[k]
        px = img[int(y * scale), int(x * scale), :3].astype(float)
        want = jmol_rgb([atoms.numbers[k]])[0] * 255
        good += np.allclose(px / max(px.sum(), 1), want / want.sum(), atol=0.08)
    assert good > 0.8 * len(front)
    # colour by index: atom k's pixel carries value k's colour
    viewer.color_by(np.arange(len(atoms)), "index", cmap="viridis")
    img2 = viewer.render_image()
    from amorpha.gui.viewer.colormap import map_values

    cols = map_values(np.arange(len(atoms)), "viridis") * 255
    k = front[len(front) // 2]
    x, y = xy[k]
    px = img2[int(y * scale), int(x * scale), :3].astype(float)
    others = np.linalg.norm(cols[:, :3] / cols[:, :3].sum(1, keepdims=True)
                            - px / px.sum(), axis=1)
    # Lighting shifts the hue a little (neighbouring indices are 1/72 of viridis apart): atom k's
    # colour must be among the 7 nearest of 72, where a wrong index mapping lands anywhere.
    assert others[k] <= np.sort(others)[6], (k, np.argsort(others)[:7])
    # a selection ring appears around the selected (original-index) atom
    viewer.set_selection([k])
    sel = viewer.render_image()
    changed = np.abs(sel[..., :3].astype(int) - img2[..., :3]).sum(-1) > 30
    ys, xs = np.nonzero(changed)
    assert len(xs) > 10
    assert np.hypot(xs.mean() - x * scale, ys.mean() - y * scale) < 10


def lattice_model(m, seed=0):
    """m^3 jittered cubic lattice (2 Å) with bonds along x and y: 2 m^3 bonds, both directions."""
    rng = np.random.default_rng(seed)
    a = 2.0
    g = np.stack(np.meshgrid(np.arange(m), np.arange(m), np.arange(m), indexing="ij"),
                 -1).reshape(-1, 3)
    n = len(g)
    idx = np.arange(n).reshape(m, m, m)
    i = np.concatenate([idx.ravel(), idx.ravel()])
    j = np.concatenate([np.roll(idx, -1, 0).ravel(), np.roll(idx, -1, 1).ravel()])
    sh = np.zeros((2 * n, 3), np.int64)
    sh[:n, 0] = g[:, 0] == m - 1
    sh[n:, 1] = g[:, 1] == m - 1
    i, j, sh = np.concatenate([i, j]), np.concatenate([j, i]), np.concatenate([sh, -sh])
    atoms = Atoms(numbers=rng.choice([14, 8], n), positions=g * a + rng.normal(0, 0.1, g.shape),
                  cell=[m * a] * 3, pbc=True)
    return atoms, (i, j, sh)


@pytest.mark.gl
def test_million_atoms_with_bonds_never_stall_the_gui_thread(qtbot, shown):
    """10^6 atoms and 4*10^6 half-bonds shown, loaded, bonded and accumulated: no GUI-thread
    gap (measured with a 10 ms QTimer) over 100 ms in the best of three loads."""
    from amorpha.gui.viewer import bonds as bonds_module
    from amorpha.gui.viewer import picking

    bonds_module.warm_up()  # the app does this in a worker at start-up
    picking.warm_up()
    viewer = shown(StructureViewer(), 800, 600)
    small, small_bonds = lattice_model(3)
    viewer.set_atoms(small)
    viewer.set_bonds(*small_bonds)
    viewer.render_image()  # shaders compiled
    atoms, bonds = lattice_model(100)
    prepared = prepare_atoms_arrays(atoms)  # a worker thread does this in the app

    times = {}

    def run():
        viewer.set_atoms(small)  # each attempt loads the big model afresh
        t0 = time.perf_counter()
        viewer.set_atoms(atoms, prepared=prepared, reset_camera=True)
        qtbot.waitUntil(lambda: viewer.rendering_complete, timeout=60000)
        times["atoms"] = time.perf_counter() - t0
        viewer.set_bonds(*bonds)
        # ~10 s here; 60 s was once not enough on a loaded CI machine (2026-11-23, the suite
        # 1.1x slower than usual): the time is not what this test checks, the stalls are
        qtbot.waitUntil(lambda: not viewer.bonds_pending and viewer.rendering_complete,
                        timeout=240000)
        times["all"] = time.perf_counter() - t0
        qtbot.wait(100)
        assert viewer.n_atoms == 1_000_000 and viewer.bonds_node.count == 4_000_000

    best = least_stalled(run, "10^6 atoms + bonds")
    print(f"atoms complete after {times['atoms']:.2f} s, atoms + bonds after {times['all']:.2f} "
          f"s; budget {viewer.draw_budget:.0f} ({viewer.layer.renderer})")
    assert best.worst < FROZEN_S, best.report()

"""Entry point: ``amorpha [FILE] [--symbols Si,O] [--screenshot OUT.png]`` (also ``python -m amorpha.gui``)."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

NO_DISPLAY = (
    "No display found: Amorpha needs a screen; on a headless machine run it under a virtual "
    "one, e.g. 'xvfb-run -a amorpha' (or 'xvfb-run -a make run')."
)
SCREENSHOT_TIMEOUT_S = 300


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    from amorpha.engine.spectra.features import FEATURES

    parser = argparse.ArgumentParser(
        prog="amorpha", description="Amorpha: a workbench for disordered materials."
    )
    parser.add_argument("file", nargs="?", help="structure file to open (default: an example model)")
    parser.add_argument(
        "--symbols", metavar="EL,EL,...",
        help="elements of the numbered atom types of an RMC++ cfg or LAMMPS FILE, in type order (e.g. Si,O)",
    )
    parser.add_argument(
        "--screenshot", metavar="OUT.png", help="render the window with the model, save a PNG, exit"
    )
    parser.add_argument(
        "--color-by", metavar="ARRAY", help="colour atoms by a per-atom array (e.g. coordination)"
    )
    parser.add_argument(
        "--select", metavar="INDEX", type=int, help="select an atom (shows its neighbourhood)"
    )
    parser.add_argument(
        "--rings", metavar="DEFINITION", choices=("primitive", "strong", "king", "guttman"),
        help="search rings (primitive, strong, king or guttman) once the model is shown; Rings panel in front",
    )
    parser.add_argument(
        "--ring-size", metavar="N", type=int, help="with --rings: highlight the rings of this size"
    )
    parser.add_argument(
        "--homology", action="store_true",
        help="compute the persistence diagram of the model's Si (or first) atoms once it is shown; "
             "Rings panel's Homology tab in front",
    )
    parser.add_argument(
        "--diffusion", action="store_true",
        help="find Cu sites and hop paths in the model, then a KMC temperature scan; Diffusion panel in front",
    )
    parser.add_argument("--dock", choices=["Structure", "Rings", "Order", "Predict", "Diffusion", "Measured", "Diffraction",
                                            "GB Search"],
                        help="bring this panel to the front")
    parser.add_argument(
        "--measured", metavar="FILE",
        help="open a measured spectrum (Measured panel), subtract its background and, once the "
             "model's spectrum of its edge is predicted, explain it by the model's site classes "
             "(Si by oxidation state, O by coordination) and show the fit",
    )
    parser.add_argument(
        "--gb-search", action="store_true",
        help="run a small Bayesian-optimisation search of Cu Σ5(310) with ASE's EMT (under a minute) "
             "and show its best structure; GB Search panel in front",
    )
    parser.add_argument(
        "--spectral-feature", metavar="KEY", choices=[f.key for f in FEATURES],
        help="once the spectra are predicted, colour the absorbing atoms by this feature of their own "
             "spectrum (edge_energy, peak_energy, peak_height, centroid; intensity: at the marker), or by "
             "training_distance, how far each site lies from the model's training sites, or by "
             "prediction_uncertainty, a Gaussian-process model's ±1σ relative to the site's spectrum",
    )
    parser.add_argument("--size", default="1500x950", help="window size WIDTHxHEIGHT (default 1500x950)")
    return parser.parse_args(argv)


def has_display() -> bool:
    if sys.platform != "linux":
        return True
    return bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal", "vnc"))
    )


def _quiet_library_chatter() -> None:
    """Keep notes meant for script writers off the terminal of the window: scikit-learn's "a GP
    hyperparameter is close to its bound" (the fit is used as it is either way) and RosettaSciIO's
    unparsed DATE/TIME fields of .msa files. Set once at start: warning filters are process-wide
    and not safe to change while worker threads fit."""
    import logging
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    import rsciio  # sets its own level on import (6 ms): set ours after

    logging.getLogger("rsciio").setLevel(logging.ERROR)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    symbols = None
    if args.symbols is not None:
        from amorpha.engine.errors import ParameterError
        from amorpha.engine.io.atom_types import parse_symbols

        try:
            symbols = parse_symbols(args.symbols)
        except ParameterError as exc:
            print(f"--symbols: {exc.reason}", file=sys.stderr)
            return 2
        if not args.file:
            print("--symbols needs a FILE to name the atom types of", file=sys.stderr)
            return 2
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"--size must look like 1500x950, not {args.size!r}", file=sys.stderr)
        return 2

    _quiet_library_chatter()
    import vispy

    vispy.use("pyside6")
    from PySide6.QtWidgets import QApplication

    from amorpha.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Amorpha")
    from PySide6.QtGui import QIcon

    from amorpha.resources import path as resource_path

    app.setWindowIcon(QIcon(str(resource_path("icons") / "amorpha.png")))
    app.setOrganizationName("Amorpha")
    window = MainWindow()
    window.resize(width, height)
    window.show()
    window.model_ready.connect(lambda: _apply_view_options(window, args))
    if args.screenshot:
        _arm_screenshot(app, window, args.screenshot, bool(args.rings), args.diffusion, bool(args.measured),
                        args.gb_search, args.homology)
    if args.measured:
        _open_measured(window, args.measured)
    if args.spectral_feature:  # connected before the screenshot's wait ends, so coloured in it
        window.prediction.prediction_settled.connect(lambda: _colour_by_feature(window, args.spectral_feature))
    window.prediction.load_default()  # the built-in Si K surrogate predicts as soon as a model is shown
    if args.gb_search:
        _start_gb_search(window)
    if args.file:
        window.open_path(args.file, ask_large=not args.screenshot, symbols=symbols)
    elif not args.gb_search:  # the search's best structure will be the model
        window.show_default_model()
    if not args.screenshot:
        window.project.offer_recovery()  # the last session crashed: offer what autosave kept
    return app.exec()


def _apply_view_options(window, args: argparse.Namespace) -> None:
    """The command line's view choices, once the model and its per-atom arrays are there."""
    if args.color_by:
        if args.color_by not in window.atoms.arrays:
            names = ", ".join(n for n in window.atoms.arrays if n not in ("numbers", "positions"))
            window.show_error("Colour by", f"no per-atom array '{args.color_by}'; this model has: {names}")
        else:
            window.view_panel.set_color_key(args.color_by)
    if args.dock:
        window.docks[args.dock].raise_()
    if args.select is not None:
        window.select_atom(args.select)
    if args.rings:
        panel = window.rings_panel
        window.docks["Rings"].raise_()
        panel.definition.setCurrentIndex(panel.definition.findData(args.rings))
        if args.ring_size is not None:
            panel.result_shown.connect(lambda: panel.select_size(args.ring_size))
        panel.compute_button.click()
    if args.homology:
        panel = window.rings_panel
        window.docks["Rings"].raise_()
        panel.tabs.setCurrentWidget(panel.homology)
        panel.homology.compute()
    if args.diffusion and window.diffusion.landscape is None and not window.diffusion.busy:
        window.docks["Diffusion"].raise_()
        window.diffusion.find(then_scan=True)


def _colour_by_feature(window, key: str) -> None:
    """Choose ``key`` in the Predict panel's Colour atoms by list and colour the atoms by it."""
    window.prediction_panel.show_feature(key)
    window.prediction.colour_atoms()


def _open_measured(window, path: str) -> None:
    """Open a measured file; when it and the model's prediction are both shown, explain it, after
    subtracting the power-law background when the file's windows sit around an edge seen in its
    counts (a raw core loss; a spectrum without an edge step is explained as it is)."""
    from PySide6.QtCore import Qt

    state = set()
    measured = window.measured

    def explain() -> None:
        if measured.explain_shown_model() is None:
            measured.fitted.emit()  # nothing to fit with: the picture need not wait

    def step(what: str) -> None:
        state.add(what)
        if {"opened", "predicted"} <= state and "started" not in state:
            state.add("started")
            window.docks["Measured"].raise_()
            from PySide6.QtWidgets import QDockWidget

            spectrum_dock = window.findChild(QDockWidget, "Spectrum")
            window.resizeDocks([spectrum_dock], [max(360, window.height() // 3)], Qt.Vertical)  # room for the curves
            if measured.edge_seen is None:
                explain()
                return
            measured.changed.connect(explain, Qt.SingleShotConnection)
            measured.apply_step("powerlaw_background", window.measured_panel.background_params())

    window.measured.changed.connect(lambda: step("opened"))
    window.prediction.prediction_settled.connect(lambda: step("predicted"))
    window.measured.open(path)


def _start_gb_search(window) -> None:
    """Cu Σ5(310) with ASE's EMT: 756 candidates, 30 evaluations of Bayesian optimisation (EI),
    12 Å grains."""
    panel = window.gb_panel
    window.docks["GB Search"].raise_()
    panel.select_boundary("Cu", 5, (3, 1, 0))
    panel.oracle.set_value("emt")
    panel.strategy.set_value("bo")
    panel.acquisition.set_value("ei")
    panel.thickness.setValue(12.0)  # γ within 0.002 J/m² of 20 Å grains, relaxed in half the time
    panel.dx.setValue(0.4)
    panel.dy.setValue(0.4)
    panel.budget.setValue(30)
    window.gb_search.run()


def _arm_screenshot(app, window, out: str, args_rings: bool = False, diffusion: bool = False,
                    measured: bool = False, gb_search: bool = False, homology: bool = False) -> None:
    """Save a PNG of the whole window once the model and its bonds are shown, then quit."""
    from PySide6.QtCore import QTimer

    done = []
    # Only the exits below end a screenshot run: closing the last window queues Qt's own quit,
    # whose exit code 0 could land after failed()'s 1 (seen once in CI: "--color-by q6" printed
    # its refusal and the process returned 0).
    app.setQuitOnLastWindowClosed(False)

    def shoot() -> None:
        if done:
            return
        done.append(True)
        app.processEvents()
        ok = window.grab().save(out)
        print(f"wrote {out}" if ok else f"could not write {out}", file=sys.stderr)
        window.close()
        app.exit(0 if ok else 1)

    def failed(message: str) -> None:
        done.append(True)  # no picture after a refusal
        print(message, file=sys.stderr)
        window.close()
        app.exit(1)

    # With --rings the picture waits for the ring search (and its highlight) instead; a model whose
    # spectra the surrogate can predict waits for the predicted spectrum too.
    waiting = {"rings" if args_rings else "diffusion" if diffusion else "model"}
    if gb_search:  # the search ends by showing its best structure: that model's bonds come last
        waiting.add("gb")
        window.gb_search.search_finished.connect(lambda state: ready("gb"))
    if homology:  # its diagram is drawn as its task ends (task_finished comes just before)
        waiting.add("homology")
        window.runner.task_finished.connect(
            lambda task, state: ready("homology") if task.label == window.rings_panel.homology.label else None)
    if measured:
        waiting.add("measured")
        window.measured.fitted.connect(lambda: ready("measured"))

    def ready(what: str) -> None:
        if what == "model" and window.prediction.will_predict():
            waiting.add("prediction")
        waiting.discard(what)
        if not waiting:
            QTimer.singleShot(500, shoot)

    if args_rings:
        window.rings_panel.result_shown.connect(lambda: ready("rings"))
    if diffusion:
        window.diffusion.scan_shown.connect(lambda: ready("diffusion"))
    window.model_ready.connect(lambda: ready("model"))
    window.prediction.prediction_settled.connect(lambda: ready("prediction"))
    window.error_shown.connect(failed)

    def timeout() -> None:
        print(f"no model shown within {SCREENSHOT_TIMEOUT_S} s; no screenshot written", file=sys.stderr)
        app.exit(3)

    QTimer.singleShot(SCREENSHOT_TIMEOUT_S * 1000, timeout)

"""The Predict panel: which surrogate model is in use, what it was trained on and how well it does,
and the buttons that predict, ask the reference calculator, train, load and save.

The panel only shows and asks; :mod:`amorpha.gui.prediction` does the work in the background.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QGroupBox, QLabel, QPushButton, QVBoxLayout, QWidget


class PredictionPanel(QWidget):
    predict_requested = Signal()
    reference_requested = Signal()
    train_requested = Signal()
    load_requested = Signal()
    save_requested = Signal()
    export_requested = Signal()
    import_requested = Signal()
    folder_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("No spectrum model loaded.")
        self.summary.setWordWrap(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555")
        self.site_on_click = QCheckBox("Plot a clicked site's spectrum")
        self.site_on_click.setChecked(True)

        buttons = QGridLayout()
        self.predict_button = self._button("Predict", self.predict_requested,
                                           "Predict every absorbing site of the shown model and plot the average")
        self.reference_button = self._button("xTB of selected atom", self.reference_requested,
                                             "Run the reference calculator (xTB) on the selected atom")
        self.train_button = self._button("Train on this model…", self.train_requested,
                                         "Active learning: ask the calculator for the sites the model knows least")
        self.load_button = self._button("Load model…", self.load_requested, "Open a saved spectrum model")
        self.save_button = self._button("Save model…", self.save_requested, "Save the model in use")
        self.export_button = self._button("Export queries…", self.export_requested,
                                          "Write the sites active learning asks for, for an external code")
        self.import_button = self._button("Import results…", self.import_requested,
                                          "Read the spectra an external code computed for exported queries")
        self.folder_button = self._button("Train from folder…", self.folder_requested,
                                          "Train on computed site spectra with their structures "
                                          "(FEFF sites, XANESNET-style or name.xyz + name.txt pairs)")
        for k, b in enumerate([self.predict_button, self.reference_button, self.train_button,
                               self.folder_button, self.load_button, self.save_button,
                               self.export_button, self.import_button]):
            buttons.addWidget(b, k // 2, k % 2)

        self.curve_plot = pg.PlotWidget()
        self.curve_plot.setMinimumHeight(170)
        self.curve_plot.setLabel("bottom", "calculator calls")
        self.curve_plot.setLabel("left", "RMSE (unseen sites)")
        self.curve_plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve_plot.addLegend(offset=(-10, 10))
        curve_box = QGroupBox("Learning curve")
        QVBoxLayout(curve_box).addWidget(self.curve_plot)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        layout.addWidget(self.site_on_click)
        layout.addWidget(self.status)
        layout.addWidget(curve_box, 1)
        self.set_model(None)

    def _button(self, text: str, signal, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(signal)
        return button

    def set_model(self, model) -> None:
        """Describe ``model`` (a SpectrumModel) or say there is none."""
        has = model is not None
        for b in (self.predict_button, self.save_button):
            b.setEnabled(has)
        if not has:
            self.summary.setText("No spectrum model loaded: Load model…, or Train on this model…")
            return
        m = model.metrics or {}
        quality = ""
        if "r2" in m:
            quality = (f"<br>held-out R² {m['r2']:.3f}, cosine {m['cosine_mean']:.3f}, "
                       f"peak error {m['peak_error_ev']:.2f} eV ({m.get('n', '?')} sites)")
        regressor = {"gp": "Gaussian process", "kernel_ridge": "kernel ridge", "ridge": "ridge",
                     "mlp": "MLP"}[model.params.regressor]
        self.summary.setText(
            f"<b>{model.element} {model.edge}</b> surrogate: {regressor} on {model.n_train} site spectra "
            f"from {model.reference or 'unknown reference'}{quality}"
        )

    def show_curves(self, curves: dict) -> None:
        """Plot learning curves {name: LearningCurve}."""
        self.curve_plot.clear()
        colors = ["#d62728", "#1f77b4", "#2ca02c"]
        for k, (name, curve) in enumerate(curves.items()):
            if curve.calls:
                self.curve_plot.plot(curve.calls, curve.rmse, pen=pg.mkPen(colors[k % 3], width=2),
                                     symbol="o", symbolSize=5, symbolBrush=colors[k % 3], name=name)

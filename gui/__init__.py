"""Amorpha's window: PySide6 + vispy + pyqtgraph around ``amorpha.engine``."""

"""Amorpha's engine: structure I/O, neighbour lists and analyses. Never imports Qt.

Everything the window can do, a script can do with ``amorpha.engine``.
"""
__version__ = "0.1.0"

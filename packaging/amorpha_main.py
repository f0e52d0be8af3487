"""Entry point of the packaged app (PyInstaller): the same as ``python -m amorpha.gui``."""
import sys

from amorpha.gui.app import main

if __name__ == "__main__":
    sys.exit(main())

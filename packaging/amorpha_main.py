"""Entry point of the packaged app (PyInstaller): the same as ``python -m amorpha.gui``.

``freeze_support`` first: the app starts worker processes with ``spawn`` (persistent homology,
grain-boundary search, batch analyses), and in a frozen app each such child runs this executable
again; PyInstaller's hook makes the call run the child's task instead of a second window."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from amorpha.gui.app import main

    sys.exit(main())

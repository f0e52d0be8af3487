"""``python -m amorpha.gui`` starts the window."""
import sys

from amorpha.gui.app import main

sys.exit(main())

"""Save-as for the panels' exports: ask where, write there, and say so in a dialog when the
file cannot be written (a folder without permission, a full disk), instead of a traceback on
the terminal and nothing on the screen."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtWidgets import QFileDialog, QMessageBox


def save_as(parent, title: str, name: str, file_filter: str, write: Callable[[str], object],
            on_error: Optional[Callable[[str, str], None]] = None) -> Optional[str]:
    """The path written, or None when the user cancelled or writing failed. ``on_error(title,
    reason)`` reports a failure; by default the main window's error dialog (or a message box)."""
    path, _ = QFileDialog.getSaveFileName(parent, title, name, file_filter)
    if not path:
        return None
    try:
        write(path)
    except (OSError, ValueError) as exc:
        reason = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        (on_error or _error_dialog(parent))(title, reason)
        return None
    return path


def _error_dialog(parent) -> Callable[[str, str], None]:
    def show(title: str, reason: str) -> None:
        text = f"{title} failed.\n\n{reason}\n\nNothing was written."
        window = parent.window()
        if hasattr(window, "show_error"):
            window.show_error(title, text)
        else:
            QMessageBox.warning(parent, title, text)
    return show

"""What every builder shares: the parameter error and the check that raises it (see engine.errors)."""
from __future__ import annotations

from amorpha.engine.errors import ParameterError, require

# Builders predate the shared name; one class serves both.
BuildParameterError = ParameterError

__all__ = ["BuildParameterError", "ParameterError", "require"]

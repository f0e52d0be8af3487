"""What every builder shares: the parameter error and the check that raises it."""
from __future__ import annotations


class BuildParameterError(ValueError):
    """A builder parameter is out of range. ``str()`` names the parameter and what is allowed."""

    def __init__(self, parameter: str, reason: str):
        self.parameter = str(parameter)
        self.reason = str(reason)
        super().__init__(f"{self.parameter}: {self.reason}")

    def __reduce__(self):
        return (type(self), (self.parameter, self.reason))


def require(condition: bool, parameter: str, reason: str) -> None:
    """Raise :class:`BuildParameterError` for ``parameter`` unless ``condition`` holds."""
    if not condition:
        raise BuildParameterError(parameter, reason)

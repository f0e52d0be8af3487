"""Counts in words, for messages: "1 site", "2 sites" (never "1 sites")."""
from __future__ import annotations


def counted(n, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1 (``plural`` when it is not noun + "s");
    whole numbers with thousands separators, others as given."""
    number = f"{int(n):,}" if float(n).is_integer() else f"{n:.4g}"
    return f"{number} {noun if n == 1 else plural or noun + 's'}"

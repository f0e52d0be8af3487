"""Counts and durations in words, for messages: "1 site", "2 sites" (never "1 sites"), "about 3.5 h"."""
from __future__ import annotations


def counted(n, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1 (``plural`` when it is not noun + "s");
    whole numbers with thousands separators, others as given."""
    number = f"{int(n):,}" if float(n).is_integer() else f"{n:.4g}"
    return f"{number} {noun if n == 1 else plural or noun + 's'}"


def about_duration(seconds: float) -> str:
    """"about 95 s", "about 12 min", "about 3.5 h", "about 107 days": no more digits than a
    rough estimate has, each unit from two of it on."""
    for unit, length in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * length:
            value = seconds / length
            number = f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:,.0f}"
            return f"about {number} {unit}"
    return f"about {max(seconds, 1.0):.0f} s"

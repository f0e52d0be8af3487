"""Structural order: pair and angle statistics, local order parameters, rings."""

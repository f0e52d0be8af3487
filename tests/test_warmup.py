"""``make test`` first fills numba's on-disk cache with ``python -m amorpha.engine.warmup``."""
import importlib

from amorpha.engine import warmup


def test_every_listed_module_warms_up_and_the_command_says_how_long(capsys):
    assert all(callable(importlib.import_module(name).warm_up) for name in warmup.KERNEL_MODULES)
    assert warmup.main(["--processes", "1"]) == 0
    assert "numba kernels compiled or loaded from the cache in" in capsys.readouterr().out

"""The README's "engine from Python" code runs as written (a user's first try; its coordination
snippet once failed: the bonds given reached 2 Å, the default cutoffs wanted Si-Si at 2.66 Å)."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SOVAPY = Path(__file__).resolve().parents[2] / "shared" / "data" / "structures" / "sovapy" / "a_SiO2_speed1e11K.xyz"


def _python_blocks() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## The engine from Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_coordination_snippet_runs_on_the_glass_it_names(tmp_path, monkeypatch, capsys):
    if not SOVAPY.is_file():
        pytest.skip("../shared/data is absent")
    (tmp_path / "a_SiO2.xyz").write_bytes(SOVAPY.read_bytes())
    monkeypatch.chdir(tmp_path)
    exec(compile(_python_blocks()[0], "README.md", "exec"), {})
    assert "'mean': 3.93093" in capsys.readouterr().out  # the shared/data README's CN(Si) 3.93
    assert (tmp_path / "with_coordination.extxyz").is_file()


def test_the_spectra_snippet_runs(monkeypatch):
    scope = {}
    exec(compile(_python_blocks()[1], "README.md", "exec"), scope)
    assert len(scope["sites"]) == sum(scope["atoms"].numbers == 14)
    assert scope["reference"].element == "Si" and "xTB" in scope["reference"].source + scope["reference"].label

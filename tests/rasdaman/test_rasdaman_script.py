"""scripts/ingest_2018.py chains the tested commands with the reference's grid, dates and names."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ingest_2018.py"


def test_dry_run_prints_the_three_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("ingest_2018", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (
        module.main(["--safe", "a.SAFE", "--brp", "brp.gpkg", "--work-dir", str(tmp_path), "--dry-run"]) == 0
    )
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+ ")]
    assert [line.split()[2:4] for line in lines] == [
        ["cube", "build"],
        ["labels", "brp"],
        ["rasdaman", "ingest"],
    ]
    assert "--bbox 674900.0,5832260.0,729800.0,5853960.0" in lines[0]  # 5490 x 2170 px of 10 m
    assert "2018-01-08,2018-03-19,2018-05-08,2018-06-30,2018-08-06,2018-09-18,2018-11-17" in lines[0]
    assert "--features-id sentinel2_2018_flevopolder_10m_7x4bands" in lines[2]
    assert "--labels-id brpparcels_2018_flevopolder_10m_76classes" in lines[2]

"""`cropcube synth` writes the five files and reports bad options clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import rasterio
from typer.testing import CliRunner

from cropcube.cli.main import app


def test_synth_writes_a_scene(tmp_path: Path) -> None:
    out = tmp_path / "scene"
    result = CliRunner().invoke(
        app,
        [
            "synth",
            str(out),
            "--height",
            "48",
            "--width",
            "64",
            "--seed",
            "3",
            "--cloud-fraction",
            "0,0.5",
            "--dates",
            "2018-05-08,2018-08-06",
            "--phenology-shift",
            "5",
            "--noise",
            "0.5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "cube.tif",
        "labels.tif",
        "parcel_ids.tif",
        "parcels.gpkg",
        "scene.json",
    ]
    with rasterio.open(out / "cube.tif") as src:
        assert (src.count, src.height, src.width) == (8, 48, 64)
    cfg = json.loads((out / "scene.json").read_text())["config"]
    assert cfg["cloud_fraction"] == [0.0, 0.5] and cfg["phenology_shift_days"] == 5.0


def test_bad_option_is_one_clear_line(tmp_path: Path) -> None:
    out = tmp_path / "never"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cropcube.cli.main import main; main()",
            "synth",
            str(out),
            "--size",
            "32",
            "--cloud-fraction",
            "0.1,0.2",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "cloud_fraction: 2 values for 7 dates" in proc.stderr
    assert not out.exists()

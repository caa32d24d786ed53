"""`cropcube demo`, the main job of the README, on a small scene."""

from __future__ import annotations

import json

import rasterio
from typer.testing import CliRunner

from cropcube.cli.main import app


def test_demo_writes_map_quicklook_and_honest_summary(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--size", "160"])
    assert result.exit_code == 0, result.output
    assert "pixel accuracy" in result.output
    report = json.loads((out / "summary.json").read_text())
    scores = report["scores"]
    assert 0.0 <= scores["miou"] <= scores["overall_accuracy"] <= 1.0
    assert scores["parcels"] > 5
    # The shipped model on an unseen scene is far better than chance among 76 classes.
    assert scores["overall_accuracy"] > 0.3
    with rasterio.open(out / "crops.tif") as ds, rasterio.open(out / "scene" / "cube.tif") as cube:
        assert ds.crs == cube.crs and ds.transform == cube.transform and ds.dtypes[0] == "uint8"
        assert ds.colormap(1)[1][:3] != (0, 0, 0)
    assert (out / "crops.png").stat().st_size > 1000

    again = CliRunner().invoke(app, ["demo", "--out", str(out), "--size", "160"])
    assert again.exit_code == 0 and "reusing the scene" in again.output


def test_demo_rejects_a_too_small_scene(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--size", "8"])
    assert result.exit_code == 2
    assert "--size" in result.output and "greater than or equal to 64" in result.output
    assert not (tmp_path / "crops.tif").exists()

"""Ingest into the fake server: contents, metadata, idempotence, conflicts, resume, wcst_import route."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fake_petascope import FakePetascope
from rasdaman_scene import GRID, Scene

from cropcube.classes import load_class_table
from cropcube.errors import InputError
from cropcube.io import write_geotiff
from cropcube.rasdaman import metadata
from cropcube.rasdaman.ingest.ingredients import ingredient_errors
from cropcube.rasdaman.ingest.job import ingest
from cropcube.rasdaman.transport.errors import RasdamanError
from cropcube.rasdaman.transport.petascope import PetascopeClient


def test_ingest_all_layouts_round_trip(
    client: PetascopeClient, fake: FakePetascope, scene: Scene, tmp_path: Path
) -> None:
    report = ingest(
        client,
        scene.cube_path,
        scene.labels_path,
        tmp_path / "work",
        layout="both",
        method="wcst",
        tile_size=32,
    )
    assert [c.action for c in report.coverages] == ["created", "created", "created"]
    np.testing.assert_array_equal(fake.array("S2_features_2d")[0], scene.cube)
    cube3 = fake.array("S2_features_3d")  # (T, 4, H, W)
    assert cube3.shape == (7, 4, GRID.height, GRID.width)
    np.testing.assert_array_equal(cube3.reshape(28, GRID.height, GRID.width), scene.cube)
    np.testing.assert_array_equal(fake.array("BRP_labels")[0, 0], scene.labels)
    d3 = client.describe_coverage("S2_features_3d")
    assert d3.dates == [
        "2018-01-08",
        "2018-03-19",
        "2018-05-08",
        "2018-06-30",
        "2018-08-06",
        "2018-09-18",
        "2018-11-17",
    ]
    assert d3.bands == ["B02", "B03", "B04", "B08"] and d3.grid == GRID
    d2 = client.describe_coverage("S2_features_2d")
    assert d2.bands == [f"Band_{i}" for i in range(1, 29)] and d2.nil_values == [0.0] * 28
    labels_info = metadata.decode(client.describe_coverage("BRP_labels").metadata)
    assert labels_info is not None and labels_info["kind"] == "labels"
    assert [c["gewascode"] for c in labels_info["classes"]] == [c.gewascode for c in load_class_table()]
    ins = fake.requests("InsertCoverage")
    assert [r.get("pixelDataType") for r in ins] == ["UInt16", "UInt16", "Byte"]
    assert ins[1].get("tiling") == "ALIGNED [0:6, 0:271, 0:271] TILE SIZE 4143104"
    for cid in ("S2_features_2d", "S2_features_3d", "BRP_labels"):  # ingredient files written and valid
        doc = json.loads((tmp_path / "work" / f"{cid}.ingredients.json").read_text())
        assert ingredient_errors(doc) == []


def test_second_run_is_a_no_op(
    client: PetascopeClient, fake: FakePetascope, scene: Scene, tmp_path: Path
) -> None:
    ingest(client, scene.cube_path, scene.labels_path, tmp_path / "w", method="wcst", tile_size=32)
    n_writes = len(fake.requests("UpdateCoverage")) + len(fake.requests("InsertCoverage"))
    report = ingest(client, scene.cube_path, scene.labels_path, tmp_path / "w", method="wcst", tile_size=32)
    assert [c.action for c in report.coverages] == ["unchanged", "unchanged"]
    assert len(fake.requests("UpdateCoverage")) + len(fake.requests("InsertCoverage")) == n_writes
    # an identical coverage made elsewhere (no progress record here) is also left alone
    report = ingest(client, scene.cube_path, None, tmp_path / "other_work", method="wcst", tile_size=32)
    assert report.coverages[0].action == "unchanged"


def test_conflicting_coverage_needs_replace(
    client: PetascopeClient, fake: FakePetascope, scene: Scene, tmp_path: Path
) -> None:
    ingest(client, None, scene.labels_path, tmp_path / "w", method="wcst", tile_size=32)
    changed = scene.labels.copy()
    changed[10, 10] = 5 if changed[10, 10] != 5 else 6
    other = write_geotiff(tmp_path / "labels2.tif", changed, GRID.transform, GRID.crs, cog=False)
    with pytest.raises(InputError, match="--replace"):
        ingest(client, None, other, tmp_path / "w2", method="wcst", tile_size=32)
    report = ingest(client, None, other, tmp_path / "w2", method="wcst", tile_size=32, replace=True)
    assert report.coverages[0].action == "replaced"
    np.testing.assert_array_equal(fake.array("BRP_labels")[0, 0], changed)


def test_interrupted_ingest_resumes(
    client: PetascopeClient, fake: FakePetascope, scene: Scene, tmp_path: Path
) -> None:
    fake.fail_updates_after = 3  # the server breaks for good after 3 tiles (2 x 2 tiles of 32 px)
    with pytest.raises(RasdamanError) as err:
        ingest(client, None, scene.labels_path, tmp_path / "w", method="wcst", tile_size=32)
    assert err.value.status == 500
    record = json.loads((tmp_path / "w" / "BRP_labels.progress.json").read_text())
    assert len(record["finished"]) == 3 and record["extra"]["created"] is True
    fake.fail_updates_after = None
    before = len(fake.requests("UpdateCoverage"))
    report = ingest(client, None, scene.labels_path, tmp_path / "w", method="wcst", tile_size=32)
    assert report.coverages[0].action == "resumed" and report.coverages[0].tiles_written == 1
    assert len(fake.requests("UpdateCoverage")) == before + 1
    np.testing.assert_array_equal(fake.array("BRP_labels")[0, 0], scene.labels)


def test_wcst_import_route_runs_the_tool_on_valid_ingredients(
    client: PetascopeClient, fake: FakePetascope, scene: Scene, tmp_path: Path
) -> None:
    calls: list[list[str]] = []
    report = ingest(
        client,
        scene.cube_path,
        None,
        tmp_path / "w",
        layout="3d",
        method="wcst_import",
        runner=calls.append,
        tile_size=32,
    )
    assert report.coverages[0].action == "imported" and len(calls) == 1
    doc = json.loads(Path(calls[0][1]).read_text())
    assert ingredient_errors(doc) == []
    assert doc["input"]["coverage_id"] == "S2_features_3d" and len(doc["input"]["paths"]) == 7
    assert doc["recipe"]["options"]["coverage"]["crs"] == "OGC/0/AnsiDate@EPSG/0/32631"
    first = Path(doc["input"]["paths"][0])
    assert first.name == "S2_features_3d_2018-01-08.tif" and first.is_file()
    assert fake.requests("InsertCoverage") == []  # nothing sent directly


def test_bad_inputs_are_named(client: PetascopeClient, scene: Scene, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="layout"):
        ingest(client, scene.cube_path, None, tmp_path, layout="4d")
    with pytest.raises(InputError, match="coverage id"):
        ingest(client, scene.cube_path, None, tmp_path, features_id="x; drop")
    with pytest.raises(InputError, match="labels must be one uint8 band"):
        ingest(client, None, scene.cube_path, tmp_path, method="wcst")
    with pytest.raises(InputError, match="does not exist"):
        ingest(client, tmp_path / "missing.tif", None, tmp_path, method="wcst")


def test_real_flevoland_sample_round_trip(
    client: PetascopeClient, fake: FakePetascope, shared_data: Path, tmp_path: Path
) -> None:
    cube = shared_data / "flevoland_2018_s2_100px" / "s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"
    report = ingest(client, cube, None, tmp_path, features_id="flevo", method="wcst", tile_size=64)
    assert report.coverages[0].tiles_written == 4
    import rasterio

    with rasterio.open(cube) as src:
        np.testing.assert_array_equal(fake.array("flevo")[0], src.read())
    desc = client.describe_coverage("flevo")
    assert desc.grid.transform[:6] == (10.0, 0.0, 677400.0, 0.0, -10.0, 5851960.0)

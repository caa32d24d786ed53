"""STAC Items of crop maps and MLM Items of bundles, validated offline against the extension schemas."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from importlib import resources

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform as warp_transform
from stac_validation import validate_stac

from cropcube.bundle.io import read_metadata
from cropcube.classes import load_class_table
from cropcube.maps.gis import sidecar_paths, write_class_map
from cropcube.maps.quicklook import write_quicklook
from cropcube.maps.stac import (
    CLASSIFICATION,
    MLM,
    PROJECTION,
    bundle_item,
    map_item,
    stac_path,
    write_stac,
)

DATES = [dt.date(2018, 1, 8), dt.date(2018, 5, 8), dt.date(2018, 11, 17)]


@pytest.fixture(scope="module")
def crop_map(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stac")
    table = load_class_table()
    classes = np.repeat(np.arange(0, 77, dtype=np.uint8), 40).reshape(40, 77)
    path = folder / "crops.tif"
    tags = {
        "CROPCUBE_MODEL": "tae_fpn 0.3.0-synthetic",
        "CROPCUBE_MODEL_HASH": "sha256:abc",
        "CROPCUBE_MODEL_TRAINING": "synthetic",
    }
    sidecars = write_class_map(
        path, classes, from_origin(677400, 5851960, 10, 10), "EPSG:32631", table, tags=tags
    )
    write_quicklook(folder / "crops.png", classes, table)
    assets = {"quicklook": folder / "crops.png", "style": sidecars.qml, "gdal_metadata": sidecars.aux_xml}
    return path, table, map_item(path, table, DATES, assets=assets)


def test_map_item_validates_and_describes_the_file(crop_map):
    path, _table, item = crop_map
    assert validate_stac(item)[1:] == [PROJECTION, CLASSIFICATION]
    pystac.Item.from_dict(copy.deepcopy(item))
    props = item["properties"]
    with rasterio.open(path) as ds:
        assert props["proj:code"] == "EPSG:32631"
        assert props["proj:shape"] == [ds.height, ds.width]
        assert props["proj:transform"] == list(ds.transform)[:6]
        # The footprint (WGS84) holds the map's centre.
        cx, cy = ds.xy(ds.height // 2, ds.width // 2)
    (lon,), (lat,) = warp_transform("EPSG:32631", "EPSG:4326", [cx], [cy])
    west, south, east, north = item["bbox"]
    assert west < lon < east and south < lat < north
    assert props["start_datetime"].startswith("2018-01-08") and props["end_datetime"].startswith("2018-11-17")
    assert props["cropcube:model"] == "tae_fpn 0.3.0-synthetic"
    assert props["cropcube:model_training"] == "synthetic" and "NOT a meaningful" in props["description"]


def test_map_item_classes_carry_names_and_colours(crop_map):
    _, table, item = crop_map
    classes = item["assets"]["classes"]["classification:classes"]
    assert [c["value"] for c in classes] == list(range(77))
    assert classes[0]["nodata"] is True
    for c in classes[1:]:
        k = table.by_index(c["value"])
        assert c["title"] == k.name_en and f"#{c['color_hint'].lower()}" == k.color
        assert str(k.gewascode) in c["description"]
    assert len({c["name"] for c in classes}) == 77


def test_map_item_lists_the_sibling_products(crop_map):
    path, _, item = crop_map
    assets = item["assets"]
    assert set(assets) == {"classes", "quicklook", "style", "gdal_metadata"}
    for a in assets.values():
        assert (path.parent / a["href"]).is_file()
    assert (
        assets["quicklook"]["roles"] == ["overview", "visual"] and assets["quicklook"]["type"] == "image/png"
    )
    assert assets["gdal_metadata"]["href"] == sidecar_paths(path).aux_xml.name


def test_the_validator_rejects_broken_documents(crop_map):
    _, _, item = crop_map
    bad_colour = copy.deepcopy(item)
    bad_colour["assets"]["classes"]["classification:classes"][3]["color_hint"] = "#93d921"
    with pytest.raises(AssertionError, match="classification"):
        validate_stac(bad_colour)
    bad_shape = copy.deepcopy(item)
    bad_shape["properties"]["proj:shape"] = [40.5, 77]
    with pytest.raises(AssertionError, match="projection"):
        validate_stac(bad_shape)
    no_time = copy.deepcopy(item)
    del no_time["properties"]["start_datetime"]
    with pytest.raises(AssertionError, match=r"item\.json"):
        validate_stac(no_time)


def test_write_stac_round_trip(crop_map, tmp_path):
    _path, _, item = crop_map
    out = write_stac(stac_path(tmp_path / "crops.tif"), item)
    assert out.name == "crops.stac.json"
    assert json.loads(out.read_text()) == item


@pytest.fixture(scope="module")
def shipped_bundle(tmp_path_factory):
    src = resources.files("cropcube").joinpath("resources/models/cropcube_default_synthetic.pt")
    folder = tmp_path_factory.mktemp("bundle")
    dst = folder / "demo.pt"
    shutil.copyfile(str(src), dst)
    return dst


def test_bundle_mlm_item_validates(shipped_bundle):
    item = bundle_item(shipped_bundle)
    assert validate_stac(item)[1:] == [MLM]
    meta = read_metadata(shipped_bundle)
    props = item["properties"]
    assert props["mlm:framework"] == "PyTorch" and props["mlm:tasks"] == ["semantic-segmentation"]
    assert props["mlm:total_parameters"] == meta.parameters > 0
    (inp,) = [i for i in props["mlm:input"] if i["name"] == "sentinel2_time_series"]
    assert inp["bands"] == list(meta.spec.bands) == [b["name"] for b in props["bands"]]
    # the shipped bundle is calendar-free (format 2): T*C is dynamic and the days of year are an input
    assert meta.calendar is not None and inp["input"]["shape"][1] == -1
    assert [i["name"] for i in props["mlm:input"]] == ["sentinel2_time_series", "day_of_year"]
    assert all(d.isoformat() in inp["description"] for d in meta.spec.dates)
    (out,) = props["mlm:output"]
    assert out["result"]["shape"] == [-1, meta.classes.num_classes, -1, -1]
    assert [c["title"] for c in out["classification:classes"]] == [c.name_en for c in meta.classes]
    assert [c["color_hint"].lower() for c in out["classification:classes"]] == [
        c.color.lstrip("#") for c in meta.classes
    ]
    model = item["assets"]["model"]
    assert "mlm:model" in model["roles"] and model["mlm:artifact_type"] == "torch.jit.save"
    assert "onnx" not in item["assets"]
    # The shipped bundle is trained on synthetic scenes only, and says so.
    assert props["cropcube:training_data"] == "synthetic" and "SYNTHETIC" in props["description"]
    ext = pystac.extensions.mlm.MLMExtension.ext(pystac.Item.from_dict(copy.deepcopy(item)))
    assert ext.mlm_name == props["mlm:name"] and len(ext.input) == len(props["mlm:input"])


def test_bundle_item_lists_the_onnx_export_beside_it(shipped_bundle):
    onnx = shipped_bundle.with_suffix(".onnx")
    onnx.write_bytes(b"\x08\x07")  # listed by name only: the Item describes, it does not load
    try:
        item = bundle_item(shipped_bundle)
    finally:
        onnx.unlink()
    validate_stac(item)
    assert item["assets"]["onnx"]["href"] == "demo.onnx"
    assert (
        "framework=onnx" in item["assets"]["onnx"]["type"] and "mlm:model" in item["assets"]["onnx"]["roles"]
    )


def test_a_publication_lists_the_final_names(crop_map, tmp_path):
    """In the publish phase the COG still has its temporary name: the Item names the final files."""
    path, table, _ = crop_map
    tmp_name = tmp_path / ".crops.tif.cctmp.host.1.abc.tif"
    shutil.copyfile(path, tmp_name)
    final = tmp_path / "out" / "crops.tif"
    item = map_item(tmp_name, table, DATES, assets={"parcels": final.with_name("crops_parcels.gpkg")},
                    published_as=final)  # fmt: skip
    validate_stac(item)
    assert item["id"] == "crops" and item["assets"]["classes"]["href"] == "crops.tif"
    assert item["assets"]["parcels"]["href"] == "crops_parcels.gpkg"
    assert item["assets"]["parcels"]["type"] == "application/geopackage+sqlite3"


def test_stac_command_describes_a_bundle(shipped_bundle, tmp_path):
    from typer.testing import CliRunner

    from cropcube.cli.main import app

    out = tmp_path / "model.stac.json"
    result = CliRunner().invoke(app, ["stac", str(shipped_bundle), "-o", str(out)])
    assert result.exit_code == 0, result.output
    validate_stac(json.loads(out.read_text()))
    result = CliRunner().invoke(app, ["stac", str(shipped_bundle)])
    assert result.exit_code == 0 and shipped_bundle.with_name("demo.stac.json").is_file()
    bad = CliRunner().invoke(app, ["stac", str(tmp_path / "none.pt")])
    assert bad.exit_code == 2 and "none.pt" in bad.output


def test_format_2_bundle_mlm_item_declares_any_t_and_the_day_of_year_input(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
    from calendar_bundle import make_calendar_bundle

    item = bundle_item(make_calendar_bundle(tmp_path / "cal.pt"))
    assert validate_stac(item)[1:] == [MLM]
    inputs = {i["name"]: i for i in item["properties"]["mlm:input"]}
    assert inputs["sentinel2_time_series"]["input"]["shape"][1] == -1  # T*C for any T in 3..12
    assert "3..12 dates" in inputs["sentinel2_time_series"]["description"]
    assert "within 1..335" in inputs["day_of_year"]["description"]

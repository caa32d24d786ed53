"""`cropcube classify` publishes GIS-ready products: checked by reading every file back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pyogrio
import pytest
import rasterio
from gdal_readback import band_rat, gdalinfo_json
from stac_validation import validate_stac
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.maps.palette import map_colours
from cropcube.readers import open_cube

FLEVOLAND = "flevoland_2018_s2_100px/s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    from cropcube.synthetic.scene import SceneConfig, generate_scene
    from cropcube.synthetic.writer import write_scene

    return write_scene(generate_scene(SceneConfig(seed=3, height=160, width=220, supersample=1)),
                       tmp_path_factory.mktemp("scene"))  # fmt: skip


@pytest.fixture(scope="module")
def with_parcels(scene, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "crops.tif"
    result = CliRunner().invoke(
        app,
        ["classify", str(scene["cube"]), "-o", str(out), "--parcels", str(scene["parcels"]), "--no-progress",
         "--backend", "python"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, result


def test_class_map_carries_names_rat_style_and_mode_overviews(with_parcels):
    out, _ = with_parcels
    info = gdalinfo_json(out)
    band = info["bands"][0]
    with rasterio.open(out) as ds:
        classes = ds.read(1)
        table = map_colours(__import__("cropcube.classes", fromlist=["x"]).load_class_table())
        assert ds.colormap(1)[1][:3] == table.by_index(1).rgb
        assert ds.tags()["CROPCUBE_MODEL_TRAINING"] == "synthetic"
    assert band["categories"][1] == "Grassland, permanent" and len(band["categories"]) == 77
    rat = band_rat(info)
    names = [f["name"] for f in rat["fieldDefn"]]
    counts = {r["f"][0]: r["f"][names.index("count")] for r in rat["row"]}
    np.testing.assert_array_equal([counts[v] for v in range(77)], np.bincount(classes.ravel(), minlength=77))
    assert ET.parse(out.with_suffix(".qml")).getroot().find("pipe/rasterrenderer").get("type") == "paletted"


def test_parcel_table_agrees_with_the_map(with_parcels, scene):
    out, result = with_parcels
    gpkg = out.with_name("crops_parcels.gpkg")
    _, _, _, values = pyogrio.raw.read(str(gpkg))
    fields = list(pyogrio.read_info(gpkg)["fields"])
    cols = dict(zip(fields, values, strict=True))
    from cropcube.readers.brp import rasterize_brp, read_brp_parcels

    _, ids, _ = rasterize_brp(read_brp_parcels(scene["parcels"]), open_cube(scene["cube"]).grid)
    with rasterio.open(out) as ds:
        voted = ds.read(1)
    for pid, pred, pixels in zip(
        cols["parcel_id"], cols["predicted_class"], cols["parcel_pixels"], strict=True
    ):
        inside = ids == pid
        assert int(pixels) == int(inside.sum())
        if pixels:
            assert set(np.unique(voted[inside]).tolist()) == {int(pred)}
    summary = out.with_name("crops_parcels_summary.csv").read_text().splitlines()
    assert summary[0].startswith("gewascode,class,name,parcels,agree,disagree")
    assert "parcels:" in result.output and "agree" in result.output
    report = json.loads(out.with_suffix(".json").read_text())
    assert sum(report["parcel_agreement"].values()) == len(cols["parcel_id"])


def test_stac_item_lists_every_product_and_validates(with_parcels):
    out, _ = with_parcels
    item = json.loads(out.with_name("crops.stac.json").read_text())
    validate_stac(item)
    hrefs = {a["href"] for a in item["assets"].values()}
    assert {"crops.tif", "crops.png", "crops.qml", "crops.tif.aux.xml", "crops_parcels.gpkg",
            "crops_parcels_summary.csv", "crops.json"} <= hrefs  # fmt: skip
    for href in hrefs:
        assert (out.parent / href).is_file(), href


def test_real_data_with_the_synthetic_model_warns_loudly(shared_data, tmp_path):
    out = tmp_path / "real.tif"
    result = CliRunner().invoke(
        app, ["classify", str(shared_data / FLEVOLAND), "-o", str(out), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.output and "SYNTHETIC" in result.output and "NOT a meaningful" in result.output
    assert json.loads(out.with_suffix(".json").read_text())["warnings"]
    item = json.loads(out.with_name("real.stac.json").read_text())
    assert "NOT a meaningful" in item["properties"]["description"]


def test_synthetic_data_gets_no_warning(with_parcels):
    _, result = with_parcels
    assert "SYNTHETIC" not in result.output


def test_a_mask_zeroes_everything_outside_it(scene, tmp_path):
    out = tmp_path / "masked.tif"
    result = CliRunner().invoke(
        app,
        ["classify", str(scene["cube"]), "-o", str(out), "--mask", str(scene["parcel_ids"]), "--no-progress",
         "--backend", "python", "--no-quicklook"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as ds, rasterio.open(scene["parcel_ids"]) as ids:
        classes, inside = ds.read(1), ids.read(1) > 0
    assert (classes[~inside] == 0).all() and (classes[inside] > 0).mean() > 0.99


def test_progress_moves_within_blocks(scene, tmp_path, monkeypatch):
    """The bar advances while a block is classified, not only when it is done (a 2048-px block takes
    tens of seconds), and never beyond the pixels done."""
    import time

    from cropcube.inference import Classifier, classify_file, files

    updates: list[int] = []

    class _Bar:
        def __init__(self, *args, total=0, **kwargs):
            self.total = total

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def update(self, n):
            updates.append(int(n))

    class _Slow:  # a kernel that takes 1.2 s per call, as a big block would
        def __init__(self, clf):
            self.clf, self.metadata, self.tile_size = clf, clf.metadata, clf.tile_size
            self.backend, self.device, self.model_path = clf.backend, clf.device, clf.model_path
            self.calls = 0

        def run(self, *args, **kwargs):
            self.calls += 1
            time.sleep(1.2)
            return self.clf.run(*args, **kwargs)

    monkeypatch.setattr(files, "tqdm", _Bar)
    slow = _Slow(Classifier(None, backend="python", tile_size=64))
    classify_file(scene["cube"], tmp_path / "p.tif", classifier=slow, block_size=128, quicklook=False)
    blocks = -(-160 // 128) * -(-220 // 128)
    assert slow.calls == blocks + 1  # the first block in two calls (calibration), then one per block
    assert sum(updates) == 160 * 220 and min(updates) > 0
    assert len(updates) >= 2 * blocks  # ticks within the blocks, then the exact remainder

"""`cropcube classify` end to end: real Flevoland sample and a synthetic scene with parcels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.errors import InputError
from cropcube.inference import Classifier, classify_file
from cropcube.maps.cropland import not_cropland
from cropcube.readers import open_cube, read_cube

FLEVOLAND = "flevoland_2018_s2_100px/s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"


@pytest.fixture(scope="module")
def synthetic_scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from cropcube.synthetic.scene import SceneConfig, generate_scene
    from cropcube.synthetic.writer import write_scene

    scene = generate_scene(SceneConfig(seed=3, height=300, width=520, supersample=1))
    return write_scene(scene, tmp_path_factory.mktemp("scene"))


def test_cli_on_the_real_flevoland_sample(shared_data, bundle_path, tmp_path):
    cube = shared_data / FLEVOLAND
    out = tmp_path / "crops.tif"
    result = CliRunner().invoke(
        app,
        ["classify", str(cube), "-o", str(out), "--model", str(bundle_path), "--confidence", "--no-progress"],
    )
    assert result.exit_code == 0, result.output
    assert "classified 100 x 100 px" in result.output
    with rasterio.open(out) as ds:
        classes = ds.read(1)
        assert ds.dtypes == ("uint8",) and ds.nodata == 0 and ds.profile["compress"] == "deflate"
        assert ds.crs.to_epsg() == 32631 and ds.colormap(1)[1][:3] != (0, 0, 0)
        names = json.loads(ds.tags()["CROPCUBE_CLASSES"])
        assert names["1"]["gewascode"] == 265 and len(names) == 76
        with rasterio.open(cube) as src:
            assert ds.transform == src.transform
    # The streamed file holds exactly the in-memory classification, less the pixels that are clearly
    # not cropland (water, never green: 0 without parcels).
    expected = Classifier(bundle_path, backend="python").classify_array(read_cube(cube))
    expected[not_cropland(read_cube(cube), open_cube(cube).spec)] = 0
    np.testing.assert_array_equal(classes, expected)
    with rasterio.open(tmp_path / "crops_confidence.tif") as ds:
        conf = ds.read(1)
        assert ((conf > 0) == (classes > 0)).all()
    with Image.open(tmp_path / "crops.png") as png:
        assert png.format == "PNG" and png.size[0] > 300
    summary = json.loads((tmp_path / "crops.json").read_text())
    assert summary["width"] == 100
    assert sum(summary["class_counts"].values()) + summary["nodata_pixels"] == 10000


def test_synthetic_scene_streams_in_blocks_like_one_pass(synthetic_scene, bundle_path, tmp_path):
    cube = read_cube(synthetic_scene["cube"])
    clf = Classifier(bundle_path, tile_size=64)
    out = tmp_path / "crops.tif"
    # Blocks of 128 px: 3 x 5 blocks with halos, each tiled again by the kernel.
    summary = classify_file(synthetic_scene["cube"], out, classifier=clf, block_size=128, progress=False)
    with rasterio.open(out) as ds:
        streamed = ds.read(1)
        assert ds.overviews(1), "a COG of this size has overviews"
        assert ds.block_shapes[0] == (256, 256)
    whole = Classifier(bundle_path, backend="python", tile_size=4096).classify_array(cube)
    # Without parcels, water and never-green pixels (this scene's roads) are 0, not a crop.
    off = not_cropland(cube, open_cube(synthetic_scene["cube"]).spec)
    assert off.any() and (streamed[off] == 0).all()
    assert float((streamed == whole)[~off].mean()) >= 0.9999
    assert (
        summary.nodata_pixels == int(off.sum())
        and sum(summary.class_counts.values()) == 300 * 520 - off.sum()
    )


def test_parcel_voting_gives_one_class_per_parcel(synthetic_scene, bundle_path, tmp_path):
    out = tmp_path / "voted.tif"
    result = CliRunner().invoke(
        app,
        ["classify", str(synthetic_scene["cube"]), "-o", str(out), "--model", str(bundle_path),
         "--parcels", str(synthetic_scene["parcels"]), "--no-quicklook", "--no-progress"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "parcel voting over" in result.output
    with rasterio.open(out) as ds:
        voted = ds.read(1)
    with rasterio.open(synthetic_scene["parcel_ids"]) as ds:
        ids = ds.read(1)
    parcels = [p for p in np.unique(ids) if p > 0]
    assert len(parcels) > 20
    uniform = sum(len(np.unique(voted[ids == p])) == 1 for p in parcels)
    # Rasterisation of the GeoPackage can differ from the scene's own id raster on edge pixels.
    assert uniform / len(parcels) >= 0.9
    # Ditches and roads (no parcel in the register) are "no parcel", not a guessed crop.
    outside = ids == 0
    assert outside.sum() > 100
    assert float((voted[outside] == 0).mean()) >= 0.95
    assert float((voted[~outside] > 0).mean()) >= 0.95
    assert not (tmp_path / "voted.png").exists()


def test_bad_cube_files_are_named(bundle_path, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        classify_file(tmp_path / "missing.tif", tmp_path / "o.tif", model=bundle_path, progress=False)
    result = CliRunner().invoke(
        app, ["classify", str(tmp_path / "missing.tif"), "-o", str(tmp_path / "o.tif")]
    )
    assert result.exit_code != 0
    assert not (tmp_path / "o.tif").exists()


class _Interrupting:
    """A classifier that is interrupted (Ctrl-C) after ``limit`` blocks, and counts its calls."""

    def __init__(self, clf: Classifier, limit: int | None = None) -> None:
        self.clf, self.limit, self.calls = clf, limit, 0
        self.metadata, self.backend, self.device = clf.metadata, clf.backend, clf.device
        self.tile_size, self.model_path = clf.tile_size, clf.model_path

    def run(self, *args, **kwargs):
        if self.limit is not None and self.calls >= self.limit:
            raise KeyboardInterrupt
        self.calls += 1
        return self.clf.run(*args, **kwargs)


def test_an_interrupted_run_resumes_where_it_stopped(synthetic_scene, bundle_path, tmp_path):
    clf = Classifier(bundle_path, tile_size=64)
    reference = tmp_path / "reference.tif"
    counted = _Interrupting(clf)
    classify_file(
        synthetic_scene["cube"],
        reference,
        classifier=counted,
        block_size=128,
        progress=False,
        quicklook=False,
    )
    out = tmp_path / "crops.tif"
    kw = {
        "block_size": 128,
        "progress": False,
        "quicklook": False,
        "confidence": True,
        "checkpoint_seconds": 0,
    }
    with pytest.raises(KeyboardInterrupt):
        classify_file(synthetic_scene["cube"], out, classifier=_Interrupting(clf, limit=6), **kw)
    assert not out.exists() and (tmp_path / ".crops.tif.work.json").exists()
    # One kernel call per block, two for a job's first block (its first tile row calibrates the
    # progress bar): the 6 calls were blocks 0-4, and the checkpoint holds them.
    assert json.loads((tmp_path / ".crops.tif.work.json").read_text())["done"] == [0, 1, 2, 3, 4]
    resumed = _Interrupting(clf)
    summary = classify_file(synthetic_scene["cube"], out, classifier=resumed, **kw)
    assert resumed.calls == counted.calls - 5
    with rasterio.open(out) as a, rasterio.open(reference) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
    assert sum(summary.class_counts.values()) + summary.nodata_pixels == 300 * 520
    assert not list(tmp_path.glob(".crops.tif.work*"))

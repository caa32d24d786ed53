"""Written files: layout, metadata, BRP schema, byte-identical output, atomic writes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.warp import transform as warp_transform

from cropcube.classes import load_class_table
from cropcube.errors import InputError
from cropcube.synthetic import Scene, SceneConfig, generate_scene, write_scene
from cropcube.synthetic import writer as writer_module


def test_cube_and_rasters_read_back(written_scene: tuple[Scene, dict[str, Path]]) -> None:
    scene, paths = written_scene
    with rasterio.open(paths["cube"]) as src:
        assert (src.count, src.height, src.width, src.dtypes[0]) == (28, 192, 160, "uint16")
        assert src.crs.to_epsg() == 32631 and src.transform == scene.transform and src.nodata == 0
        assert list(src.descriptions) == scene.spec.descriptions()
        assert src.descriptions[0] == "2018-01-08_B02" and src.descriptions[27] == "2018-11-17_B08"
        assert np.array_equal(src.read(), scene.cube)
    with rasterio.open(paths["labels"]) as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 0
        assert np.array_equal(src.read(1), scene.labels)
        assert src.colormap(1)[1][:3] == load_class_table().by_index(1).rgb  # permanent grassland
    with rasterio.open(paths["parcel_ids"]) as src:
        assert src.dtypes[0] == "int32"
        assert np.array_equal(src.read(1), scene.parcel_ids)
    summary = json.loads(paths["summary"].read_text())
    assert summary["config"]["seed"] == 7 and summary["n_parcels"] == len(scene.parcels)
    assert sum(summary["class_pixel_counts"].values()) == int((scene.labels > 0).sum())


def test_geopackage_has_the_real_brp_schema(
    written_scene: tuple[Scene, dict[str, Path]], shared_data: Path
) -> None:
    scene, paths = written_scene
    real = shared_data / "brp_2023_sample" / "brpgewaspercelen_definitief_2023.gpkg"
    mine, ref = pyogrio.read_info(paths["parcels"]), pyogrio.read_info(real)
    for key in ("layer_name", "crs", "geometry_name", "geometry_type", "fid_column"):
        assert mine[key] == ref[key], key
    assert list(mine["fields"]) == list(ref["fields"])
    assert list(mine["dtypes"]) == list(ref["dtypes"])
    _, _, wkb, fields = pyogrio.raw.read(paths["parcels"], return_fids=True)[:4]
    assert len(wkb) == len(scene.parcels)
    assert np.array_equal(fields[2], [p.gewascode for p in scene.parcels])
    assert set(fields[3].tolist()) == {2018}
    # Back in EPSG:32631 the polygons sit where the parcels are (to the millimetre).
    for geom_wkb, parcel in list(zip(wkb, scene.parcels, strict=True))[:20]:
        x, y = np.asarray(shapely.from_wkb(geom_wkb).exterior.coords).T
        xs, ys = warp_transform("EPSG:28992", "EPSG:32631", x.tolist(), y.tolist())
        assert shapely.Polygon(np.column_stack([xs, ys])).symmetric_difference(parcel.geometry).area < 1.0


def test_brp_reader_rasterises_the_parcels_back(written_scene: tuple[Scene, dict[str, Path]]) -> None:
    brp = pytest.importorskip("cropcube.readers.brp")
    grid_mod = pytest.importorskip("cropcube.readers.grid")
    scene, paths = written_scene
    parcels = brp.read_brp_parcels(paths["parcels"])
    h, w = scene.labels.shape
    grid = grid_mod.Grid(crs="EPSG:32631", transform=scene.transform, width=w, height=h)
    classes, ids, _ = brp.rasterize_brp(parcels, grid)
    assert (classes == scene.labels).mean() > 0.995
    assert (ids == scene.parcel_ids).mean() > 0.995


def _digest(paths: dict[str, Path]) -> dict[str, bytes]:
    return {k: p.read_bytes() for k, p in paths.items()}


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    cfg = SceneConfig(seed=21, height=96, width=80, cloud_fraction=0.1, haze=0.1)
    first = _digest(write_scene(generate_scene(cfg), tmp_path / "a"))
    time.sleep(1.1)  # any timestamp with second resolution would now differ
    second = _digest(write_scene(generate_scene(cfg), tmp_path / "b"))
    assert first == second
    third = _digest(write_scene(generate_scene(SceneConfig(seed=22, height=96, width=80)), tmp_path / "c"))
    assert all(third[k] != first[k] for k in ("cube", "labels", "parcel_ids", "parcels"))
    with rasterio.open(tmp_path / "a" / "cube.tif") as src:
        assert "TIFFTAG_DATETIME" not in src.tags()


def test_bad_output_folder_is_named(tmp_path: Path, written_scene: tuple[Scene, dict[str, Path]]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError) as err:
        write_scene(written_scene[0], blocker)
    assert err.value.what == str(blocker)


def test_failure_leaves_no_partial_file(
    tmp_path: Path, written_scene: tuple[Scene, dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writer_module.pyogrio.raw, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        write_scene(written_scene[0], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.tif", "labels.tif", "parcel_ids.tif"]


def test_inconsistent_scene_is_refused(tmp_path: Path, written_scene: tuple[Scene, dict[str, Path]]) -> None:
    scene = written_scene[0]
    bad = Scene(**{**scene.__dict__, "labels": scene.labels[:-1]})
    with pytest.raises(InputError, match="labels"):
        write_scene(bad, tmp_path)
    assert not any(tmp_path.iterdir())

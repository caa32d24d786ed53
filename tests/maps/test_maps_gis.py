"""A class raster that a GIS shows with crop names and colours: categories, RAT and QGIS style, read back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from gdal_readback import band_rat, gdalinfo_cli, gdalinfo_json
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from cropcube.classes import load_class_table
from cropcube.io.geotiff import write_geotiff
from cropcube.maps.gis import sidecar_paths, write_class_map, write_class_sidecars

GDAL_MIN_MAX, GDAL_NAME, GDAL_PIXEL_COUNT, GDAL_RED = 5, 2, 1, 6


@pytest.fixture(scope="module")
def class_map(tmp_path_factory):
    table = load_class_table()
    rng = np.random.default_rng(17)
    classes = np.repeat(np.repeat(rng.integers(0, 77, (24, 20)), 16, axis=0), 16, axis=1).astype(np.uint8)
    path = tmp_path_factory.mktemp("gis") / "crops.tif"
    write_geotiff(
        path,
        classes,
        from_origin(677400, 5851960, 10, 10),
        "EPSG:32631",
        colormap=table.palette(),
        overview_resampling=Resampling.mode,
    )
    counts = np.bincount(classes.ravel(), minlength=77)
    sidecars = write_class_sidecars(path, table, counts=counts.tolist())
    return path, table, counts, sidecars


def test_gdal_reads_category_names_for_every_class(class_map):
    path, table, _, _ = class_map
    band = gdalinfo_json(path)["bands"][0]
    assert band["categories"] == table.names("en")
    assert band["categories"][0] == "no parcel" and band["categories"][8] == "Onion, sown"
    # The palette in the TIFF and the RAT colours agree.
    assert band["colorTable"]["entries"][8][:3] == list(table.by_index(8).rgb)


def test_gdal_reads_a_thematic_rat_with_codes_names_groups_colours_and_counts(class_map):
    path, table, counts, _ = class_map
    rat = band_rat(gdalinfo_json(path))
    assert rat["tableType"] == "thematic"
    fields = {f["name"]: f for f in rat["fieldDefn"]}
    assert fields["value"]["usage"] == GDAL_MIN_MAX
    assert fields["name_en"]["usage"] == GDAL_NAME
    assert fields["red"]["usage"] == GDAL_RED
    assert fields["count"]["usage"] == GDAL_PIXEL_COUNT
    names = [f["name"] for f in rat["fieldDefn"]]
    rows = [dict(zip(names, r["f"], strict=True)) for r in rat["row"]]
    assert len(rows) == table.num_classes + 1
    for row in rows[1:]:
        c = table.by_index(row["value"])
        assert (row["gewascode"], row["name_en"], row["name_nl"], row["group"]) == (
            c.gewascode,
            c.name_en,
            c.name_nl,
            c.group,
        )
        assert row["color"] == c.color and (row["red"], row["green"], row["blue"]) == c.rgb
        assert row["count"] == counts[row["value"]]
    assert rows[0]["name_en"] == "no parcel" and rows[0]["alpha"] == 0


def test_gdalinfo_program_agrees_where_installed(class_map):
    path, _, _, _ = class_map
    cli = gdalinfo_cli(path)
    if cli is None:
        pytest.skip("gdal-bin not installed (CI reads back through rasterio's libgdal above)")
    lib = gdalinfo_json(path)
    assert cli["bands"][0]["categories"] == lib["bands"][0]["categories"]
    assert band_rat(cli) == band_rat(lib)


def test_qml_style_is_a_paletted_renderer_with_every_class(class_map):
    path, table, _, sidecars = class_map
    assert sidecars == sidecar_paths(path) and sidecars.qml.name == "crops.qml"
    root = ET.parse(sidecars.qml).getroot()
    assert root.tag == "qgis"
    renderer = root.find("pipe/rasterrenderer")
    assert renderer is not None and renderer.get("type") == "paletted" and renderer.get("band") == "1"
    entries = renderer.findall("colorPalette/paletteEntry")
    assert [int(e.get("value", "-1")) for e in entries] == list(range(1, table.num_classes + 1))
    for e in entries:
        c = table.by_index(int(e.get("value", "0")))
        assert e.get("color") == c.color and c.name_en in e.get("label", "")


def test_overviews_keep_classes_by_mode(tmp_path):
    import rasterio

    table = load_class_table()
    # Each 2x2 block holds three pixels of class 5 and one of class 9, the odd one at a position that
    # cycles from block to block: nearest-neighbour overviews show 9 in some blocks, mode never.
    classes = np.full((512, 512), 5, dtype=np.uint8)
    for k, (dr, dc) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        classes[dr::2, dc::2][(np.add.outer(np.arange(256), np.arange(256)) % 4) == k] = 9
    sidecars = write_class_map(
        tmp_path / "labels.tif", classes, from_origin(0, 512, 10, 10), "EPSG:28992", table
    )
    with rasterio.open(tmp_path / "labels.tif", overview_level=0) as ov:
        assert ov.shape == (256, 256)
        assert (ov.read(1) == 5).all()
    with rasterio.open(tmp_path / "labels.tif") as ds:
        assert ds.descriptions[0].startswith("crop class index") and ds.nodata == 0
        assert ds.colormap(1)[9][:3] == table.by_index(9).rgb
    assert sidecars.aux_xml.exists() and sidecars.qml.exists()
    rat = band_rat(gdalinfo_json(tmp_path / "labels.tif"))
    names = [f["name"] for f in rat["fieldDefn"]]
    counts = {r["f"][0]: r["f"][names.index("count")] for r in rat["row"]}
    assert counts[5] == 3 * 512 * 512 // 4 and counts[9] == 512 * 512 // 4


def test_class_map_values_outside_the_table_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"0\.\.76"):
        write_class_map(
            tmp_path / "bad.tif",
            np.full((4, 4), 77, np.uint8),
            from_origin(0, 4, 10, 10),
            "EPSG:28992",
            load_class_table(),
        )
    assert not list(tmp_path.iterdir())


def test_brp_label_rasters_are_gis_ready(tmp_path):
    """`cropcube labels brp` publishes the label raster with the same GDAL metadata and style."""
    import rasterio

    from cropcube.readers.jobs import brp_labels
    from cropcube.synthetic.scene import SceneConfig, generate_scene
    from cropcube.synthetic.writer import write_scene

    scene = write_scene(generate_scene(SceneConfig(seed=2, height=64, width=80, supersample=1)), tmp_path)
    out = tmp_path / "labels" / "brp.tif"
    brp_labels(scene["parcels"], scene["cube"], out, parcel_ids=tmp_path / "labels" / "ids.tif")
    with rasterio.open(out) as ds:
        labels = ds.read(1)
    band = gdalinfo_json(out)["bands"][0]
    assert band["categories"] == load_class_table().names("en")
    rat = band_rat(gdalinfo_json(out))
    names = [f["name"] for f in rat["fieldDefn"]]
    assert [r["f"][names.index("count")] for r in rat["row"]] == np.bincount(
        labels.ravel(), minlength=77
    ).tolist()
    assert sidecar_paths(out).qml.is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "brp.qml",
        "brp.tif",
        "brp.tif.aux.xml",
        "ids.tif",
    ]

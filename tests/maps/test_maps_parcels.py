"""Per-parcel results: numbers checked against the rasters, written and read back (GeoPackage, GeoParquet)."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely

from cropcube.classes import load_class_table
from cropcube.evaluation.voting import ParcelVoter
from cropcube.inference import Classifier
from cropcube.maps.parcels import (
    AGREE,
    DISAGREE,
    FIELDS,
    NOT_CLASSIFIABLE,
    TOO_FEW,
    ParcelTally,
    parcel_table,
    write_parcel_table,
)
from cropcube.readers import open_cube, read_cube
from cropcube.readers.brp import rasterize_brp, read_brp_parcels
from cropcube.readers.grid import Grid

BRP_2023 = "brp_2023_sample/brpgewaspercelen_definitief_2023.gpkg"


def _edit_parcels(src, dst, grid):
    """The scene's BRP plus a 3x3-pixel parcel, a parcel with a code outside the table, one off the map."""
    from rasterio.warp import transform_geom

    meta, _fids, wkb, values = pyogrio.raw.read(str(src), return_fids=True)
    geoms = list(shapely.from_wkb(wkb))
    codes = [int(v) for v in values[list(meta["fields"]).index("gewascode")]]
    # Pixels (10..12, 10..12) of the map, from its grid to the GeoPackage's CRS.
    x0, y0 = grid.transform * (10, 10)
    x1, y1 = grid.transform * (13, 13)
    box = shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)).buffer(-1.0)
    geoms.append(shapely.geometry.shape(transform_geom(grid.crs, meta["crs"], shapely.geometry.mapping(box))))
    codes.append(265)
    codes[0] = 9999  # parcel 1 declares a code no class has
    geoms.append(shapely.box(0, 0, 100, 100))  # far outside the map
    codes.append(266)
    pyogrio.raw.write(
        str(dst),
        np.array(shapely.to_wkb(geoms), dtype=object),
        [np.array(codes, dtype=np.int32)],
        ["gewascode"],
        layer="brp_gewas",
        driver="GPKG",
        geometry_type="Polygon",
        crs=meta["crs"],
    )


@pytest.fixture(scope="module")
def classified(tmp_path_factory):
    from cropcube.synthetic.scene import SceneConfig, generate_scene
    from cropcube.synthetic.writer import write_scene

    folder = tmp_path_factory.mktemp("parcels")
    scene = write_scene(generate_scene(SceneConfig(seed=3, height=160, width=200, supersample=1)), folder)
    info = open_cube(scene["cube"])
    gpkg = folder / "brp_edited.gpkg"
    _edit_parcels(scene["parcels"], gpkg, info.grid)
    parcels = read_brp_parcels(gpkg)
    _, ids, _ = rasterize_brp(parcels, info.grid)
    clf = Classifier(None, backend="python", tile_size=128)
    maps = clf.run(read_cube(scene["cube"]), probabilities=True)
    # A few pixels without data inside parcels: valid-pixel counts must leave them out.
    classes = maps.classes.copy()
    probs = maps.probabilities.copy()
    holes = (ids > 0) & (np.arange(ids.size).reshape(ids.shape) % 97 == 0)
    classes[holes] = 0
    probs[:, holes] = 0.0
    table = clf.metadata.classes
    voter = ParcelVoter(table.num_classes)
    tally = ParcelTally(parcels.parcel_ids, table.num_classes)
    # Streamed in two windows, as the file job does block by block.
    for rows in (slice(0, 70), slice(70, None)):
        voter.add(probs[:, rows], ids[rows])
        tally.add(classes[rows], ids[rows])
    result = parcel_table(parcels, tally, voter, table)
    voted = voter.apply(classes, ids)
    return {"parcels": parcels, "ids": ids, "classes": classes, "probs": probs, "voted": voted,
            "result": result, "table": table, "folder": folder, "grid": info.grid}  # fmt: skip


def test_every_row_matches_the_rasters(classified):
    ids, classes, probs, voted = (classified[k] for k in ("ids", "classes", "probs", "voted"))
    result = classified["result"]
    on_map = {int(p) for p in np.unique(ids) if p > 0}
    assert {r.parcel_id for r in result} == on_map
    for r in result:
        inside = ids == r.parcel_id
        valid = inside & (classes > 0)
        assert r.parcel_pixels == int(inside.sum())
        assert r.valid_pixels == int(valid.sum())
        # The predicted class is the class the voted raster gives every pixel of the parcel.
        assert set(np.unique(voted[valid]).tolist()) == {r.predicted_class}
        assert r.winning_share == pytest.approx(float((classes[valid] == r.predicted_class).mean()))
        assert r.mean_confidence == pytest.approx(float(probs[r.predicted_class - 1][valid].mean()), rel=1e-6)
        assert 0 < r.mean_confidence <= 1 and 0 < r.winning_share <= 1


def test_agreement_reasons(classified):
    result, parcels, table = classified["result"], classified["parcels"], classified["table"]
    by_id = {r.parcel_id: r for r in result}
    code_of = dict(zip(parcels.parcel_ids.tolist(), parcels.gewascodes.tolist(), strict=True))
    assert by_id[1].agreement == NOT_CLASSIFIABLE and by_id[1].declared_gewascode == 9999
    assert by_id[1].declared_class is None and by_id[1].agrees is None
    tiny = max(parcels.parcel_ids.tolist()) - 1  # the 3x3 parcel (the last one lies off the map)
    assert by_id[tiny].agreement == TOO_FEW and by_id[tiny].valid_pixels <= 9 and by_id[tiny].agrees is None
    assert max(parcels.parcel_ids.tolist()) not in by_id
    for r in result:
        if r.agreement in (AGREE, DISAGREE):
            declared = table.by_code(code_of[r.parcel_id])
            assert r.declared_class == declared.index and r.declared_name == declared.name_en
            assert r.agrees == (r.predicted_class == declared.index)
            assert r.agreement == (AGREE if r.agrees else DISAGREE)
            assert r.valid_pixels >= result.min_pixels
    counts = result.counts()
    assert counts[AGREE] > counts[DISAGREE] > 0  # the shipped bundle was trained on such scenes


def test_summary_by_crop_adds_up(classified):
    result = classified["result"]
    crops = result.by_crop()
    assert sum(c.parcels for c in crops) == len(result)
    for c in crops:
        rows = [r for r in result if r.declared_gewascode == c.gewascode]
        assert c.parcels == len(rows)
        assert c.counts[DISAGREE] == sum(r.agreement == DISAGREE for r in rows)
        if c.counts[DISAGREE]:
            assert c.confused_parcels == max(
                sum(r.predicted_name == n for r in rows if r.agreement == DISAGREE)
                for n in {r.predicted_name for r in rows}
            )
    # Most disagreeing crops first, and the CSV has one line per declared code.
    assert [c.counts[DISAGREE] for c in crops] == sorted((c.counts[DISAGREE] for c in crops), reverse=True)
    assert len(result.summary_csv().strip().splitlines()) == len(crops) + 1
    text = result.format()
    assert f"{len(result)} parcels" in text and "disagree" in text


def test_geopackage_round_trip(classified):
    result, parcels = classified["result"], classified["parcels"]
    path = write_parcel_table(classified["folder"] / "out.gpkg", result)
    info = pyogrio.read_info(path)
    assert info["layer_name"] == "parcels" and info["crs"] == "EPSG:28992" and info["features"] == len(result)
    assert list(info["fields"]) == list(FIELDS)
    _, _, wkb, values = pyogrio.raw.read(str(path), return_fids=True)
    cols = dict(zip(info["fields"], values, strict=True))
    geom_of = dict(zip(parcels.parcel_ids.tolist(), parcels.geometries, strict=True))
    for i, r in enumerate(result):
        assert int(cols["parcel_id"][i]) == r.parcel_id
        assert int(cols["valid_pixels"][i]) == r.valid_pixels
        assert cols["agreement"][i] == r.agreement
        if r.predicted_class is None:
            assert cols["predicted_name"][i] is None
        else:
            assert cols["predicted_name"][i] == r.predicted_name
            assert float(cols["mean_confidence"][i]) == pytest.approx(r.mean_confidence)
        assert shapely.equals(shapely.from_wkb(wkb[i]), geom_of[r.parcel_id])
    # Nulls stay nulls (pyogrio's numpy reader shows a null integer as NaN).
    nulls = [i for i, r in enumerate(result) if r.declared_class is None]
    assert nulls and all(np.isnan(float(cols["declared_class"][i])) for i in nulls)
    assert not np.isnan(
        cols["declared_class"].astype(float)[[i for i in range(len(result)) if i not in nulls]]
    ).any()


def test_geoparquet_round_trip(classified):
    import json

    import pyarrow.parquet as pq
    import pyproj

    result = classified["result"]
    path = write_parcel_table(classified["folder"] / "out.parquet", result)
    table = pq.read_table(path)
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert pyproj.CRS.from_json_dict(geo["columns"]["geometry"]["crs"]).to_epsg() == 28992
    rows = table.to_pylist()
    assert [r["parcel_id"] for r in rows] == [r.parcel_id for r in result]
    assert [r["agrees"] for r in rows] == [r.agrees for r in result]
    bounds = shapely.total_bounds(shapely.from_wkb([r["geometry"] for r in rows]))
    np.testing.assert_allclose(bounds, geo["columns"]["geometry"]["bbox"])


@pytest.mark.parametrize("around", [1, 66])
def test_real_brp_2023_parcels(shared_data, tmp_path, around):
    """Real 2023 BRP parcels on a 10 m grid: real codes (many not among the 2018 classes), real shapes.

    The 4 x 4 km grids lie round parcels 2 and 67 of the sample, where a dozen and eight of its 100
    (country-wide) parcels lie: one area of landscape elements (code 343, no class), one of grassland.
    """
    parcels = read_brp_parcels(shared_data / BRP_2023)
    table = load_class_table()
    cx, cy = np.round(shapely.get_coordinates(shapely.centroid(parcels.geometries[around]))[0] / 10) * 10
    transform = rasterio.transform.from_origin(cx - 2000, cy + 2000, 10, 10)
    grid = Grid(crs="EPSG:28992", transform=transform, width=400, height=400)
    _, ids, _ = rasterize_brp(parcels, grid)
    # A stand-in classifier that is sure every pixel is permanent grassland (class 1, gewascode 265).
    probs = np.zeros((table.num_classes, *ids.shape), np.float32)
    probs[0] = 0.9
    probs[1] = 0.1
    classes = np.ones(ids.shape, np.uint8)
    voter, tally = ParcelVoter(table.num_classes), ParcelTally(parcels.parcel_ids, table.num_classes)
    voter.add(probs, ids)
    tally.add(classes, ids)
    result = parcel_table(parcels, tally, voter, table, grid=grid)
    inside = shapely.intersects(parcels.geometries, shapely.box(*grid.bounds))
    assert {r.parcel_id for r in result} == set(parcels.parcel_ids[inside].tolist())
    known = {c.gewascode for c in table}
    code_of = dict(zip(parcels.parcel_ids.tolist(), parcels.gewascodes.tolist(), strict=True))
    for r in result:
        code, pixels = code_of[r.parcel_id], int((ids == r.parcel_id).sum())
        assert r.parcel_pixels == pixels
        expected = (
            NOT_CLASSIFIABLE if code not in known
            else TOO_FEW if pixels < result.min_pixels
            else AGREE if code == 265
            else DISAGREE
        )  # fmt: skip
        assert r.agreement == expected, (r, code)
        if pixels:
            assert r.mean_confidence == pytest.approx(0.9)
        else:
            assert r.predicted_class is None and r.mean_confidence is None
    expected_outcomes = {1: {NOT_CLASSIFIABLE, AGREE}, 66: {AGREE, DISAGREE, TOO_FEW}}[around]
    assert {r.agreement for r in result} >= expected_outcomes
    out = write_parcel_table(tmp_path / "real.gpkg", result)
    assert pyogrio.read_info(out)["features"] == len(result)


def test_parcel_run_streams_tiles_like_one_pass(classified, tmp_path):
    """The object the file job and the rasdaman client job use: tiles in any order, same table."""
    from cropcube.maps.parcels import ParcelRun

    ids, classes, probs = (classified[k] for k in ("ids", "classes", "probs"))
    grid = classified["grid"]
    run = ParcelRun.plan(classified["folder"] / "brp_edited.gpkg", grid, 76)
    np.testing.assert_array_equal(run.ids, ids)
    assert len(run.tally.ids) == len(np.unique(ids[ids > 0]))  # only the parcels on the map
    tiles = [((r, min(r + 64, ids.shape[0])), (c, min(c + 48, ids.shape[1])))
             for r in range(0, ids.shape[0], 64) for c in range(0, ids.shape[1], 48)]  # fmt: skip
    for rows, cols in reversed(tiles):
        window = (slice(*rows), slice(*cols))
        run.add(rows, cols, probs[(slice(None), *window)], classes[window])
    voted = np.zeros_like(classes)
    for rows, cols in tiles:
        window = (slice(*rows), slice(*cols))
        voted[window] = run.vote(rows, cols, classes[window])
    expected = classified["voted"].copy()
    expected[ids == 0] = 0
    np.testing.assert_array_equal(voted, expected)
    streamed = run.result(classified["table"])
    one_pass = classified["result"]
    assert [(r.parcel_id, r.predicted_class, r.valid_pixels) for r in streamed] == [
        (r.parcel_id, r.predicted_class, r.valid_pixels) for r in one_pass
    ]


def test_a_parcel_without_valid_pixels_is_not_painted(classified):
    """The voter's argmax of no probabilities would be class 1: such a parcel stays 0 (no data)."""
    from cropcube.maps.parcels import ParcelRun

    ids, classes, probs = (classified[k] for k in ("ids", "classes", "probs"))
    pid = int(np.unique(ids[ids > 0])[0])
    blind = ids == pid
    classes, probs = classes.copy(), probs.copy()
    classes[blind] = 0
    probs[:, blind] = 0.0
    run = ParcelRun.plan(classified["folder"] / "brp_edited.gpkg", classified["grid"], 76)
    everything = ((0, ids.shape[0]), (0, ids.shape[1]))
    run.add(*everything, probs, classes)
    voted = run.vote(*everything, classes)
    assert (voted[blind] == 0).all() and (voted[(ids > 0) & ~blind] > 0).all()
    row = next(r for r in run.result(classified["table"]) if r.parcel_id == pid)
    assert row.agreement in ("too few pixels", "not classifiable") and row.predicted_class is None

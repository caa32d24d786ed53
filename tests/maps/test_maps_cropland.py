"""Non-cropland without parcels: the spectral rule on real and synthetic pixels, and mask inputs."""

from __future__ import annotations

import numpy as np
import pyogrio
import pytest
import rasterio
from rasterio.transform import from_origin

from cropcube.cube_spec import CubeSpec
from cropcube.errors import InputError
from cropcube.maps.cropland import cropland_mask, not_cropland
from cropcube.readers import open_cube, read_cube
from cropcube.synthetic.spectra import ASPHALT, WATER

FLANDERS = "flanders_2019_s2_croptype/0000280849BAC91C_"
LC_OUTSIDE_PARCELS = 99  # WorldCereal land-cover label of pixels outside every LPIS parcel


def test_rule_on_real_flanders_pixels_spares_parcels(shared_data):
    cube_path = shared_data / f"{FLANDERS}s2_7dates_x_4bands_dn.tif"
    flagged = not_cropland(read_cube(cube_path), open_cube(cube_path).spec)
    with rasterio.open(shared_data / f"{FLANDERS}label_land_cover_LC.tif") as ds:
        outside = ds.read(1) == LC_OUTSIDE_PARCELS
    # Real LPIS parcels (cropland and grassland): none flagged. Off-parcel pixels: some.
    assert flagged[~outside].mean() == 0.0
    assert flagged[outside].sum() >= 2


def test_rule_on_a_synthetic_scene(tmp_path):
    from cropcube.synthetic.scene import SceneConfig, generate_scene

    scene = generate_scene(SceneConfig(seed=3, height=200, width=260, supersample=1))  # has a road
    flagged = not_cropland(scene.cube, scene.spec)
    outside = scene.parcel_ids == 0
    assert flagged[~outside].mean() < 0.001
    assert flagged[outside].mean() > 0.03


def _pixels(spectrum, dates: int, spec: CubeSpec) -> np.ndarray:
    dn = np.round(np.asarray(spectrum) / spec.dn_scale).astype(np.uint16)
    return np.tile(dn, dates)[:, None, None] * np.ones((1, 2, 2), np.uint16)


def test_rule_flags_water_and_asphalt_not_green_or_cloudy_or_missing():
    spec = CubeSpec()
    t = len(spec.dates)
    water, asphalt = _pixels(WATER, t, spec), _pixels(ASPHALT, t, spec)
    crop = _pixels([0.03, 0.06, 0.03, 0.45], t, spec)
    assert not_cropland(water, spec).all() and not_cropland(asphalt, spec).all()
    assert not not_cropland(crop, spec).any()
    # A crop seen once and clouded on every other date stays a crop; no valid date at all: not flagged.
    clouded = crop.copy().reshape(t, 4, 2, 2)
    clouded[1:] = 3000
    assert not not_cropland(clouded.reshape(4 * t, 2, 2), spec).any()
    assert not not_cropland(np.zeros_like(crop), spec).any()


def test_mask_from_polygons_and_from_rasters(tmp_path):
    from cropcube.synthetic.scene import SceneConfig, generate_scene
    from cropcube.synthetic.writer import write_scene

    paths = write_scene(generate_scene(SceneConfig(seed=5, height=96, width=128, supersample=1)), tmp_path)
    grid = open_cube(paths["cube"]).grid
    with rasterio.open(paths["parcel_ids"]) as ds:
        parcels = ds.read(1) > 0
    # The BRP GeoPackage (EPSG:28992) burnt on the cube's grid (EPSG:32631) matches the id raster.
    from_gpkg = cropland_mask(paths["parcels"], grid)
    assert (from_gpkg == parcels).mean() > 0.97
    # The id raster itself as a mask, and a coarser copy in another grid, resampled to the map's grid.
    assert (cropland_mask(paths["parcel_ids"], grid) == parcels).all()
    coarse = tmp_path / "coarse.tif"
    with rasterio.open(
        coarse, "w", driver="GTiff", width=64, height=48, count=1, dtype="uint8", crs=grid.crs,
        transform=grid.transform * rasterio.Affine.scale(2), nodata=0,
    ) as dst:  # fmt: skip
        dst.write(parcels[::2, ::2].astype(np.uint8), 1)
    resampled = cropland_mask(coarse, grid)
    np.testing.assert_array_equal(resampled[::2, ::2], parcels[::2, ::2])


def test_bad_masks_are_named(tmp_path):
    from cropcube.readers.grid import Grid

    grid = Grid(crs="EPSG:32631", transform=from_origin(677400, 5851960, 10, 10), width=20, height=20)
    with pytest.raises(InputError, match="does not exist"):
        cropland_mask(tmp_path / "none.gpkg", grid)
    far = tmp_path / "far.gpkg"
    import shapely

    pyogrio.raw.write(str(far), np.array([shapely.to_wkb(shapely.box(0, 0, 10, 10))], dtype=object), [], [],
                      driver="GPKG", geometry_type="Polygon", crs="EPSG:32631")  # fmt: skip
    with pytest.raises(InputError, match="covers no pixel"):
        cropland_mask(far, grid)
    text = tmp_path / "mask.tif"
    text.write_text("not a raster")
    with pytest.raises(InputError, match="cannot read"):
        cropland_mask(text, grid)

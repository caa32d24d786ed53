"""Fixtures of the readers tests: real cubes split into realistic Sentinel-2 band files and products.

There is no real per-band Sentinel-2 product in ../shared/data, so these fixtures cut the real
Flevoland cube into what products hold: one single-band file per date and band, named like L2A
files, as GeoTIFFs in per-date folders, as JP2 files, and as SAFE folders/zips (with a larger
extent than the cube and 20 m copies beside the 10 m bands).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import rasterio
from rasterio.shutil import copy as rio_copy
from rasterio.transform import Affine

FLEVOLAND = "flevoland_2018_s2_100px/s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"
FLANDERS = "flanders_2019_s2_croptype"
BRP = "brp_2023_sample/brpgewaspercelen_definitief_2023.gpkg"
TILE = "T31UFU"
BANDS = ("B02", "B03", "B04", "B08")
# Padding of the SAFE-like tiles around the real cube: the builder must crop it away again.
PAD_LEFT, PAD_TOP, PAD_RIGHT, PAD_BOTTOM = 7, 5, 9, 3


def write_band(path: Path, data: npt.NDArray[Any], transform: Affine, crs: str = "EPSG:32631") -> None:
    """One single-band uint16 file; JP2 (lossless) or GeoTIFF by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": "uint16",
        "crs": crs,
        "transform": transform,
        "nodata": 0,
    }
    if path.suffix == ".jp2":
        with rasterio.MemoryFile() as mem:
            with mem.open(**profile) as dst:
                dst.write(data, 1)
            with mem.open() as src:
                rio_copy(src, str(path), driver="JP2OpenJPEG", QUALITY="100", REVERSIBLE="YES")
    else:
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)


@pytest.fixture(scope="session")
def flevoland_cube(shared_data: Path) -> Path:
    return shared_data / FLEVOLAND


@pytest.fixture(scope="session")
def flevoland(flevoland_cube: Path) -> dict[str, Any]:
    """The real cube's pixels, transform, dates."""
    with rasterio.open(flevoland_cube) as ds:
        dates = [dt.date.fromisoformat(d.split("_")[0]) for d in ds.descriptions[::4]]
        return {"data": ds.read(), "transform": ds.transform, "crs": ds.crs.to_string(), "dates": dates}


def _stamp(d: dt.date) -> str:
    return d.strftime("%Y%m%d") + "T105421"


@pytest.fixture(scope="session")
def tif_bands_dir(tmp_path_factory: pytest.TempPathFactory, flevoland: dict[str, Any]) -> Path:
    """Per-date folders ``2018-01-08/S2_L2A_B02.tif`` ... cut from the real cube."""
    root = tmp_path_factory.mktemp("tif_bands")
    for t, d in enumerate(flevoland["dates"]):
        for b, band in enumerate(BANDS):
            write_band(
                root / d.isoformat() / f"S2_L2A_{band}.tif",
                flevoland["data"][4 * t + b],
                flevoland["transform"],
            )
    return root


@pytest.fixture(scope="session")
def jp2_bands_dir(tmp_path_factory: pytest.TempPathFactory, flevoland: dict[str, Any]) -> Path:
    """Flat folder of product-named JP2 files ``T31UFU_20180108T105421_B02_10m.jp2``."""
    root = tmp_path_factory.mktemp("jp2_bands")
    for t, d in enumerate(flevoland["dates"]):
        for b, band in enumerate(BANDS):
            write_band(
                root / f"{TILE}_{_stamp(d)}_{band}_10m.jp2",
                flevoland["data"][4 * t + b],
                flevoland["transform"],
            )
    return root


def padded(band: npt.NDArray[Any], seed: int) -> npt.NDArray[Any]:
    """The band inside a larger tile whose border holds other (random, valid) values."""
    rng = np.random.default_rng(seed)
    h, w = band.shape
    out = rng.integers(1, 3000, size=(h + PAD_TOP + PAD_BOTTOM, w + PAD_LEFT + PAD_RIGHT), dtype=np.uint16)
    out[PAD_TOP : PAD_TOP + h, PAD_LEFT : PAD_LEFT + w] = band
    return out


def make_safe(root: Path, d: dt.date, bands: dict[str, npt.NDArray[Any]], transform: Affine) -> Path:
    """An L2A SAFE folder: R10m bands plus 20 m copies of the same bands (which must not be used)."""
    name = f"S2A_MSIL2A_{_stamp(d)}_N0206_R051_{TILE}_{_stamp(d)}.SAFE"
    img = root / name / "GRANULE" / f"L2A_{TILE}_A013406_{_stamp(d)}" / "IMG_DATA"
    tl = transform @ Affine.translation(-PAD_LEFT, -PAD_TOP)
    for band, data in bands.items():
        write_band(img / "R10m" / f"{TILE}_{_stamp(d)}_{band}_10m.jp2", data, tl)
        write_band(
            img / "R20m" / f"{TILE}_{_stamp(d)}_{band}_20m.jp2", data[::2, ::2] // 2 + 1, tl @ Affine.scale(2)
        )
    (root / name / "MTD_MSIL2A.xml").write_text("<metadata/>")
    return root / name


@pytest.fixture(scope="session")
def safe_products(tmp_path_factory: pytest.TempPathFactory, flevoland: dict[str, Any]) -> list[Path]:
    """One SAFE folder per date, each tile padded beyond the cube's extent."""
    root = tmp_path_factory.mktemp("safe")
    out = []
    for t, d in enumerate(flevoland["dates"]):
        bands = {band: padded(flevoland["data"][4 * t + b], seed=4 * t + b) for b, band in enumerate(BANDS)}
        out.append(make_safe(root, d, bands, flevoland["transform"]))
    return out


@pytest.fixture(scope="session")
def safe_zips(tmp_path_factory: pytest.TempPathFactory, safe_products: list[Path]) -> list[Path]:
    """The SAFE folders zipped as ESA distributes them (``<name>.SAFE/...`` inside ``<name>.zip``)."""
    root = tmp_path_factory.mktemp("safe_zip")
    out = []
    for product in safe_products:
        z = root / (product.stem + ".zip")
        with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
            for f in sorted(product.rglob("*")):
                if f.is_file():
                    zf.write(f, str(f.relative_to(product.parent)))
        out.append(z)
    return out


@pytest.fixture(scope="session")
def band_writer() -> Any:
    """:func:`write_band`, for tests that make their own band files."""
    return write_band

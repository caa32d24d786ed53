"""Find the band files of Sentinel-2 SAFE products, unpacked folders or ``.zip`` archives.

L2A products keep them at ``GRANULE/*/IMG_DATA/R10m/T31UFU_20180108T105421_B02_10m.jp2``; L1C at
``GRANULE/*/IMG_DATA/T31UFU_20180108T105421_B02.jp2``. Zips are read in place through GDAL's
``/vsizip/`` (nothing is extracted).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from cropcube.errors import InputError
from cropcube.readers.sentinel2 import Acquisitions, BandFile, band_file_from_name


def _in_img_data(parts: tuple[str, ...]) -> bool:
    return "GRANULE" in parts and "IMG_DATA" in parts


def safe_band_files(product: str | Path) -> list[BandFile]:
    """The band files of one SAFE product (folder or zip).

    Raises:
        InputError: the path does not exist, is not a readable zip, or holds no IMG_DATA band file.
    """
    path = Path(product)
    if not path.exists():
        raise InputError(str(product), "SAFE product does not exist")
    found: list[BandFile] = []
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path).parts
            if p.is_file() and _in_img_data(rel):
                bf = band_file_from_name(str(p), [*reversed(rel[:-1]), path.name])
                if bf is not None:
                    found.append(bf)
    else:
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(str(product), f"not a readable SAFE folder or zip: {exc}") from None
        for name in sorted(names):
            parts = PurePosixPath(name).parts
            if _in_img_data(parts):
                bf = band_file_from_name(
                    f"/vsizip/{path.resolve()}/{name}", [*reversed(parts[:-1]), path.name]
                )
                if bf is not None:
                    found.append(bf)
    if not found:
        raise InputError(
            str(product), "no band files under GRANULE/*/IMG_DATA: not a Sentinel-2 SAFE product"
        )
    return found


def safe_acquisitions(products: Iterable[str | Path]) -> Acquisitions:
    """Band files of several SAFE products (dates, or tiles of the same date), grouped."""
    products = list(products)
    if not products:
        raise InputError("--safe", "no SAFE product given")
    files = [bf for p in products for bf in safe_band_files(p)]
    return Acquisitions.of(files, ", ".join(str(p) for p in products))

"""`gdalinfo -json` through the GDAL library that rasterio ships (CI has no GDAL command-line tools).

GDAL's C function ``GDALInfo(dataset, options)`` is what the ``gdalinfo`` program prints; calling it
with ``-json`` from the libgdal that rasterio loaded gives the same document without gdal-bin. Where
gdal-bin is installed, :func:`gdalinfo_cli` runs the program itself for a cross-check.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import rasterio  # noqa: F401  (loads the libgdal this module talks to)


def _libgdal_path() -> str:
    # rasterio's wheel bundles libgdal under rasterio.libs/ (pyogrio's wheel brings another one: take
    # rasterio's); a source build links the system one.
    loaded = {
        line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines() if "libgdal" in line
    }
    gdal = sorted(p for p in loaded if Path(p).name.startswith("libgdal"))
    for path in gdal:
        if "rasterio" in path:
            return path
    if gdal:
        return gdal[0]
    found = ctypes.util.find_library("gdal")
    if not found:
        raise RuntimeError("no libgdal loaded by rasterio and none on the system")
    return found


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(_libgdal_path())
    lib.GDALOpen.restype = ctypes.c_void_p
    lib.GDALOpen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    lib.GDALInfoOptionsNew.restype = ctypes.c_void_p
    lib.GDALInfoOptionsNew.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p]
    lib.GDALInfo.restype = ctypes.c_void_p
    lib.GDALInfo.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.GDALInfoOptionsFree.argtypes = [ctypes.c_void_p]
    lib.GDALClose.argtypes = [ctypes.c_void_p]
    lib.VSIFree.argtypes = [ctypes.c_void_p]
    return lib


def gdalinfo_json(path: str | Path) -> dict[str, Any]:
    """The parsed output of ``gdalinfo -json PATH``, computed by libgdal in this process."""
    lib = _lib()
    ds = lib.GDALOpen(str(path).encode(), 0)
    if not ds:
        raise RuntimeError(f"GDAL cannot open {path}")
    args = (ctypes.c_char_p * 2)(b"-json", None)
    opts = lib.GDALInfoOptionsNew(args, None)
    try:
        out = lib.GDALInfo(ds, opts)
        text = ctypes.string_at(out).decode("utf-8")
        lib.VSIFree(out)
    finally:
        lib.GDALInfoOptionsFree(opts)
        lib.GDALClose(ds)
    return json.loads(text)


def band_rat(info: dict[str, Any], band: int = 1) -> dict[str, Any]:
    """The raster attribute table of a band in ``gdalinfo -json`` output (GDAL >= 3.7 puts it in the
    band, older versions at the top level for band 1)."""
    found = info["bands"][band - 1].get("rat") or (info.get("rat") if band == 1 else None)
    if found is None:
        raise KeyError(f"no raster attribute table for band {band}")
    return dict(found)


def gdalinfo_cli(path: str | Path) -> dict[str, Any] | None:
    """``gdalinfo -json PATH`` run as a program, or None where gdal-bin is not installed."""
    exe = shutil.which("gdalinfo")
    if exe is None:
        return None
    done = subprocess.run([exe, "-json", str(path)], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)

"""Benchmark: streaming cube build vs reading every band into memory first.

Makes 28 single-band uint16 GeoTIFFs of SIZE x SIZE pixels (7 dates x B02,B03,B04,B08, realistic
smooth fields plus noise), then builds the 28-band cube twice, each in a fresh subprocess:

- ``streaming``: ``cropcube.readers.sentinel2.build_cube_from_band_files`` (window by window);
- ``in-memory``: read all bands into one array, then ``cropcube.io.write_geotiff`` (what a naive
  reader does).

Prints wall time and peak resident memory of each, and their ratios.

Usage: nice python scripts/bench_cube_build.py [--size 2048] [--cog/--no-cog]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import Affine

DATES = ["2018-01-08", "2018-03-19", "2018-05-08", "2018-06-30", "2018-08-06", "2018-09-18", "2018-11-17"]
BANDS = ["B02", "B03", "B04", "B08"]


def make_bands(root: Path, size: int) -> None:
    rng = np.random.default_rng(0)
    transform = Affine(10, 0, 600000, 0, -10, 5900040)
    fields = rng.integers(300, 4000, size=(size // 64 + 1, size // 64 + 1)).repeat(64, 0).repeat(64, 1)
    for t, d in enumerate(DATES):
        for b, band in enumerate(BANDS):
            noise = rng.integers(0, 200, size=(size, size))
            data = (fields[:size, :size] + 300 * b + 50 * t + noise).astype(np.uint16)
            path = root / d / f"T31UFU_{d.replace('-', '')}T105421_{band}_10m.tif"
            path.parent.mkdir(parents=True, exist_ok=True)
            with rasterio.open(
                path,
                "w",
                driver="GTiff",
                width=size,
                height=size,
                count=1,
                dtype="uint16",
                crs="EPSG:32631",
                transform=transform,
                tiled=True,
                compress="deflate",
            ) as dst:
                dst.write(data, 1)


def run_streaming(bands: Path, out: Path, cog: bool) -> None:
    from cropcube.readers.sentinel2 import Acquisitions, build_cube_from_band_files, find_band_files

    acq = Acquisitions.of(find_band_files(bands), str(bands))
    build_cube_from_band_files(acq, [dt.date.fromisoformat(d) for d in DATES], out, cog=cog)


def run_in_memory(bands: Path, out: Path, cog: bool) -> None:
    from cropcube.cube_spec import REFERENCE_2018_SPEC
    from cropcube.io import write_geotiff

    arrays = []
    for d in DATES:
        for band in BANDS:
            [path] = (bands / d).glob(f"*_{band}_10m.tif")
            with rasterio.open(path) as ds:
                arrays.append(ds.read(1))
                transform, crs = ds.transform, ds.crs
    write_geotiff(
        out, np.stack(arrays), transform, crs, descriptions=REFERENCE_2018_SPEC.descriptions(), cog=cog
    )


def child(mode: str, bands: Path, out: Path, cog: bool) -> None:
    start = time.perf_counter()
    (run_streaming if mode == "streaming" else run_in_memory)(bands, out, cog)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--cog", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--child", choices=["streaming", "in-memory"], help=argparse.SUPPRESS)
    parser.add_argument("--bands", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.bands, args.out, args.cog)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_bands(root / "bands", args.size)
        results = {}
        for mode in ("streaming", "in-memory"):
            cmd = [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--bands",
                str(root / "bands"),
                "--out",
                str(root / f"{mode}.tif"),
                "--cog" if args.cog else "--no-cog",
            ]
            results[mode] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        with rasterio.open(root / "streaming.tif") as a, rasterio.open(root / "in-memory.tif") as b:
            same = bool((a.read() == b.read()).all())
    raw_mib = 28 * args.size * args.size * 2 / 2**20
    print(
        f"cube {args.size}x{args.size} x 28 bands uint16 ({raw_mib:.0f} MiB raw), cog={args.cog}, "
        f"same pixels: {same}"
    )
    print(f"{'method':<12}{'seconds':>10}{'peak MiB':>12}")
    for mode, r in results.items():
        print(f"{mode:<12}{r['seconds']:>10.2f}{r['peak_mib']:>12.0f}")
    s, m = results["streaming"], results["in-memory"]
    print(f"{'ratio s/m':<12}{s['seconds'] / m['seconds']:>10.2f}{s['peak_mib'] / m['peak_mib']:>12.2f}")


if __name__ == "__main__":
    main()

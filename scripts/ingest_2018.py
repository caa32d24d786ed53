#!/usr/bin/env python3
"""Build the 2018 Noordoostpolder cube + labels and ingest them into rasdaman, with the reference's names.

Steps (each an existing, tested cropcube command; re-running skips finished work):
  1. `cropcube cube build` from Sentinel-2 L2A SAFE products (or per-band files) onto the reference grid
     (EPSG:32631, 10 m, upper-left E 674900 N 5853960, 5490 x 2170 px), the 7 reference dates;
  2. `cropcube labels brp` rasterises the BRP 2018 GeoPackage onto that grid;
  3. `cropcube rasdaman ingest` creates `sentinel2_2018_flevopolder_10m_7x4bands` (2-D, 28 bands),
     `sentinel2_2018_flevopolder_10m_3d` (time x E x N) and `brpparcels_2018_flevopolder_10m_76classes`.

Example:
  python scripts/ingest_2018.py --safe /data/S2/*.SAFE --brp /data/brpgewaspercelen_definitief_2018.gpkg \
      --endpoint http://localhost:8080/rasdaman/ows --work-dir /data/flevoland_2018
Credentials: CROPCUBE_RASDAMAN_USER / CROPCUBE_RASDAMAN_PASSWORD or ~/.netrc (never arguments).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from cropcube.cube_spec import REFERENCE_2018_DATES, REFERENCE_2018_GRID

FEATURES_2D = "sentinel2_2018_flevopolder_10m_7x4bands"
FEATURES_3D = "sentinel2_2018_flevopolder_10m_3d"
LABELS = "brpparcels_2018_flevopolder_10m_76classes"


def reference_bbox() -> str:
    g = REFERENCE_2018_GRID
    res = float(g["resolution"])
    minx, maxy = float(g["origin_e"]), float(g["origin_n"])
    return f"{minx},{maxy - int(g['height']) * res},{minx + int(g['width']) * res},{maxy}"


def run(args: list[str], dry_run: bool) -> None:
    print("+", " ".join(args), flush=True)
    if not dry_run:
        subprocess.run(args, check=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--safe", nargs="+", type=Path, help="Sentinel-2 L2A SAFE folders or zips")
    src.add_argument("--bands-dir", type=Path, help="folder of per-band GeoTIFF/JP2 files")
    p.add_argument("--brp", type=Path, help="BRP 2018 GeoPackage (labels are skipped without it)")
    p.add_argument("--endpoint", help="petascope endpoint (default: $CROPCUBE_RASDAMAN_URL)")
    p.add_argument("--work-dir", type=Path, default=Path("flevoland_2018"))
    p.add_argument("--layout", default="both", choices=["2d", "3d", "both"])
    p.add_argument("--method", default="auto", choices=["auto", "wcst", "wcst_import"])
    p.add_argument("--max-days", type=int, default=3, help="nearest acquisition within this many days")
    p.add_argument("--replace", action="store_true", help="rebuild conflicting coverages")
    p.add_argument("--dry-run", action="store_true", help="print the commands only")
    a = p.parse_args(argv)

    a.work_dir.mkdir(parents=True, exist_ok=True)
    cube, labels = a.work_dir / "cube_2018.tif", a.work_dir / "labels_2018.tif"
    exe = [str(Path(sys.executable).with_name("cropcube"))]  # the console script of this environment
    if not cube.exists():
        build = [
            *exe,
            "cube",
            "build",
            "-o",
            str(cube),
            "--dates",
            ",".join(REFERENCE_2018_DATES),
            "--bbox",
            reference_bbox(),
            "--crs",
            str(REFERENCE_2018_GRID["crs"]),
            "--resolution",
            "10",
            "--max-days",
            str(a.max_days),
        ]
        build += (
            ["--bands-dir", str(a.bands_dir)]
            if a.bands_dir
            else [x for s in a.safe for x in ("--safe", str(s))]
        )
        run(build, a.dry_run)
    if a.brp is not None and not labels.exists():
        run([*exe, "labels", "brp", str(a.brp), "--like", str(cube), "-o", str(labels)], a.dry_run)
    ingest = [
        *exe,
        "rasdaman",
        "ingest",
        "--cube",
        str(cube),
        "--layout",
        a.layout,
        "--method",
        a.method,
        "--features-id",
        FEATURES_2D,
        "--features-3d-id",
        FEATURES_3D,
        "--labels-id",
        LABELS,
        "--work-dir",
        str(a.work_dir / "ingest"),
    ]
    if a.brp is not None:
        ingest += ["--labels", str(labels)]
    if a.endpoint:
        ingest += ["--endpoint", a.endpoint]
    if a.replace:
        ingest.append("--replace")
    run(ingest, a.dry_run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

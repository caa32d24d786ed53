#!/usr/bin/env python3
"""Client-mode classify-and-write-back over HTTP vs. one local pass, side by side (ratios in one run).

Uses the test suite's fake petascope on 127.0.0.1 (so the numbers are cropcube's own overhead: GeoTIFF
encode/decode, HTTP, halo re-reads, progress records; a real rasdaman adds its own I/O) and the tiny
fixture bundle of the inference tests (or --model). Prints a Markdown table.

    python scripts/bench_rasdaman.py [--size 384] [--tiles 64,128,256] [--model bundle.pt]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "rasdaman"), str(ROOT / "tests" / "inference")]

from fake_petascope import FakePetascope  # noqa: E402
from fixture_bundle import make_fixture_bundle  # noqa: E402

from cropcube.cube_spec import CubeSpec  # noqa: E402
from cropcube.inference import Classifier  # noqa: E402
from cropcube.io import write_geotiff  # noqa: E402
from cropcube.rasdaman.ingest.job import ingest  # noqa: E402
from cropcube.rasdaman.transport.petascope import PetascopeClient  # noqa: E402
from cropcube.rasdaman.writeback.job import classify_coverage  # noqa: E402
from cropcube.readers.grid import Grid  # noqa: E402


def synthetic_cube(size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    parcels = (np.arange(size)[:, None] // 17) * 31 + (np.arange(size)[None, :] // 23)
    base = 700 + 110 * (parcels % 11)
    cube = np.stack([base + 160 * (k % 4) + 35 * (k // 4) for k in range(28)]).astype(np.float64)
    return np.clip(cube + rng.normal(0, 30, cube.shape), 1, 20000).astype(np.uint16)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--tiles", default="64,128,256")
    p.add_argument("--model", type=Path)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = a.model or make_fixture_bundle(tmp / "fixture.pt")
        grid = Grid.from_origin("EPSG:32631", 677400.0, 5851960.0, 10.0, a.size, a.size)
        cube = synthetic_cube(a.size)
        path = write_geotiff(
            tmp / "cube.tif",
            cube,
            grid.transform,
            grid.crs,
            descriptions=CubeSpec().descriptions(),
            cog=False,
        )
        fake = FakePetascope()
        client = PetascopeClient(fake.start())
        t0 = time.perf_counter()
        ingest(client, path, None, tmp / "ingest", method="wcst", tile_size=256)
        t_ingest = time.perf_counter() - t0
        clf = Classifier(model=model)
        t0 = time.perf_counter()
        reference = clf.classify_array(cube)
        t_local = time.perf_counter() - t0
        rows = []
        for tile in [int(x) for x in a.tiles.split(",")]:
            t0 = time.perf_counter()
            report = classify_coverage(
                client,
                "S2_features_2d",
                f"crops_{tile}",
                clf.metadata,
                classifier=clf,
                tile_size=tile,
                progress_path=tmp / f"p{tile}.json",
            )
            dt = time.perf_counter() - t0
            same = bool((fake.array(f"crops_{tile}")[0, 0] == reference).all())
            reads = sum(r.get("request") == "GetCoverage" for r in fake.log)
            rows.append((tile, report.tiles_total, dt, dt / t_local, same, reads))
        fake.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"scene {a.size}x{a.size} px x 28 bands, model {clf.metadata.model_name} (halo {clf.metadata.halo}), "
        f"backend {clf.backend}; ingest {t_ingest:.2f} s; peak RSS {rss:.0f} MiB"
    )
    print("| route | tile | tiles | seconds | x local pass | identical to local |")
    print("|---|---|---|---|---|---|")
    print(f"| local one pass (`Classifier.classify_array`) | - | 1 | {t_local:.2f} | 1.00 | - |")
    for tile, n, dt, ratio, same, _ in rows:
        print(f"| client mode over HTTP (fake petascope) | {tile} | {n} | {dt:.2f} | {ratio:.2f} | {same} |")


if __name__ == "__main__":
    main()

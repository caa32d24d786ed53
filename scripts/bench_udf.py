#!/usr/bin/env python
"""Per-call cost of crop.classify paths, side by side, as a table with ratios.

    .venv/bin/python scripts/bench_udf.py [--model BUNDLE] [--size 500] [--repeat 5]

Rows (same real Sentinel-2 pixels, tiled from ../shared/data to SIZE x SIZE, rasdaman [E][N] layout):
  reload per call   the reference's way: the bundle is loaded again on every call (defect 1)
  python UDF        udf/python/crop.py: bundle loaded once per process, then cached
  C++ kernel        the kernel crop.so runs, in process, bundle cached, on [E][N] cells by strides
  C++ UDF process   cropcube_udf_run: a fresh process per call (torch start + bundle load + adapter),
                    i.e. the first call a new rasserver process pays; later calls pay only the kernel
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

ROOT = Path(__file__).resolve().parents[1]
S2_DIR = ROOT.parent / "shared" / "data" / "flevoland_2018_s2_100px"
S2 = S2_DIR / "s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"
UDF_RUN = ROOT / "udf" / "build" / "rasdaman" / "cropcube_udf_run"


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None, help="bundle (default: the UDF test bundle)")
    parser.add_argument("--arch", default=None, help="without --model: untrained bundle of this architecture")
    parser.add_argument("--size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--udf-run", type=Path, default=UDF_RUN)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_udf_"))
    model = args.model
    if model is None:
        sys.path.insert(0, str(ROOT / "tests" / "udf"))
        from make_udf_test_bundle import make_bundle

        model = make_bundle(tmp / f"{args.arch or 'udf_test'}_bundle.pt", arch=args.arch)
    os.environ["CROPCUBE_MODEL"] = str(model)

    with rasterio.open(S2) as src:
        tile = src.read()
    reps = -(-args.size // tile.shape[1])
    image = np.tile(tile, (1, reps, reps))[:, : args.size, : args.size]
    cube = np.ascontiguousarray(image.transpose(0, 2, 1))  # (28, E, N) as rasdaman hands it to Python

    from cropcube.inference.classifier import Classifier

    spec = importlib.util.spec_from_file_location("crop_udf_bench", ROOT / "udf" / "python" / "crop.py")
    assert spec and spec.loader
    crop_udf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(crop_udf)
    crop_udf.classify(cube)  # warm: load once

    rows: list[tuple[str, float, str]] = []
    # Classifier caches loaded bundles by file; clear it so every call really reloads.
    import cropcube.inference.classifier as clf

    def reload_call() -> None:
        clf._BUNDLES.clear()
        Classifier(model=model, backend="python").classify_array(image)

    rows.append(("reload per call (reference)", timed(reload_call, args.repeat), ""))
    rows.append(("python UDF, cached bundle", timed(lambda: crop_udf.classify(cube), args.repeat), ""))
    kernel_lib = args.udf_run.parent.parent / "libcropcube_kernel.so"
    if kernel_lib.is_file():
        # The kernel crop.so calls, reading rasdaman's [E][N] cells through strides (no transpose copy).
        os.environ["CROPCUBE_KERNEL_LIB"] = str(kernel_lib)
        native = Classifier(model=model, backend="native")
        cells_en = np.ascontiguousarray(image.transpose(2, 1, 0))  # (E, N, 28) struct cells
        t = timed(lambda: native.classify_array(cells_en, axis_order="rasdaman"), args.repeat)
        rows.append(("C++ kernel, cached (crop.so call)", t, "after the first call of a process"))
        t = timed(lambda: native.classify_array(image), args.repeat)
        rows.append(("C++ kernel, cached, image order", t, "same kernel on (28, rows, cols) planes"))
    if args.udf_run.is_file():
        cells = np.ascontiguousarray(image.transpose(2, 1, 0))  # [e][n][28] pixel-interleaved
        raw = tmp / "cells.raw"
        cells.tofile(raw)
        cmd = [
            str(args.udf_run),
            "--domain",
            f"100:{100 + args.size - 1},-50:{args.size - 51}",
            "--type",
            "ushort",
            "--bands",
            "28",
            "--layout",
            "pixel",
            str(raw),
            str(tmp / "out.raw"),
        ]
        t = timed(lambda: subprocess.run(cmd, check=True, capture_output=True), args.repeat)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rows.append(("C++ UDF, fresh process", t, f"peak RSS {rss:.0f} MiB"))
    base = rows[1][1]
    size = f"{args.size}x{args.size} px"
    print(f"crop.classify per call, {size}, model {Path(model).name}, best of {args.repeat}")
    print(f"{'path':32s} {'seconds':>9s} {'vs python UDF':>14s}  note")
    for name, seconds, note in rows:
        print(f"{name:32s} {seconds:9.3f} {seconds / base:13.2f}x  {note}")


if __name__ == "__main__":
    main()

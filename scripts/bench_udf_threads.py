"""The UDF's thread budget: warm crop.classify calls in several concurrent "server processes", with and
without another process busy on a core, for each threads setting. Prints a table.

rasdaman runs several rasserver processes, each of which loads crop.so and the kernel. Each process
here is ``cropcube_udf_run --repeat N``: the C++ UDF's adapter and the kernel exactly as crop.so runs
them (settings from the one config reader, the model from ``process_model()`` on every call), on the
real Flevoland pixels tiled to SIZE x SIZE in rasdaman's [E][N] pixel-interleaved layout.

    .venv/bin/python scripts/bench_udf_threads.py [--size 250] [--calls 20] [--processes 1,2,4]
        [--threads 1,2,0] [--model BUNDLE]      (threads 0 = libtorch's default: every core)

Needs the kernel build (scripts/test_cpp.sh builds udf/build/rasdaman/cropcube_udf_run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "udf" / "build" / "rasdaman" / "cropcube_udf_run"
S2 = (
    REPO.parent
    / "shared"
    / "data"
    / "flevoland_2018_s2_100px"
    / "s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"
)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def rasdaman_cells(size: int) -> np.ndarray:
    """SIZE x SIZE real pixels as rasdaman hands them: [E][N] cells of 28 ushort bands, N fastest."""
    with rasterio.open(S2) as src:
        image = src.read()  # (28, rows, cols)
    reps = -(-size // image.shape[1])
    tiled = np.tile(image, (1, reps, reps))[:, :size, :size]
    return np.ascontiguousarray(tiled.transpose(2, 1, 0))  # (E = col, N = row, band)


def busy() -> subprocess.Popen[bytes]:
    """Another process keeping one core busy (the 'database server is never idle' load)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run_config(
    cells: Path, size: int, threads: int, processes: int, calls: int, model: Path
) -> dict[str, float]:
    env = {
        **os.environ,
        "CROPCUBE_MODEL": str(model),
        "CROPCUBE_THREADS": str(threads),
        "CROPCUBE_CONFIG": "",
    }
    env.pop("OMP_NUM_THREADS", None)
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                str(RUN),
                "--domain",
                f"0:{size - 1},0:{size - 1}",
                "--type",
                "ushort",
                "--bands",
                "28",
                "--layout",
                "pixel",
                "--repeat",
                str(calls),
                str(cells),
                str(cells) + f".out{i}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for i in range(processes)
    ]
    medians, p90s = [], []
    for p in procs:
        out, err = p.communicate(timeout=3600)
        if p.returncode != 0:
            raise SystemExit(f"cropcube_udf_run failed: {err.strip()}")
        fields = out.split()
        medians.append(float(fields[fields.index("median_s") + 1]))
        p90s.append(float(fields[fields.index("p90_s") + 1]))
    wall = time.perf_counter() - start
    median = statistics.median(medians)
    return {"median": median, "p90": max(p90s), "mpx_s": processes * size * size / median / 1e6, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=250)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--threads", default="1,2,0")
    parser.add_argument(
        "--model", type=Path, default=REPO / "python_model" / "cropcube" / "resources" / "models"
        / "cropcube_default_synthetic.pt",
    )  # fmt: skip
    args = parser.parse_args()
    if not RUN.is_file():
        raise SystemExit(f"{RUN} is not built: run scripts/test_cpp.sh")
    processes = [int(p) for p in args.processes.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs")
    print(f"date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; load before: {os.getloadavg()}")
    print(f"bundle: {args.model.name}; input {args.size}x{args.size} px x 28 bands ([E][N] cells); "
          f"{args.calls} warm calls per process\n")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        cells = Path(tmp) / "cells.raw"
        rasdaman_cells(args.size).tofile(cells)
        rows = []
        for load in ("idle", "1 core busy"):
            for p in processes:
                for t in threads:
                    hog = busy() if load != "idle" else None
                    try:
                        time.sleep(0.5 if hog else 0)
                        r = run_config(cells, args.size, t, p, args.calls, args.model)
                    finally:
                        if hog:
                            hog.kill()
                            hog.wait()
                    rows.append((load, p, t, r))
                    print(
                        f"  {load:12s} processes {p} threads {t or 'all'}: median {r['median']:.4f} s",
                        flush=True,
                    )
    print()
    print(
        "| other load | server processes | threads per process | median call (s) | p90 call (s) "
        "| Mpx/s (all processes) | median vs threads=1 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for load, p, t, r in rows:
        base = next(x for lo, pp, tt, x in rows if lo == load and pp == p and tt == 1) if 1 in threads else r
        threads_text = t or "all (default)"
        print(
            f"| {load} | {p} | {threads_text} | {r['median']:.4f} | {r['p90']:.4f} | {r['mpx_s']:.2f} | "
            f"{r['median'] / base['median']:.2f}x |"
        )
    print(f"\nload after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Benchmark of the inference paths, side by side in one run (prints a table; ratios included).

Paths:
  kernel     the C++ kernel through cropcube.inference.Classifier(backend="native"), warm
  python     the pure-Python tiled path (backend="python"), warm
  reference  the reference way: torch.jit.load per call + ONE forward over the whole array, with the
             reference SegNet architecture (cropcube.models "reference_segnet", random weights: the
             reference never published its weights; speed does not depend on them)
  stream     `classify_file` (kernel) streaming a full-width 10980-column cube file of --strip-rows rows:
             the 10980 x 10980 time is extrapolated from it (blocks are 2048 x 2048 whatever the height,
             so peak RSS is that of the full scene) unless --full-scene streams the real size.

  window     one client write-back tile: a 512 core read with the bundle's halo (a 608 x 608 window for
             halo 48), classified as a core window (one pass) and, side by side, the whole window
             re-tiled by the kernel and cropped (the way before the core window: several passes).

Also: warm-call overhead of a 250 x 250 cutout (kernel call / bare module forward in the same
process), achieved FLOP/s of the kernel vs a single 3x3 conv layer's FLOP/s measured in the same run,
and time per pixel across sizes (linearity).

Every measurement runs in its own subprocess, so peak RSS (VmHWM) is per measurement.

  .venv/bin/python scripts/bench_kernel.py [--sizes 250,1000] [--model BUNDLE] [--threads N] [--busy]

--busy keeps one other process spinning on a core for the whole run (the idle-vs-busy comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SCENE_WIDTH = 10980


def _cube(size_h: int, size_w: int, seed: int = 0) -> np.ndarray:
    """A realistic field-patterned uint16 cube (28, H, W), made by tiling a small synthetic block."""
    rng = np.random.default_rng(seed)
    h0, w0 = min(size_h, 256), min(size_w, 256)
    yy, xx = np.mgrid[0:h0, 0:w0]
    field = ((yy // 23) * 7 + (xx // 31)) % 11
    k = np.arange(28)[:, None, None]
    band, date = k % 4, k // 4
    base = np.where(
        band == 3, 1500 + 300 * ((field * 5 + date * 3) % 11), 300 + 90 * ((field * 3 + date + band) % 9)
    )
    block = np.clip(base + rng.normal(0, 120, (28, h0, w0)), 1, 20000).astype(np.uint16)
    reps = (1, -(-size_h // h0), -(-size_w // w0))
    return np.ascontiguousarray(np.tile(block, reps)[:, :size_h, :size_w])


def _peak_rss_mib() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a worker would report at least
    # the driver's peak (the driver builds the streamed cube and bundles before it starts workers).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- workers (run in subprocesses)


def _calls(size: int) -> int:
    return 3 if size <= 500 else 2


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    mode, size = args.worker, args.size
    out: dict[str, Any] = {"mode": mode, "size": size}
    if mode in ("kernel", "python"):
        from cropcube.inference import Classifier

        clf = Classifier(args.model, backend="native" if mode == "kernel" else "python", threads=args.threads)
        cube = _cube(size, size)
        clf.classify_array(cube[:, : min(size, 300), : min(size, 300)])  # warm
        times = []
        for _ in range(_calls(size)):  # best of a few: the machine is shared
            t = time.perf_counter()
            clf.classify_array(cube)
            times.append(time.perf_counter() - t)
        out["seconds"] = min(times)
        out["pixels"] = size * size
    elif mode == "reference":
        cube = _cube(size, size)
        times = []
        for _ in range(_calls(size)):
            t = time.perf_counter()
            module = torch.jit.load(args.reference)  # reloaded per call, as the reference UDF did
            with torch.no_grad():
                logits = module(torch.from_numpy(cube.astype(np.float32))[None])
                _ = logits.argmax(1)
            times.append(time.perf_counter() - t)
        out["seconds"] = min(times)
        out["pixels"] = size * size
    elif mode == "overhead":
        from cropcube.bundle import load_bundle
        from cropcube.inference import Classifier

        cube = _cube(250, 250)
        clf = Classifier(args.model, backend="native", threads=args.threads)
        module = load_bundle(args.model).module
        x = torch.from_numpy(cube.astype(np.float32))[None]
        with torch.inference_mode():
            for _ in range(2):
                module(x)
                clf.classify_array(cube)
            bare, call = [], []
            for _ in range(args.repeats):
                t = time.perf_counter()
                module(x).argmax(1)
                bare.append(time.perf_counter() - t)
                t = time.perf_counter()
                clf.classify_array(cube)
                call.append(time.perf_counter() - t)
        out["bare_forward_s"] = float(np.median(bare))
        out["kernel_call_s"] = float(np.median(call))
    elif mode == "conv_peak":
        conv = torch.nn.Conv2d(64, 64, 3, padding=1).eval()
        x = torch.rand(1, 64, 512, 512)
        with torch.inference_mode():
            conv(x)
            t = time.perf_counter()
            for _ in range(args.repeats):
                conv(x)
            dt = (time.perf_counter() - t) / args.repeats
        out["flops_per_s"] = 2 * 64 * 64 * 9 * 512 * 512 / dt
    elif mode == "window":
        out.update(_window_worker(args))
    elif mode == "stream":
        from cropcube.inference import classify_file

        t = time.perf_counter()
        s = classify_file(
            args.cube_file,
            Path(args.tmp) / "stream_out.tif",
            model=args.model,
            backend="native",
            threads=args.threads,
            quicklook=False,
            progress=False,
        )
        out["seconds"] = time.perf_counter() - t
        out["pixels"] = s.width * s.height
    out["peak_rss_mib"] = _peak_rss_mib()
    return out


def _window_worker(args: argparse.Namespace) -> dict[str, Any]:
    """One write-back tile: core window (one pass) vs the whole window re-tiled, same handle."""
    from cropcube.inference import Classifier
    from cropcube.inference.native import plan_tiles

    clf = Classifier(args.model, backend="native", threads=args.threads)
    meta, tile = clf.metadata, clf.tile_size
    halo, size = meta.halo, clf.tile_size + 2 * meta.halo
    cube, core = _cube(size, size), (halo, halo, tile, tile)
    cut = (slice(halo, halo + tile), slice(halo, halo + tile))
    passes = len(plan_tiles(size, size, tile, halo, meta.downsampling_factor)[1])
    clf.run(cube, core=core)
    clf.classify_array(cube)  # warm
    one, retiled = [], []
    for _ in range(args.repeats):  # interleaved: both see the same machine load
        t = time.perf_counter()
        a = clf.run(cube, core=core).classes
        one.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = clf.classify_array(cube)[cut]
        retiled.append(time.perf_counter() - t)
    return {
        "window": size,
        "tile": tile,
        "passes_retiled": passes,
        "core_s": float(np.median(one)),
        "retiled_s": float(np.median(retiled)),
        "equal": bool((a == b).all()),
    }


def _busy() -> subprocess.Popen[bytes]:
    """Another process spinning on one core (stopped by the caller)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


# ---------------------------------------------------------------- driver


def _run(args: argparse.Namespace, mode: str, size: int = 0, **extra: str) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        mode,
        "--size",
        str(size),
        "--model",
        str(args.model),
        "--reference",
        str(args.reference),
        "--threads",
        str(args.threads),
        "--repeats",
        str(args.repeats),
        "--tmp",
        args.tmp,
    ]
    for k, v in extra.items():
        cmd += [f"--{k.replace('_', '-')}", v]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"mode": mode, "size": size, "error": proc.stderr.strip().splitlines()[-1:]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _write_stream_cube(path: Path, rows: int) -> None:
    """A 10980-column cube file (tiled GeoTIFF, DEFLATE) of ``rows`` rows, written strip by strip."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    from cropcube.cube_spec import REFERENCE_2018_SPEC

    profile = {
        "driver": "GTiff",
        "width": SCENE_WIDTH,
        "height": rows,
        "count": 28,
        "dtype": "uint16",
        "crs": "EPSG:32631",
        "transform": from_origin(600000, 5900040, 10, 10),
        "nodata": 0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "BIGTIFF": "YES",
    }
    strip = _cube(512, SCENE_WIDTH, seed=1)
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, rows, 512):
            n = min(512, rows - r0)
            dst.write(strip[:, :n], window=Window(0, r0, SCENE_WIDTH, n))
        for i, d in enumerate(REFERENCE_2018_SPEC.descriptions(), start=1):
            dst.set_band_description(i, d)


def _default_bundles(tmp: Path, model: str | None) -> tuple[Path, Path, str]:
    import torch

    from cropcube.bundle.export import export_bundle
    from cropcube.classes import load_class_table
    from cropcube.cube_spec import REFERENCE_2018_SPEC
    from cropcube.models import DEFAULT_MODEL, build_model, default_bundle_path

    norm = {"kind": "standardize", "mean": [0.05, 0.07, 0.06, 0.25] * 7, "std": [0.03, 0.03, 0.04, 0.1] * 7}

    def make(name: str) -> Path:
        torch.manual_seed(0)
        path = tmp / f"{name}.pt"
        export_bundle(
            build_model(name).eval(),
            REFERENCE_2018_SPEC,
            load_class_table(),
            norm,
            {},
            {},
            path,
            name,
            "bench-random-weights",
        )
        return path

    if model:
        chosen, what = Path(model), f"{model}"
    elif default_bundle_path().is_file():
        chosen, what = default_bundle_path(), "shipped demo bundle"
    else:
        chosen, what = (
            make(DEFAULT_MODEL),
            f"default architecture {DEFAULT_MODEL}, random weights (demo bundle not shipped)",
        )
    return chosen, make("reference_segnet"), what


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="250,1000", help="square input sizes for kernel/python/reference")
    p.add_argument("--reference-sizes", default=None, help="sizes for the reference (default: --sizes)")
    p.add_argument("--strip-rows", type=int, default=256, help="rows of the 10980-column streamed cube")
    p.add_argument("--full-scene", action="store_true", help="stream a real 10980 x 10980 cube (6.7 GB raw)")
    p.add_argument("--model", default=None, help="bundle (default: the shipped demo bundle)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    p.add_argument("--busy", action="store_true", help="keep another process busy on a core meanwhile")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--reference", default="", help=argparse.SUPPRESS)
    p.add_argument("--tmp", default="", help=argparse.SUPPRESS)
    p.add_argument("--cube-file", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    busy = _busy() if args.busy else None
    try:
        _bench(args)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()


def _bench(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    ref_sizes = [int(s) for s in (args.reference_sizes or args.sizes).split(",")]
    with tempfile.TemporaryDirectory(prefix="cropcube-bench-") as tmp:
        args.tmp = tmp
        model, reference, what = _default_bundles(Path(tmp), args.model)
        args.model, args.reference = str(model), str(reference)
        from cropcube.bundle.io import read_metadata

        meta = read_metadata(model)
        ref_meta = read_metadata(reference)
        results: dict[str, Any] = {"model": what, "flops_per_pixel": meta.flops_per_pixel, "runs": []}
        for size in sizes:
            for mode in ("kernel", "python"):
                results["runs"].append(_run(args, mode, size))
        for size in ref_sizes:
            results["runs"].append(_run(args, "reference", size))
        rows = args.strip_rows if not args.full_scene else SCENE_WIDTH
        cube_file = Path(tmp) / "scene.tif"
        _write_stream_cube(cube_file, rows)
        results["runs"].append(_run(args, "stream", rows, cube_file=str(cube_file)))
        cube_file.unlink()
        overhead = _run(args, "overhead")
        peak = _run(args, "conv_peak")
        results.update(overhead=overhead, conv_peak=peak, window=_run(args, "window"))
        _report(results, meta.flops_per_pixel, ref_meta.flops_per_pixel, sizes, args)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))


def _report(
    results: dict[str, Any], fpp: float, ref_fpp: float, sizes: list[int], args: argparse.Namespace
) -> None:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    import torch

    print(
        f"machine: {cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"threads {args.threads or 'default'}{', one other process busy on a core' if args.busy else ''}, "
        f"load average {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print(
        f"model: {results['model']} ({fpp / 1e3:.0f} kFLOP/px); reference SegNet {ref_fpp / 1e3:.0f} kFLOP/px"
    )
    print()
    print(
        f"{'path':<11}{'input':>16}{'seconds':>10}{'Mpx/s':>9}{'us/px':>8}"
        f"{'peak RSS MiB':>14}{'vs reference':>14}"
    )
    ref_rate = {
        r["size"]: r["pixels"] / r["seconds"]
        for r in results["runs"]
        if r["mode"] == "reference" and "error" not in r
    }
    for r in results["runs"]:
        label = f"{r['size']}x{r['size']}" if r["mode"] != "stream" else f"{SCENE_WIDTH}x{r['size']}"
        if "error" in r:
            print(f"{r['mode']:<11}{label:>16}  failed: {r['error']}")
            continue
        rate = r["pixels"] / r["seconds"]
        ratio = rate / ref_rate[r["size"]] if r["size"] in ref_rate and r["mode"] != "reference" else None
        if r["mode"] == "stream" and ref_rate:
            ratio = rate / min(ref_rate.values())
        print(
            f"{r['mode']:<11}{label:>16}{r['seconds']:>10.2f}{rate / 1e6:>9.3f}{1e6 / rate:>8.2f}"
            f"{r['peak_rss_mib']:>14.0f}{(f'{ratio:.1f}x' if ratio else '-'):>14}"
        )
        if r["mode"] == "stream":
            full = SCENE_WIDTH * SCENE_WIDTH / rate
            print(
                f"{'':<11}{'10980x10980':>16}{full:>10.0f}{'':>9}{'':>8}{r['peak_rss_mib']:>14.0f}"
                f"{'(extrapolated)' if r['size'] < SCENE_WIDTH else '':>14}"
            )
    o, c = results["overhead"], results["conv_peak"]
    print()
    if "error" not in o:
        print(
            f"warm 250x250 call: kernel {o['kernel_call_s'] * 1e3:.1f} ms vs bare forward "
            f"{o['bare_forward_s'] * 1e3:.1f} ms = {o['kernel_call_s'] / o['bare_forward_s']:.2f}x "
            "(target <= 1.3x)"
        )
    w = results["window"]
    if "error" not in w:
        print(
            f"write-back tile {w['tile']} + halo = {w['window']}x{w['window']} window: core window "
            f"(1 pass) {w['core_s'] * 1e3:.0f} ms vs window re-tiled ({w['passes_retiled']} passes) "
            f"{w['retiled_s'] * 1e3:.0f} ms = {w['retiled_s'] / w['core_s']:.2f}x; "
            f"same classes: {w['equal']}"
        )
    kernel_runs = [r for r in results["runs"] if r["mode"] == "kernel" and "error" not in r]
    if kernel_runs and "error" not in c and fpp:
        best = max(kernel_runs, key=lambda r: r["size"])
        achieved = fpp * best["pixels"] / best["seconds"]
        print(
            f"FLOP/s: kernel {achieved / 1e9:.1f} GFLOP/s at {best['size']}x{best['size']} vs single "
            f"3x3 conv {c['flops_per_s'] / 1e9:.1f} GFLOP/s = {100 * achieved / c['flops_per_s']:.0f} % "
            "(target >= 70 %)"
        )
    per_px = {r["size"]: r["seconds"] / r["pixels"] for r in kernel_runs}
    stream = [r for r in results["runs"] if r["mode"] == "stream" and "error" not in r]
    if per_px:
        parts = [f"{s}x{s}: {v * 1e6:.2f} us" for s, v in sorted(per_px.items())]
        parts += [
            f"stream {SCENE_WIDTH}x{r['size']}: {1e6 * r['seconds'] / r['pixels']:.2f} us" for r in stream
        ]
        print("time per pixel (kernel): " + ", ".join(parts))


if __name__ == "__main__":
    main()

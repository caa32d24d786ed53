#!/usr/bin/env python
"""The kernel against the runtimes a user would pick instead, side by side in one run (prints tables).

Same network, same weights, same input, same tiles for every path: the bundle (default: the shipped
demo bundle), its ONNX export (`cropcube.bundle.onnx`) for the peers, the kernel's tiling plan (cores
of 512 px plus the bundle's halo) for every tiled path. Paths (each in its own worker process, so
thread pools, environment and peak RSS are its own):

  kernel        the C++ kernel, default options (what `cropcube classify` runs: threads sized to the
                free CPUs, precision=auto)
  kernel-f32    the C++ kernel, default threads, float32
  kernel-1t     the C++ kernel with one thread, float32 (the yardstick of "no collapse" under load)
  kernel-all    the C++ kernel with one thread per CPU, fixed, float32 (the default before issue 15)
  kernel-bf16   the C++ kernel with precision=bfloat16
  python        the pure-Python path (torch in-process), default options
  ort           ONNX Runtime (CPU provider, its default threads), the same tiles
  ov-f32        OpenVINO CPU, f32 inference precision, the same tiles
  ov-bf16       OpenVINO CPU, bf16 inference precision (where the CPU has bf16), the same tiles
  reference     the reference way: TorchScript reloaded per call, ONE forward pass over the whole
                array, reference SegNet architecture (random weights; speed does not depend on them)

Each measurement is repeated in interleaved rounds (every path once per round, idle then busy), and
the median is reported. "busy": a process this script starts and stops, spinning on the last CPU,
as a database server's other work would. Agreement: share of pixels whose class equals the float32
kernel's, on a synthetic benchmark scene (realistic field patterns, clouds).

Also: the warm 250 x 250 UDF-sized kernel call against the bare forward pass of the same module,
and the streamed 10980-column file path (`classify_file`) with its peak RSS.

  .venv/bin/python scripts/bench_runtimes.py [--size 1024] [--rounds 3] [--paths kernel,ort,...]
  (peers: pip install -e '.[bench]')
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ALL_PATHS = (
    "kernel",
    "kernel-f32",
    "kernel-1t",
    "kernel-all",
    "kernel-bf16",
    "python",
    "ort",
    "ov-f32",
    "ov-bf16",
    "reference",
)
SCENE_WIDTH = 10980


# ---------------------------------------------------------------- workers (own processes)


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Tiled:
    """Runs a peer runtime over the kernel's tiling plan: window in, core's arg-max out."""

    def __init__(self, meta: Any, run: Any) -> None:
        from cropcube.tiling import DEFAULT_TILE_SIZE

        self.meta, self.run_window, self.tile = meta, run, DEFAULT_TILE_SIZE

    def __call__(self, cube: np.ndarray) -> np.ndarray:
        from cropcube.tiling import plan_tiles

        _, h, w = cube.shape
        out = np.zeros((h, w), np.uint8)
        nodata = self.meta.spec.nodata
        for t in plan_tiles(h, w, self.tile, self.meta.halo, factor=self.meta.downsampling_factor):
            window = np.ascontiguousarray(cube[:, t.window[0], t.window[1]], dtype=np.float32)[None]
            rs, cs = t.core_in_window
            logits = self.run_window(window)[0][:, rs, cs]
            valid = (window[0][:, rs, cs] != nodata).any(axis=0)
            out[t.core] = np.where(valid, logits.argmax(axis=0) + 1, 0)
        return out


def _make_runner(path: str, args: argparse.Namespace) -> Any:
    import torch

    from cropcube.bundle.io import read_metadata

    meta = read_metadata(args.model)
    if path.startswith("kernel") or path == "python":
        from cropcube.inference import Classifier

        clf = Classifier(
            args.model,
            backend="python" if path == "python" else "native",
            threads={"kernel-1t": 1, "kernel-all": len(os.sched_getaffinity(0))}.get(path, 0),
            precision={"kernel": "auto", "kernel-bf16": "bfloat16"}.get(path, "float32"),
        )
        return clf.classify_array
    # A calendar-free (format 2) model's ONNX graph also takes the days of year (B, T): the defaults here.
    doy = meta.accepted_calendar().default_doy.astype(np.float32)[None]
    takes_doy = meta.calendar is not None
    if path == "ort":
        import onnxruntime as ort

        session = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])

        def run_ort(x: np.ndarray) -> np.ndarray:
            feed = {"x": x, "doy": doy.repeat(len(x), 0)} if takes_doy else {"x": x}
            return np.asarray(session.run(None, feed)[0])

        return _Tiled(meta, run_ort)
    if path.startswith("ov-"):
        import openvino as ov

        core = ov.Core()
        precision = path.removeprefix("ov-")
        compiled = core.compile_model(
            core.read_model(args.onnx), "CPU", {"INFERENCE_PRECISION_HINT": precision}
        )
        request = compiled.create_infer_request()
        hint = compiled.get_property("INFERENCE_PRECISION_HINT")
        print(f"{path}: OpenVINO runs at {hint}", file=sys.stderr)

        def run(x: np.ndarray) -> np.ndarray:
            request.infer({0: x, 1: doy.repeat(len(x), 0)} if takes_doy else {0: x})
            return np.asarray(request.get_output_tensor(0).data)

        return _Tiled(meta, run)
    if path == "reference":

        def reference(cube: np.ndarray) -> np.ndarray:
            module = torch.jit.load(args.reference)  # reloaded per call, as the reference UDF did
            with torch.inference_mode():
                logits = module(torch.from_numpy(cube.astype(np.float32))[None])
                return (logits.argmax(1)[0] + 1).to(torch.uint8).numpy()

        return reference
    raise SystemExit(f"unknown path {path!r}")


_OVERHEAD: dict[str, Any] = {}


def _overhead(args: argparse.Namespace, repeats: int) -> dict[str, float]:
    """Warm 250 x 250 kernel call vs the bare forward pass of the same module, same process."""
    import torch

    from cropcube.bundle import load_bundle
    from cropcube.inference import Classifier

    if not _OVERHEAD:  # one thread and float32 on both sides: the kernel's own cost, not its defaults
        _OVERHEAD.update(
            clf=Classifier(args.model, backend="native", threads=1, precision="float32"),
            module=load_bundle(args.model).module,
        )
    cube = np.load(args.scene, mmap_mode="r")[:, :250, :250].copy()
    clf, module = _OVERHEAD["clf"], _OVERHEAD["module"]
    x = torch.from_numpy(cube.astype(np.float32))[None]
    bare, call = [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with torch.inference_mode():
        for i in range(repeats + 2):
            t = time.perf_counter()
            module(x).argmax(1)
            b = time.perf_counter() - t
            t = time.perf_counter()
            clf.classify_array(cube)
            c = time.perf_counter() - t
            if i >= 2:
                bare.append(b)
                call.append(c)
    torch.set_num_threads(threads)
    return {"bare_s": statistics.median(bare), "call_s": statistics.median(call)}


def worker(args: argparse.Namespace) -> None:
    """Serve commands on stdin: ``run N`` (time N calls), ``overhead N``, ``save FILE``, ``quit``."""
    cube = np.load(args.scene)
    if args.worker == "reference":
        cube = cube[:, : args.reference_size, : args.reference_size].copy()
    fn = _make_runner(args.worker, args)
    classes = fn(cube)  # warm: bundle load, thread pools, shapes
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "run":
            times = []
            for _ in range(int(arg)):
                t = time.perf_counter()
                classes = fn(cube)
                times.append(time.perf_counter() - t)
            reply: dict[str, Any] = {"seconds": times, "pixels": int(cube.shape[1] * cube.shape[2])}
        elif cmd == "overhead":
            reply = _overhead(args, int(arg))
        elif cmd == "save":
            np.save(arg, classes)
            reply = {"saved": arg}
        else:
            reply = {"peak_rss_mib": peak_rss_mib()}
            print(json.dumps(reply), flush=True)
            return
        print(json.dumps(reply), flush=True)


def stream_worker(args: argparse.Namespace) -> None:
    """One `classify_file` run over the streamed cube; prints seconds, pixels and peak RSS."""
    from cropcube.inference import classify_file

    t = time.perf_counter()
    s = classify_file(
        args.cube_file, Path(args.tmp) / "stream_out.tif", model=args.model, quicklook=False, progress=False
    )
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - t,
                "pixels": s.width * s.height,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )


# ---------------------------------------------------------------- driver


class Busy:
    """A process spinning on the last CPU while the context is open (the 'other process busy')."""

    def __enter__(self) -> Busy:
        # Spins until this script ends, even if it is killed (parent gone), at most one hour.
        code = (
            "import os, time\nos.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})\n"
            "parent, end = os.getppid(), time.monotonic() + 3600\n"
            "while os.getppid() == parent and time.monotonic() < end:\n    for _ in range(100000): pass"
        )
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(0.5)  # let it settle on its core
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


class Worker:
    """A persistent worker process for one path."""

    def __init__(self, path: str, args: argparse.Namespace) -> None:
        self.path = path
        cmd = [sys.executable, __file__, "--worker", path, *_shared_args(args)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.error: str | None = None
        if not self._read().get("ready"):
            self.error = "failed to start"

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.error = f"worker exited ({self.proc.wait()})"
            return {}
        return dict(json.loads(line))

    def ask(self, command: str) -> dict[str, Any]:
        if self.error:
            return {}
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()


def _shared_args(args: argparse.Namespace) -> list[str]:
    return [
        "--model", str(args.model), "--onnx", str(args.onnx), "--reference", str(args.reference),
        "--scene", str(args.scene), "--reference-size", str(args.reference_size), "--tmp", str(args.tmp),
    ]  # fmt: skip


def _cpu() -> tuple[str, list[str]]:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "")
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
    wanted = ("avx512_bf16", "amx_bf16", "amx_int8", "avx512_vnni", "avx512f", "avx2")
    return model or platform.processor(), [f for f in wanted if f in flags]


def _scene(size: int, path: Path) -> None:
    """The benchmark scene: a synthetic Noordoostpolder cube (fields, roads, 10 % clouds)."""
    from cropcube.synthetic import SceneConfig, generate_scene

    np.save(path, generate_scene(SceneConfig(seed=3, height=size, width=size, cloud_fraction=0.1)).cube)


def _bundles(args: argparse.Namespace, tmp: Path) -> None:
    import torch

    from cropcube.bundle.export import export_bundle
    from cropcube.bundle.onnx import export_onnx
    from cropcube.classes import load_class_table
    from cropcube.cube_spec import REFERENCE_2018_SPEC
    from cropcube.models import build_model, default_bundle_path

    args.model = Path(args.model) if args.model else default_bundle_path()
    if not args.onnx:
        args.onnx = tmp / "model.onnx"
        t = time.perf_counter()
        print(export_onnx(args.model, args.onnx).summary(), f"({time.perf_counter() - t:.0f} s)", flush=True)
    torch.manual_seed(0)
    args.reference = tmp / "reference_segnet.pt"
    norm = {"kind": "standardize", "mean": [0.05, 0.07, 0.06, 0.25] * 7, "std": [0.03, 0.03, 0.04, 0.1] * 7}
    export_bundle(
        build_model("reference_segnet").eval(), REFERENCE_2018_SPEC, load_class_table(), norm, {}, {},
        args.reference, "reference_segnet", "bench-random-weights",
    )  # fmt: skip


def _stream(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_kernel import _write_stream_cube

    rows = SCENE_WIDTH if args.full_scene else args.strip_rows
    cube_file = Path(args.tmp) / "scene.tif"
    _write_stream_cube(cube_file, rows)
    cmd = [sys.executable, __file__, "--stream", *_shared_args(args), "--cube-file", str(cube_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    cube_file.unlink()
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1], "rows": rows}
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "rows": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=1024, help="edge of the square benchmark scene")
    p.add_argument("--reference-size", type=int, default=1000, help="edge for the reference way")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    p.add_argument("--calls", type=int, default=2, help="calls per path per round")
    p.add_argument("--paths", default=",".join(ALL_PATHS), help=f"subset of {','.join(ALL_PATHS)}")
    p.add_argument("--no-busy", action="store_true", help="idle only")
    p.add_argument("--strip-rows", type=int, default=512, help="rows of the streamed 10980-column cube")
    p.add_argument("--full-scene", action="store_true", help="stream a full 10980 x 10980 cube")
    p.add_argument("--no-stream", action="store_true")
    p.add_argument("--model", default=None, help="bundle (default: the shipped demo bundle)")
    p.add_argument("--onnx", default=None, help="its ONNX export (default: exported in this run)")
    p.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--stream", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--reference", default="", help=argparse.SUPPRESS)
    p.add_argument("--scene", default="", help=argparse.SUPPRESS)
    p.add_argument("--tmp", default="", help=argparse.SUPPRESS)
    p.add_argument("--cube-file", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    if args.stream:
        stream_worker(args)
        return
    paths = [s for s in args.paths.split(",") if s]
    unknown = sorted(set(paths) - set(ALL_PATHS))
    if unknown:
        p.error(f"unknown paths {unknown}")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cropcube-bench-rt-") as tmp_name:
        tmp = Path(tmp_name)
        args.tmp, args.scene = tmp, tmp / "scene.npy"
        _scene(args.size, args.scene)
        _bundles(args, tmp)
        workers = {}
        for path in paths:
            w = Worker(path, args)
            workers[path] = w
            if w.error:
                print(f"{path}: {w.error} (see its error above)", flush=True)
        loads = ["idle"] if args.no_busy else ["idle", "busy"]
        rates: dict[tuple[str, str], list[float]] = {}
        overhead: dict[str, list[dict[str, float]]] = {}
        load_seen: dict[str, list[float]] = {c: [] for c in loads}
        for r in range(args.rounds):
            for cond in loads:
                ctx = Busy() if cond == "busy" else None
                if ctx:
                    ctx.__enter__()
                try:
                    load_seen[cond].append(os.getloadavg()[0])
                    for path, w in workers.items():
                        calls = 1 if path == "reference" else args.calls
                        if path == "reference" and cond == "busy":
                            continue  # minutes per call; its idle rate is the yardstick
                        res = w.ask(f"run {calls}")
                        if res:
                            px = res["pixels"]
                            rates.setdefault((path, cond), []).extend(px / s for s in res["seconds"])
                    if "kernel" in workers:
                        overhead.setdefault(cond, []).append(workers["kernel"].ask("overhead 5"))
                finally:
                    if ctx:
                        ctx.__exit__()
            now = time.strftime("%H:%M:%S", time.gmtime())
            print(f"round {r + 1}/{args.rounds} done ({now})", flush=True)
        classes = {}
        for path, w in workers.items():
            if path != "reference" and w.ask(f"save {tmp / path}.npy"):
                classes[path] = np.load(tmp / f"{path}.npy")
        rss = {path: w.ask("quit").get("peak_rss_mib", float("nan")) for path, w in workers.items()}
        stream = None if args.no_stream else _stream(args)
    results = {
        "machine": _cpu(),
        "cores": os.cpu_count(),
        "started": started,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_start": load_start,
        "load_end": os.getloadavg(),
        "load_seen": load_seen,
        "rates": {f"{p}|{c}": v for (p, c), v in rates.items()},
        "overhead": overhead,
        "rss": rss,
        "stream": stream,
        "agreement": _agreement(classes),
        "size": args.size,
        "reference_size": args.reference_size,
        "versions": _versions(),
    }
    _report(results, paths, loads)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def _agreement(classes: dict[str, np.ndarray]) -> dict[str, float]:
    """Share of pixels with the float32 kernel's class (kernel-f32, else kernel-1t, else kernel)."""
    base = next(
        (classes[p] for p in ("kernel-f32", "kernel-1t", "kernel-all", "kernel") if p in classes), None
    )
    return {} if base is None else {p: float((c == base).mean()) for p, c in classes.items()}


def _versions() -> dict[str, str]:
    out = {}
    for name in ("torch", "onnxruntime", "openvino"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = "not installed"
    return out


def _report(res: dict[str, Any], paths: list[str], loads: list[str]) -> None:
    cpu, flags = res["machine"]
    print()
    print(f"machine: {cpu}, {res['cores']} cores ({' '.join(flags)})")
    print(f"software: {', '.join(f'{k} {v}' for k, v in res['versions'].items())}")
    seen = ", ".join(f"{c} {min(v):.1f}-{max(v):.1f}" for c, v in res["load_seen"].items() if v)
    print(
        f"time: {res['started']} .. {res['finished']}; load average (1 min) at start "
        f"{res['load_start'][0]:.1f}, during the phases {seen}, at the end {res['load_end'][0]:.1f}"
    )
    print(f"scene: {res['size']}² synthetic (seed 3, 10 % clouds); reference way at {res['reference_size']}²")
    rate = {}
    for key, v in res["rates"].items():
        path, cond = key.split("|")
        rate[(path, cond)] = statistics.median(v)
    peers = [p for p in ("ort", "ov-f32", "ov-bf16") if (p, "idle") in rate]
    ref = rate.get(("reference", "idle"))
    print()
    head = f"{'path':<12}{'idle Mpx/s':>11}"
    if "busy" in loads:
        head += f"{'busy Mpx/s':>11}{'busy/idle':>10}{'busy vs 1t':>11}"
    head += f"{'vs best peer':>13}{'vs reference':>13}{'agreement':>11}{'peak RSS':>10}"
    print(head)
    best_peer = max((rate[(p, "idle")] for p in peers), default=None)
    for path in paths:
        idle = rate.get((path, "idle"))
        if idle is None:
            print(f"{path:<12}  failed")
            continue
        line = f"{path:<12}{idle / 1e6:>11.3f}"
        if "busy" in loads:
            busy = rate.get((path, "busy"))
            one = rate.get(("kernel-1t", "busy"))
            line += f"{busy / 1e6:>11.3f}{busy / idle:>9.2f}x" if busy else f"{'-':>11}{'-':>10}"
            line += f"{busy / one:>10.2f}x" if busy and one else f"{'-':>11}"
        line += f"{idle / best_peer:>12.2f}x" if best_peer and path not in peers else f"{'-':>13}"
        line += f"{idle / ref:>12.1f}x" if ref and path != "reference" else f"{'-':>13}"
        agree = res["agreement"].get(path)
        line += f"{100 * agree:>10.2f}%" if agree is not None else f"{'-':>11}"
        line += f"{res['rss'].get(path, float('nan')):>7.0f} MiB"
        print(line)
    print()
    for cond, vals in res["overhead"].items():
        vals = [v for v in vals if v]
        if vals:
            bare = statistics.median(v["bare_s"] for v in vals)
            call = statistics.median(v["call_s"] for v in vals)
            print(
                f"warm 250² kernel call ({cond}): {call * 1e3:.1f} ms vs bare forward {bare * 1e3:.1f} ms "
                f"= {call / bare:.2f}x (target <= 1.3x)"
            )
    s = res["stream"]
    if s and "error" not in s:
        full = SCENE_WIDTH * SCENE_WIDTH / (s["pixels"] / s["seconds"])
        what = "measured" if s["rows"] >= SCENE_WIDTH else f"extrapolated from {SCENE_WIDTH} x {s['rows']}"
        print(
            f"streamed file (classify_file, kernel): {SCENE_WIDTH} x {s['rows']} at "
            f"{s['pixels'] / s['seconds'] / 1e6:.3f} Mpx/s, peak RSS {s['peak_rss_mib']:.0f} MiB "
            f"(target <= 2048 MiB); 10980² in {full:.0f} s ({what})"
        )
    elif s:
        print(f"streamed file: failed: {s['error']}")
    _targets(rate, peers, ref, res, loads)


def _targets(
    rate: dict[tuple[str, str], float],
    peers: list[str],
    ref: float | None,
    res: dict[str, Any],
    loads: list[str],
) -> None:
    k = rate.get(("kernel", "idle"))
    if not k:
        return
    ok_peers = [p for p in peers if res["agreement"].get(p, 0) >= 0.99]
    print()
    if ok_peers:
        best = max(ok_peers, key=lambda p: rate[(p, "idle")])
        print(
            f"target idle >= 1.0x the fastest peer at >= 99 % agreement ({best}): "
            f"{k / rate[(best, 'idle')]:.2f}x"
        )
    if ref:
        print(f"target idle >= 10x the reference way: {k / ref:.1f}x")
    if "busy" in loads and ("kernel", "busy") in rate and ("kernel-1t", "busy") in rate:
        print(
            "target one core busy >= 0.9x the kernel's 1-thread rate under the same load: "
            f"{rate[('kernel', 'busy')] / rate[('kernel-1t', 'busy')]:.2f}x"
        )


if __name__ == "__main__":
    main()

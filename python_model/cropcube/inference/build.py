"""Building the C++ kernel with CMake against the libtorch of the installed torch wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from cropcube.errors import CropcubeError, InputError
from cropcube.inference.native import LIBRARY_NAME, kernel_library_path
from cropcube.io.atomic import atomic_output


def kernel_source_dir() -> Path:
    """The ``udf/`` folder of the source checkout this package is installed from."""
    src = Path(__file__).resolve().parents[3] / "udf"
    if not (src / "CMakeLists.txt").is_file():
        raise InputError(
            str(src), "kernel sources not found: build the kernel from a cropcube source checkout"
        )
    return src


def build_kernel(
    build_dir: Path | None = None, sanitize: bool = False, jobs: int = 0, install: bool = True
) -> Path:
    """Configure (once) and build the ``cropcube_kernel`` target; copy the library into the package.

    Args:
        build_dir: CMake build folder (default ``udf/build``, or ``udf/build-asan`` with ``sanitize``);
            reused between runs, so a rebuild only compiles what changed.
        sanitize: AddressSanitizer + UBSan build (not installed: loading it needs the ASan runtime).
        jobs: parallel compile jobs (0 = all cores).
        install: copy the library to :func:`kernel_library_path` (atomically).

    Returns:
        The path of the usable library.
    """
    import torch.utils

    if shutil.which("cmake") is None:
        raise InputError("cmake", "not found on PATH; install cmake (>= 3.18) and a C++17 compiler")
    src = kernel_source_dir()
    build = Path(build_dir) if build_dir else src / ("build-asan" if sanitize else "build")
    if not (build / "CMakeCache.txt").is_file():
        cmd = [
            "cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
            f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}", f"-DPython3_EXECUTABLE={sys.executable}",
            f"-DCROPCUBE_SANITIZE={'ON' if sanitize else 'OFF'}",
        ]  # fmt: skip
        if shutil.which("ninja"):
            cmd += ["-G", "Ninja"]
        _run(cmd)
    _run(
        [
            "cmake",
            "--build",
            str(build),
            "--target",
            "cropcube_kernel",
            "--parallel",
            str(jobs or os.cpu_count() or 1),
        ]
    )
    built = build / LIBRARY_NAME
    if not built.is_file():
        raise CropcubeError(f"{built}: the build finished but produced no library")
    if sanitize or not install:
        return built
    dest = kernel_library_path()
    # Copy then rename: a process that has the old library mapped keeps a valid file.
    with atomic_output(dest) as tmp:
        shutil.copy2(built, tmp)
    return dest


def _run(cmd: list[str]) -> None:
    try:
        subprocess.run(cmd, check=True)
    except subprocess.CalledProcessError as exc:
        raise CropcubeError(
            f"kernel build failed: {' '.join(cmd)} exited with status {exc.returncode}"
        ) from None


def kernel_report() -> str:
    """``cropcube kernel info``: library path and version, torch, CUDA, threads, the default model."""
    import torch

    from cropcube.inference.config import resolve_model_path
    from cropcube.inference.native import ABI_VERSION, library_version, load_library

    path = kernel_library_path()
    lines = [f"library:        {path}"]
    try:
        lines.append(f"kernel version: {library_version(load_library(path))} (ABI {ABI_VERSION})")
    except CropcubeError as exc:
        lines.append(f"kernel version: not available ({exc})")
    cuda = f"available: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "not available"
    lines += [f"torch:          {torch.__version__}", f"cuda:           {cuda}"]
    lines.append(f"cpu threads:    {torch.get_num_threads()}")
    try:
        model = resolve_model_path(None)
        lines.append(f"default model:  {model}")
        lines.append(f"effective:      {_effective(model)}")
    except CropcubeError as exc:
        lines.append(f"default model:  none ({exc})")
    return "\n".join(lines)


def _effective(model: Path) -> str:
    """What the kernel runs the model with under the configuration (``cropcube_get_info``)."""
    from cropcube.inference.native import NativeModel
    from cropcube.inference.options import InferenceOptions

    try:
        info = NativeModel(model, InferenceOptions.build()).info
    except CropcubeError as exc:
        return f"not available ({exc})"
    threads = info.threads or "free CPUs per batch"
    return (
        f"tile {info.tile_size} px, batch {info.batch_size}, device {info.device}, threads {threads}, "
        f"precision {info.precision}"
    )

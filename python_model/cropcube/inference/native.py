"""Thin ctypes binding to the C++ kernel (udf/include/cropcube/kernel.h)."""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.bundle.metadata import BundleMetadata
from cropcube.errors import CropcubeError, InputError
from cropcube.inference.options import InferenceOptions
from cropcube.inference.result import ClassMaps
from cropcube.tiling import Tile

LIBRARY_NAME = "libcropcube_kernel.so"
ABI_VERSION = 2

OK, E_INVALID_ARGUMENT, E_IO, E_BAD_BUNDLE, E_SHAPE, E_VALUE, E_RUNTIME, E_OUT_OF_MEMORY, E_DEVICE = range(9)
_INPUT_ERRORS = {E_INVALID_ARGUMENT, E_IO, E_BAD_BUNDLE, E_SHAPE, E_VALUE}
_DTYPES = {np.dtype(np.uint16): 0, np.dtype(np.int16): 1, np.dtype(np.float32): 2}
DEVICES = {"auto": 0, "cpu": 1, "cuda": 2}
PRECISIONS = {"auto": 0, "float32": 1, "bfloat16": 2, "float16": 3}
NONFINITE = {"error": 0, "nodata": 1}


class KernelError(CropcubeError):
    """The kernel failed for a reason other than a bad input (model run, memory, device)."""


def kernel_library_path() -> Path:
    """Where the kernel library is: ``$CROPCUBE_KERNEL_LIB``, else ``cropcube/_native/`` in the package."""
    env = os.environ.get("CROPCUBE_KERNEL_LIB")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "_native" / LIBRARY_NAME


class _Options(ctypes.Structure):
    _fields_ = [
        (n, ctypes.c_int32)
        for n in ("device", "num_threads", "tile_size", "batch_size", "precision", "nonfinite")
    ]


class _Input(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("n_elements", ctypes.c_size_t),
        ("dtype", ctypes.c_int32),
        *[
            (n, ctypes.c_int64)
            for n in (
                "n_dates",
                "n_bands",
                "height",
                "width",
                "stride_date",
                "stride_band",
                "stride_row",
                "stride_col",
                "core_row",
                "core_col",
                "core_rows",
                "core_cols",
            )
        ],
        ("doy", ctypes.POINTER(ctypes.c_float)),
    ]


class _Info(ctypes.Structure):
    _fields_ = [
        *[
            (n, ctypes.c_int64)
            for n in (
                "n_dates",
                "n_bands",
                "n_classes",
                "halo",
                "downsampling_factor",
                "tile_size",
                "batch_size",
            )
        ],
        *[(n, ctypes.c_int32) for n in ("device", "num_threads", "precision", "nonfinite")],
        ("min_dates", ctypes.c_int64),
        ("max_dates", ctypes.c_int64),
        ("season_start", ctypes.c_double),
        ("season_end", ctypes.c_double),
    ]


class _Output(ctypes.Structure):
    _fields_ = [
        ("classes", ctypes.c_void_p),
        ("confidence", ctypes.c_void_p),
        ("n_elements", ctypes.c_size_t),
        ("stride_row", ctypes.c_int64),
        ("stride_col", ctypes.c_int64),
        ("probabilities", ctypes.c_void_p),
        ("prob_n_elements", ctypes.c_size_t),
        ("prob_stride_class", ctypes.c_int64),
        ("prob_stride_row", ctypes.c_int64),
        ("prob_stride_col", ctypes.c_int64),
    ]


_lock = threading.Lock()
_loaded: dict[str, ctypes.CDLL] = {}


def load_library(path: str | Path | None = None) -> ctypes.CDLL:
    """Load (once per process) and check the kernel library.

    Raises:
        InputError: the library is missing, not loadable, or of another ABI version.
    """
    lib_path = Path(path) if path else kernel_library_path()
    key = str(lib_path)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        if not lib_path.is_file():
            raise InputError(
                key, "kernel library not found (run `cropcube kernel build` or set $CROPCUBE_KERNEL_LIB)"
            )
        import torch  # noqa: F401  (load libtorch first, so the kernel binds to the same copy)

        try:
            lib = ctypes.CDLL(key)
        except OSError as exc:
            raise InputError(key, f"kernel library cannot be loaded ({exc})") from None
        lib.cropcube_version.restype = ctypes.c_char_p
        lib.cropcube_abi_version.restype = ctypes.c_int
        lib.cropcube_last_error.restype = ctypes.c_char_p
        lib.cropcube_default_options.argtypes = [ctypes.POINTER(_Options)]
        lib.cropcube_open.argtypes = [
            ctypes.c_char_p,
            ctypes.POINTER(_Options),
            ctypes.POINTER(ctypes.c_void_p),
        ]
        lib.cropcube_close.argtypes = [ctypes.c_void_p]
        lib.cropcube_close.restype = None
        lib.cropcube_metadata_json.argtypes = [ctypes.c_void_p]
        lib.cropcube_metadata_json.restype = ctypes.c_char_p
        lib.cropcube_model_info.argtypes = [ctypes.c_void_p] + [ctypes.POINTER(ctypes.c_int64)] * 5
        lib.cropcube_classify.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Input), ctypes.POINTER(_Output)]
        lib.cropcube_resolve_model_path.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        if lib.cropcube_abi_version() != ABI_VERSION:
            raise InputError(
                key, f"kernel ABI version {lib.cropcube_abi_version()} is not {ABI_VERSION}; rebuild it"
            )
        _bind_geometry(lib)
        _loaded[key] = lib
        return lib


def _bind_geometry(lib: ctypes.CDLL) -> None:
    """Types of the ABI-2 calls (after the version check: an older library lacks them)."""
    lib.cropcube_get_info.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Info)]
    i64p = ctypes.POINTER(ctypes.c_int64)
    lib.cropcube_plan_tiles.argtypes = [
        ctypes.c_int64, ctypes.c_int64, ctypes.c_int32, ctypes.c_int64, ctypes.c_int64,
        i64p, i64p, i64p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t),
    ]  # fmt: skip


def plan_tiles(
    height: int,
    width: int,
    tile_size: int,
    halo: int,
    factor: int,
    area: tuple[int, int, int, int] | None = None,
    library: str | Path | None = None,
) -> tuple[int, list[Tile]]:
    """The kernel's tile plan (``cropcube_plan_tiles``): the effective tile size and the tiles.

    The C++ twin of :func:`cropcube.tiling.plan_tiles` (with ``effective_tile_size`` applied to
    ``tile_size``); tests/test_tiling.py holds both to tests/tiling_cases.json.

    Raises:
        InputError: naming the bad argument (the kernel's message).
    """
    lib = load_library(library)
    core = (ctypes.c_int64 * 4)(*area) if area is not None else None
    effective, count = ctypes.c_int64(), ctypes.c_size_t()
    args = (height, width, tile_size, factor, halo, core, ctypes.byref(effective))
    _check(lib, lib.cropcube_plan_tiles(*args, None, 0, ctypes.byref(count)), "tile plan")
    buf = (ctypes.c_int64 * (8 * max(1, count.value)))()
    _check(lib, lib.cropcube_plan_tiles(*args, buf, count.value, ctypes.byref(count)), "tile plan")
    v = list(buf)
    tiles = [
        Tile((v[i], v[i + 1]), (v[i + 2], v[i + 3]), (v[i + 4], v[i + 5]), (v[i + 6], v[i + 7]))
        for i in range(0, 8 * count.value, 8)
    ]
    return effective.value, tiles


def library_version(lib: ctypes.CDLL) -> str:
    """The kernel's version string."""
    return str(lib.cropcube_version().decode())


def _check(lib: ctypes.CDLL, status: int, what: str) -> None:
    if status == OK:
        return
    message = (lib.cropcube_last_error() or b"").decode(errors="replace")
    message = message.removeprefix(f"{what}: ")  # the kernel names the bundle file itself
    if status in _INPUT_ERRORS:
        raise InputError(what, message)
    raise KernelError(f"{what}: {message} (status {status})")


def _strides(arr: npt.NDArray[Any]) -> tuple[int, ...]:
    return tuple(s // arr.itemsize for s in arr.strides)


def _n_elements(arr: npt.NDArray[Any]) -> int:
    return 1 + sum((n - 1) * s for n, s in zip(arr.shape, _strides(arr), strict=True))


def _kernel_view(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The array itself when the kernel can address it (non-negative whole-element strides), else a copy."""
    if any(s < 0 or s % arr.itemsize for s in arr.strides):
        return np.ascontiguousarray(arr)
    return arr


def _kernel_options(lib: ctypes.CDLL, options: InferenceOptions) -> _Options:
    """The ``cropcube_options`` of an :class:`InferenceOptions` (field by field, nothing re-read)."""
    opts = _Options()
    lib.cropcube_default_options(ctypes.byref(opts))
    opts.device, opts.precision = DEVICES[options.device], PRECISIONS[options.precision]
    opts.num_threads, opts.tile_size, opts.batch_size = options.threads, options.tile_size, options.batch_size
    opts.nonfinite = NONFINITE[options.nonfinite]
    return opts


@dataclass(frozen=True)
class KernelInfo:
    """What an open handle runs with (``cropcube_get_info``): defaults resolved by the kernel."""

    tile_size: int
    batch_size: int
    device: str
    threads: int
    precision: str
    nonfinite: str


def _names(table: dict[str, int]) -> dict[int, str]:
    return {v: k for k, v in table.items()}


class NativeModel:
    """An open kernel handle on a bundle.

    Args:
        path: bundle file.
        options: the inference options, handed to the kernel unchanged (``backend`` is not read).
        library: kernel library path (default :func:`kernel_library_path`).

    Attributes:
        info: the effective tile size, batch, device, threads, precision the kernel reports.
        metadata: the bundle metadata of the module this handle runs (the kernel's copy).
    """

    def __init__(
        self,
        path: str | Path,
        options: InferenceOptions | None = None,
        library: str | Path | None = None,
    ) -> None:
        self._lib = load_library(library)
        opts = _kernel_options(self._lib, options or InferenceOptions())
        handle = ctypes.c_void_p()
        _check(
            self._lib,
            self._lib.cropcube_open(str(path).encode(), ctypes.byref(opts), ctypes.byref(handle)),
            str(path),
        )
        self._handle: ctypes.c_void_p | None = handle
        got = _Info()
        _check(self._lib, self._lib.cropcube_get_info(handle, ctypes.byref(got)), str(path))
        self.n_dates, self.n_bands, self.n_classes = got.n_dates, got.n_bands, got.n_classes
        self.halo, self.downsampling_factor = got.halo, got.downsampling_factor
        self.info = KernelInfo(
            tile_size=got.tile_size,
            batch_size=got.batch_size,
            device=_names(DEVICES)[got.device],
            threads=got.num_threads,
            precision=_names(PRECISIONS)[got.precision],
            nonfinite=_names(NONFINITE)[got.nonfinite],
        )
        # Parsed from the kernel's own copy: the metadata of the module this handle runs.
        self.metadata = BundleMetadata.from_json(self._lib.cropcube_metadata_json(handle), where=str(path))

    def close(self) -> None:
        """Release the handle (the cached bundle stays loaded for other handles)."""
        if getattr(self, "_handle", None):
            self._lib.cropcube_close(self._handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()

    def run(
        self,
        view: npt.NDArray[Any],
        confidence: bool = False,
        probabilities: bool = False,
        core: tuple[int, int, int, int] | None = None,
        doy: npt.NDArray[np.float32] | None = None,
    ) -> ClassMaps:
        """Classify a (K, H, W) image-order view of dtype uint16/int16/float32 (any strides).

        ``core`` = ``(row, col, rows, cols)``: classify only that window of the view (the rest is
        context); the maps then have the core's shape. Default the whole view.

        ``doy``: day of year of each date, float32 (T,) (None: the bundle's default dates); the
        kernel checks it against the bundle's calendar (T range, order, season) before running.
        """
        if view.dtype not in _DTYPES:
            raise InputError("cube", f"dtype {view.dtype} is not uint16, int16 or float32")
        view = _kernel_view(view)
        k, height, width = view.shape
        row, col, h, w = core if core is not None else (0, 0, height, width)
        sk, sr, sc = _strides(view)
        inp = _Input(
            data=view.ctypes.data,
            n_elements=_n_elements(view),
            dtype=_DTYPES[view.dtype],
            n_dates=k // self.n_bands if k % self.n_bands == 0 else -1,
            n_bands=self.n_bands,
            height=height,
            width=width,
            stride_date=sk * self.n_bands,
            stride_band=sk,
            stride_row=sr,
            stride_col=sc,
            core_row=row,
            core_col=col,
            core_rows=h,
            core_cols=w,
        )
        if doy is not None:
            days = np.ascontiguousarray(doy, dtype=np.float32)  # kept alive until the call returns
            inp.doy = days.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            if k != days.size * self.n_bands:
                problem = f"{days.size} days of year for a cube of {k} bands ({self.n_bands} per date)"
                raise InputError("dates", problem)
        maps = ClassMaps(classes=np.empty((h, w), dtype=np.uint8))
        if confidence:
            maps.confidence = np.empty((h, w), dtype=np.uint8)
        if probabilities:
            maps.probabilities = np.empty((self.n_classes, h, w), dtype=np.float32)
        out = _Output(
            classes=maps.classes.ctypes.data,
            confidence=maps.confidence.ctypes.data if maps.confidence is not None else None,
            n_elements=h * w,
            stride_row=w,
            stride_col=1,
        )
        if maps.probabilities is not None:
            out.probabilities = maps.probabilities.ctypes.data
            out.prob_n_elements = maps.probabilities.size
            out.prob_stride_class, out.prob_stride_row, out.prob_stride_col = h * w, w, 1
        if self._handle is None:
            raise InputError("kernel model", "handle is closed")
        _check(
            self._lib, self._lib.cropcube_classify(self._handle, ctypes.byref(inp), ctypes.byref(out)), "cube"
        )
        return maps

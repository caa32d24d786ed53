"""The one entry point for classifying arrays: C++ kernel (native) or pure-Python (torch) backend."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
import torch

from cropcube.bundle import Bundle, BundleMetadata, load_bundle
from cropcube.errors import InputError
from cropcube.inference.arrays import AxisOrder, image_view, to_caller_order
from cropcube.inference.config import resolve_model_path
from cropcube.inference.native import NativeModel, kernel_library_path
from cropcube.inference.options import InferenceOptions
from cropcube.inference.result import ClassMaps
from cropcube.inference.torch_backend import TorchRunner

log = logging.getLogger(__name__)

_BUNDLES: dict[tuple[str, int, int, str], Bundle] = {}  # (path, mtime, size, device) -> loaded bundle


def _load_cached(path: Path, device: torch.device) -> Bundle:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, str(device))
    if key not in _BUNDLES:
        _BUNDLES[key] = load_bundle(path, device=device)
    return _BUNDLES[key]


def _torch_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("device", "'cuda' was asked for but torch sees no CUDA device")
    if device not in ("cpu", "cuda"):
        raise InputError("device", f"{device!r} is not 'auto', 'cpu' or 'cuda'")
    return torch.device(device)


def _backend(requested: str) -> str:
    """The backend to run: ``auto`` is native when the kernel library is built, else python (WARNING)."""
    if requested != "auto":
        return requested
    lib = kernel_library_path()
    if lib.is_file():
        return "native"
    log.warning(
        "backend auto: the C++ kernel is not built (%s); using the slower Python backend "
        "(run `cropcube kernel build`, or pass backend='python' to choose it)",
        lib,
    )
    return "python"


class Classifier:
    """Classify Sentinel-2 cubes with a bundle.

    Args:
        model: bundle path; None -> ``$CROPCUBE_MODEL``, the config file, then the shipped demo bundle.
        options: the inference options (:class:`~cropcube.inference.options.InferenceOptions`), passed
            unchanged to the backend; default all defaults.
        **overrides: single options changed on top of ``options`` (``backend="python"``,
            ``threads=1``, ...); None values are ignored.

    Attributes:
        metadata: the bundle's metadata.
        model_path: the bundle file.
        options: the options in use (``backend`` resolved to ``"native"`` or ``"python"``).
        backend: ``"native"`` or ``"python"``.
        device: ``"cpu"`` or ``"cuda"``.
        tile_size: the core tile edge in use (the kernel reports it for the native backend).
        batch_size: tiles per forward pass in use.

    Raises:
        InputError: missing/corrupt bundle, bad option, a requested backend that is unavailable
            (``backend="native"`` without a built kernel), or a reduced precision with python.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        options: InferenceOptions | None = None,
        **overrides: Any,
    ) -> None:
        opts = (options or InferenceOptions()).replace(**overrides)
        self.model_path = resolve_model_path(model)
        # The metadata is the one of the module that runs (read from the same bytes by the backend),
        # never a second read of a file that may have been replaced in between.
        self.metadata: BundleMetadata
        self.options = opts.replace(backend=_backend(opts.backend))
        self.backend: str = self.options.backend
        # Dates a kernel cannot take run on the python backend when the backend was left to "auto".
        self._runner: NativeModel | TorchRunner
        if self.backend == "native":
            native = NativeModel(self.model_path, self.options)
            self._runner, self.metadata = native, native.metadata
            self.device, self.tile_size, self.batch_size = (
                native.info.device,
                native.info.tile_size,
                native.info.batch_size,
            )
        else:
            self._runner = self._torch_runner(self.options)
            self.device, self.tile_size = self._runner.device.type, self._runner.tile_size
            self.batch_size = self._runner.batch_size
        log.info(
            "classifier: %s backend on %s, tile %d, batch %d, bundle %s",
            self.backend, self.device, self.tile_size, self.batch_size, self.model_path,
        )  # fmt: skip

    def _torch_runner(self, opts: InferenceOptions) -> TorchRunner:
        if opts.precision not in ("auto", "float32"):
            raise InputError("precision", f"{opts.precision!r} is only available with the native backend")
        if opts.threads > 0:
            torch.set_num_threads(opts.threads)
        dev = _torch_device(opts.device)
        bundle = _load_cached(self.model_path, dev)
        self.metadata = bundle.metadata
        return TorchRunner(bundle, dev, opts.tile_size, opts.batch_size, opts.nonfinite, opts.threads)

    @property
    def num_classes(self) -> int:
        """K, the number of crop classes (class indices 1..K)."""
        return self.metadata.classes.num_classes

    def run(
        self,
        cube: Any,
        confidence: bool = False,
        probabilities: bool = False,
        axis_order: AxisOrder = "image",
        core: tuple[int, int, int, int] | None = None,
        doy: Any = None,
    ) -> ClassMaps:
        """All per-pixel results in the caller's axis order (see :meth:`classify_array`).

        ``core`` = ``(row, col, rows, cols)`` (image order only): classify that window of the cube,
        the rest being context the caller read around it (a halo); the maps have the core's shape.
        A core of one tile plus the bundle's halo on every side runs exactly one forward pass.
        ``doy``: day of year of each of the cube's dates (None: the bundle's default dates).
        """
        days = self.checked_doy(doy)
        n_channels = self.metadata.spec.n_channels if days is None else days.size * self.metadata.spec.n_bands
        try:
            view = image_view(cube, n_channels, axis_order)
        except InputError as exc:
            if days is None and self.metadata.calendar is not None:  # a cube of other dates, none given
                raise InputError(
                    "cube", f"{exc.problem}; a cube of other dates needs their day of year (doy)"
                ) from None
            raise
        if core is not None and axis_order != "image":
            raise InputError("core", "a core window needs axis_order='image'")
        if days is not None and self.backend == "native" and np.array_equal(days, self._default_doy()):
            days = None  # the kernel's own default calendar: the same dates, no dates input needed
        maps = self._runner.run(view, confidence=confidence, probabilities=probabilities, core=core, doy=days)
        if axis_order == "rasdaman":
            maps.classes = to_caller_order(maps.classes, axis_order)
            if maps.confidence is not None:
                maps.confidence = to_caller_order(maps.confidence, axis_order)
            if maps.probabilities is not None:
                maps.probabilities = to_caller_order(maps.probabilities, axis_order)
        return maps

    def _default_doy(self) -> npt.NDArray[np.float32]:
        return self.metadata.accepted_calendar().default_doy

    def checked_doy(self, doy: Any) -> npt.NDArray[np.float32] | None:
        """Day-of-year values checked against the bundle's calendar (None stays None: the default).

        Raises:
            InputError: ("dates") not 1-D, not finite, not increasing, outside the season or T
                outside the range; for a format-1 bundle, any dates but its own.
        """
        if doy is None:
            return None
        meta = self.metadata
        if meta.calendar is None:
            days = np.asarray(doy, dtype=np.float32)
            if days.shape != self._default_doy().shape or not np.array_equal(days, self._default_doy()):
                raise InputError(
                    "dates",
                    f"this bundle (format 1) takes only its own dates (day of year "
                    f"{', '.join(f'{v:g}' for v in self._default_doy())}); a calendar-free bundle "
                    "(format 2) takes other dates",
                )
            return None
        return meta.calendar.check_doy(doy, "dates")

    @overload
    def classify_array(
        self, cube: Any, confidence: Literal[False] = False, axis_order: AxisOrder = "image", doy: Any = None
    ) -> npt.NDArray[np.uint8]: ...

    @overload
    def classify_array(
        self, cube: Any, confidence: Literal[True], axis_order: AxisOrder = "image", doy: Any = None
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]: ...

    def classify_array(
        self, cube: Any, confidence: bool = False, axis_order: AxisOrder = "image", doy: Any = None
    ) -> npt.NDArray[np.uint8] | tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """Class index per pixel (0 = nodata).

        Args:
            cube: (K, H, W) or (H, W, K) for ``axis_order="image"``; (E, N, K) or (K, E, N) as rasdaman
                hands it for ``axis_order="rasdaman"``; uint16/int16/float32 (others are converted),
                any strides.
            confidence: also return round(255 * max softmax probability) per pixel.
            axis_order: ``"image"`` ([row][col]) or ``"rasdaman"`` ([E][N]); the result has the
                same spatial axis order as the input: (H, W) or (E, N).
            doy: day of year of each of the cube's T dates (see :mod:`cropcube.calendar`); None =
                the bundle's default dates (then the cube has their T).
        """
        maps = self.run(cube, confidence=confidence, axis_order=axis_order, doy=doy)
        if confidence:
            assert maps.confidence is not None
            return maps.classes, maps.confidence
        return maps.classes

    def predict_proba(
        self, cube: Any, axis_order: AxisOrder = "image", doy: Any = None
    ) -> npt.NDArray[np.float32]:
        """Softmax probabilities float32 (K, H, W) (channel k = class k + 1; 0 on nodata pixels)."""
        maps = self.run(cube, probabilities=True, axis_order=axis_order, doy=doy)
        assert maps.probabilities is not None
        return maps.probabilities

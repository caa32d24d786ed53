"""The Python UDF ``crop.classify`` (its logic; ``udf/python/crop.py`` is only the bootstrap rasdaman loads).

rasdaman hands multi-band arrays band-first and spatial axes in grid order (E, N), N index 0 at the
northern edge, so the accepted inputs are:

* ``(T*C, E, N)``: a 2-D coverage with T*C bands (the reference layout, 28 bands date-major);
* ``(C, T, E, N)``: a 3-D (t, E, N) coverage with C bands per cell;
* the same cells as a numpy structured array ``(E, N)`` with T*C fields or ``(T, E, N)`` with C fields.

The result is ``(E, N)`` uint8 (never int64, which rasdaman cannot take), 0 = nodata.

Dates (docs/udf.md "Dates"): ``crop.classify(cube)`` gives the model the bundle's default calendar
(the cube must have its T); ``crop.classify_dates(cube, doy)`` takes a 1-D array of the day of year
of each of the cube's dates (any T and days the bundle's calendar accepts, format 2), which the
caller fills from the coverage's time axis or band names (:mod:`cropcube.calendar`). Dates outside
the bundle's season or range are an error, never replaced by the default ones.

Settings come from the one config reader (:mod:`cropcube.inference.config`: ``$CROPCUBE_MODEL``,
``$CROPCUBE_THREADS``, ... over ``$CROPCUBE_CONFIG`` or ``$RMANHOME/etc/cropcube.conf``); threads default
to one per server process. Live reload, cheap per call: each call stat()s the config file and the bundle;
the classifier is rebuilt only when one changed (path, inode, size, mtime, ctime) or the settings did. A
bundle changed in the last 2 s is also compared by content hash (file times are too coarse to tell two
rewrites within one clock tick apart), and one that changes while it is being loaded is loaded again.
Calls in flight keep the classifier they started with.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.errors import CropcubeError, InputError
from cropcube.inference.config import UDF_DEFAULT_THREADS, Settings, find_config_file, read_settings
from cropcube.inference.options import InferenceOptions

RACY_SECONDS = 2.0
LOAD_ATTEMPTS = 3


class UdfError(ValueError):
    """A problem with the input or the configuration; the message is what the rasdaman user reads."""

    def __init__(self, problem: str, function: str = "crop.classify") -> None:
        super().__init__(f"{function}: {problem}")


def _stamp(path: Path | str | None) -> tuple[int, ...] | None:
    """What stat() says about a file (None when it does not exist)."""
    if path is None:
        return None
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _content_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class _Loaded:
    settings: Settings
    key: tuple[Any, ...]
    stamp: tuple[int, ...]
    digest: str
    classifier: Any


class ProcessModel:
    """The classifier of this server process, reloaded when its files change (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings_key: tuple[Any, ...] | None = None
        self._settings: Settings | None = None
        self._loaded: _Loaded | None = None

    def settings(self) -> Settings:
        """The settings, re-read when the environment or the config file changed."""
        environ = tuple(
            os.environ.get(name, "")
            for name in (
                "CROPCUBE_CONFIG",
                "RMANHOME",
                "XDG_CONFIG_HOME",
                "HOME",
                "CROPCUBE_MODEL",
                "CROPCUBE_THREADS",
                "CROPCUBE_DEVICE",
                "CROPCUBE_PRECISION",
                "CROPCUBE_TILE_SIZE",
                "CROPCUBE_BATCH_SIZE",
            )
        )
        config = find_config_file()
        key = (environ, str(config or ""), _stamp(config))
        if self._settings is None or key != self._settings_key:
            self._settings = read_settings()
            self._settings_key = key
        return self._settings

    def classifier(self) -> Any:
        """The current classifier (see the module docstring).

        Raises:
            UdfError: no bundle configured, a bad setting, or a bundle that cannot be opened.
        """
        with self._lock:
            try:
                settings = self.settings()
            except CropcubeError as exc:
                raise UdfError(str(exc)) from None
            if not settings.model:
                raise UdfError(
                    "no model bundle configured: set CROPCUBE_MODEL or a 'model = PATH' line in "
                    "$CROPCUBE_CONFIG or $RMANHOME/etc/cropcube.conf"
                )
            path = Path(settings.model)
            try:  # the one options reader; a UDF runs one thread per server process unless configured
                options = InferenceOptions.build(settings).replace(
                    threads=settings.threads if settings.threads is not None else UDF_DEFAULT_THREADS
                )
            except CropcubeError as exc:
                raise UdfError(str(exc)) from None
            key = (str(path), options)
            stamp = _stamp(path)
            if stamp is None:
                raise UdfError(f"model bundle {str(path)!r} does not exist (from {settings.model_source})")
            loaded = self._loaded
            same = loaded is not None and loaded.key == key and loaded.stamp == stamp
            if same and loaded is not None and self._unchanged(path, stamp, loaded.digest):
                return loaded.classifier
            self._loaded = self._load(path, key, options, settings)
            return self._loaded.classifier

    @staticmethod
    def _unchanged(path: Path, stamp: tuple[int, ...], digest: str) -> bool:
        """Same stamp: unchanged, unless the file changed so recently that the stamp cannot tell."""
        return time.time() - stamp[3] / 1e9 >= RACY_SECONDS or _content_hash(path) == digest

    def _load(
        self, path: Path, key: tuple[Any, ...], options: InferenceOptions, settings: Settings
    ) -> _Loaded:
        from cropcube.inference.classifier import Classifier

        before = _stamp(path)
        for _ in range(LOAD_ATTEMPTS):
            try:
                digest = _content_hash(path)
                clf = Classifier(model=path, options=options)
                problem = None
            except (CropcubeError, OSError, RuntimeError) as exc:
                clf, problem = None, f"{type(exc).__name__}: {exc}"
            after = _stamp(path)
            if after == before:
                if clf is None:
                    raise UdfError(
                        f"cannot open model bundle {str(path)!r} (from {settings.model_source}): {problem}"
                    )
                assert after is not None
                return _Loaded(settings, key, after, digest, clf)
            before = after  # rewritten while we read it: read it again
        raise UdfError(
            f"model bundle {str(path)!r} kept changing while it was being loaded (is it being rewritten "
            "in place? replace it atomically with a rename)"
        )


PROCESS = ProcessModel()


def _fields_to_band_first(cube: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A structured array (cells with named bands) as a band-first plain array."""
    names = cube.dtype.names or ()
    types = {cube.dtype.fields[n][0] for n in names}  # type: ignore[index]
    if len(types) != 1:
        raise UdfError(f"input cell type {cube.dtype} mixes band types; all bands must have one type")
    return np.stack([cube[n] for n in names])


def to_image(cube: Any, n_dates: int, n_bands: int) -> npt.NDArray[Any]:
    """The rasdaman array as an image ``(T*C, rows = N, cols = E)``, date-major; validates it.

    Raises:
        UdfError: not an array, wrong cell type, band count, dimensionality or an empty domain.
    """
    if not isinstance(cube, np.ndarray):
        raise UdfError(f"input is a {type(cube).__name__}, not a numpy array")
    arr = _fields_to_band_first(cube) if cube.dtype.names else cube
    if arr.dtype not in (np.uint16, np.int16, np.float32):
        raise UdfError(f"input cell type {arr.dtype} is not supported; expected ushort, short or float bands")
    if arr.size == 0:
        raise UdfError(f"input domain is empty (shape {cube.shape})")
    channels = n_dates * n_bands
    if arr.ndim == 3:
        if arr.shape[0] != channels:
            raise UdfError(
                f"2-D input has {arr.shape[0]} bands; this model needs {channels} "
                f"({n_dates} dates x {n_bands} bands, date-major) or a 3-D (t, E, N) input "
                f"with {n_bands} bands"
            )
        return arr.transpose(0, 2, 1)
    if arr.ndim == 4:
        if arr.shape[0] != n_bands:
            raise UdfError(f"3-D input has {arr.shape[0]} bands per cell; this model needs {n_bands}")
        if arr.shape[1] != n_dates:
            raise UdfError(
                f"3-D input has {arr.shape[1]} time slices; this model needs {n_dates} dates (the bundle's "
                "default calendar, or one per day-of-year value given); a format-2 bundle takes other "
                "dates with crop.classify_dates(cube, doy)"
            )
        # (C, T, E, N) -> (T, C, N, E) -> (T*C, N, E)
        return arr.transpose(1, 0, 3, 2).reshape(channels, arr.shape[3], arr.shape[2])
    # Structured cells and single-band arrays have no band axis; plain multi-band arrays lead with one.
    spatial = cube.ndim if cube.dtype.names or cube.ndim < 3 else cube.ndim - 1
    raise UdfError(
        f"input is {spatial}-D (array shape {cube.shape}); expected a 2-D (E, N) coverage with "
        f"{channels} bands or a 3-D (t, E, N) coverage with {n_bands} bands"
    )


def day_of_year_values(doy: Any) -> npt.NDArray[np.float32]:
    """The ``doy`` argument of ``crop.classify_dates`` as a 1-D float array (rasdaman may add unit axes).

    Raises:
        UdfError: not a numeric array, or more than one axis of length > 1.
    """
    function = "crop.classify_dates"
    if not isinstance(doy, np.ndarray) or doy.dtype.names or doy.dtype.kind not in "iuf":
        raise UdfError(
            f"doy is a {type(doy).__name__} {getattr(doy, 'dtype', '')}, not a numeric array", function
        )
    if sum(n > 1 for n in doy.shape) > 1:
        raise UdfError(
            f"doy has shape {doy.shape}; expected one day of year per date (a 1-D array)", function
        )
    return doy.reshape(-1).astype(np.float32)


def _classify(cube: Any, doy: npt.NDArray[np.float32] | None, function: str) -> npt.NDArray[np.uint8]:
    try:
        classifier = PROCESS.classifier()
        spec = classifier.metadata.spec
        image = to_image(cube, spec.n_dates if doy is None else doy.size, spec.n_bands)
        classes = np.asarray(classifier.classify_array(image, axis_order="image", doy=doy))
    except UdfError as exc:
        raise UdfError(str(exc).split(": ", 1)[1], function) from None
    except InputError as exc:  # a bad day of year, a T outside the bundle's range
        raise UdfError(str(exc), function) from None
    except Exception as exc:  # anything else still reaches the user as one clear UDF error
        raise UdfError(f"{type(exc).__name__}: {exc}", function) from None
    if classes.shape != image.shape[1:]:
        raise UdfError(
            f"classifier returned shape {classes.shape} for an image of {image.shape[1:]}", function
        )
    return np.ascontiguousarray(classes.T, dtype=np.uint8)


def classify(cube: Any) -> npt.NDArray[np.uint8]:
    """Crop class per (E, N) cell of a rasdaman array, with the bundle's default dates.

    Raises:
        UdfError: with a message naming the problem (rasdaman reports it to the client).
    """
    return _classify(cube, None, "crop.classify")


def classify_dates(cube: Any, doy: Any) -> npt.NDArray[np.uint8]:
    """Crop class per (E, N) cell of a rasdaman array whose dates have the day of year ``doy``.

    Args:
        cube: as for :func:`classify`, with T dates of any number the bundle accepts.
        doy: 1-D array of T day-of-year values (1 January = 1), strictly increasing, inside the
            bundle's season.

    Raises:
        UdfError: naming the problem: doy not 1-D, of the wrong length, out of order, outside the
            bundle's season or range; a format-1 bundle given other dates than its own.
    """
    return _classify(cube, day_of_year_values(doy), "crop.classify_dates")

"""rasdaman Python UDF ``crop.classify``: crop classes from a Sentinel-2 cube array.

Registered (enterprise edition) with::

    create function crop.classify (array cube) returns array language python extern "crop.py"

rasdaman hands multi-band arrays band-first and spatial axes in grid order (E, N), N index 0 at the
northern edge, so the accepted inputs are:

* ``(T*C, E, N)``: a 2-D coverage with T*C bands (the reference layout, 28 bands date-major);
* ``(C, T, E, N)``: a 3-D (t, E, N) coverage with C bands per cell;
* the same cells as a numpy structured array ``(E, N)`` with T*C fields or ``(T, E, N)`` with C fields.

The result is ``(E, N)`` uint8 (never int64, which rasdaman cannot take), 0 = nodata. The bundle is
loaded once per process from ``$CROPCUBE_MODEL``, else the ``model = PATH`` line of ``$CROPCUBE_CONFIG``
or ``$RMANHOME/etc/cropcube.conf``; a ``python_path = DIR[:DIR...]`` line there names where cropcube
and its dependencies are installed when rasdaman's Python does not already see them.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

CONFIG_NAME = "cropcube.conf"
_lock = threading.Lock()
_classifiers: dict[str, Any] = {}


class UdfError(ValueError):
    """A problem with the input or the configuration; the message is what the rasdaman user reads."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"crop.classify: {problem}")


def config_path() -> Path | None:
    """The config file: ``$CROPCUBE_CONFIG``, else ``$RMANHOME/etc/cropcube.conf``, else None."""
    explicit = os.environ.get("CROPCUBE_CONFIG")
    if explicit:
        return Path(explicit)
    rmanhome = os.environ.get("RMANHOME")
    return Path(rmanhome) / "etc" / CONFIG_NAME if rmanhome else None


def read_config(path: Path | None) -> dict[str, str]:
    """``key = value`` lines of the config file (``#`` comments); {} when there is no file."""
    if path is None or not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            values[key] = value
    return values


def model_path() -> str:
    """The configured bundle path (see the module docstring)."""
    from_env = os.environ.get("CROPCUBE_MODEL")
    if from_env:
        return from_env
    where = config_path()
    config = read_config(where)
    if config.get("model"):
        return config["model"]
    where_text = where or "$RMANHOME/etc/cropcube.conf"
    raise UdfError(f"no model bundle configured: set CROPCUBE_MODEL or a 'model = PATH' line in {where_text}")


def _classifier() -> Any:
    """The Classifier of the configured bundle, created once per process (thread-safe)."""
    path = model_path()
    with _lock:
        if path not in _classifiers:
            extra = read_config(config_path()).get("python_path", "")
            for folder in reversed([f for f in extra.split(os.pathsep) if f]):
                if folder not in sys.path:
                    sys.path.insert(0, folder)
            try:
                from cropcube.inference.classifier import Classifier
            except ImportError as exc:
                raise UdfError(
                    f"cannot import cropcube ({exc}); set 'python_path = DIR' in {CONFIG_NAME}"
                ) from None
            if not Path(path).is_file():
                raise UdfError(f"model bundle {path!r} does not exist")
            _classifiers[path] = Classifier(model=path, backend="auto")
        return _classifiers[path]


def _fields_to_band_first(cube: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A structured array (cells with named bands) as a band-first plain array."""
    names = cube.dtype.names or ()
    types = {cube.dtype.fields[n][0] for n in names}  # type: ignore[index]
    if len(types) != 1:
        raise UdfError(f"input cell type {cube.dtype} mixes band types; all bands must have one type")
    return np.stack([cube[n] for n in names])


def to_image(cube: Any, n_dates: int, n_bands: int) -> npt.NDArray[Any]:
    """The rasdaman array as an image ``(T*C, rows = N, cols = E)``, date-major; validates it.

    Args:
        cube: what rasdaman passes (see the module docstring).
        n_dates: T of the bundle.
        n_bands: C of the bundle.

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
            raise UdfError(f"3-D input has {arr.shape[1]} time slices; this model needs {n_dates} dates")
        # (C, T, E, N) -> (T, C, N, E) -> (T*C, N, E)
        return arr.transpose(1, 0, 3, 2).reshape(channels, arr.shape[3], arr.shape[2])
    # Structured cells and single-band arrays have no band axis; plain multi-band arrays lead with one.
    spatial = cube.ndim if cube.dtype.names or cube.ndim < 3 else cube.ndim - 1
    raise UdfError(
        f"input is {spatial}-D (array shape {cube.shape}); expected a 2-D (E, N) coverage with "
        f"{channels} bands or a 3-D (t, E, N) coverage with {n_bands} bands"
    )


def classify(cube: Any) -> npt.NDArray[np.uint8]:
    """Crop class per (E, N) cell of a rasdaman array; see the module docstring.

    Args:
        cube: the array rasdaman passes, band-first.

    Returns:
        ``(E, N)`` uint8 classes, 0 = nodata.

    Raises:
        UdfError: with a message naming the problem (rasdaman reports it to the client).
    """
    try:
        classifier = _classifier()
        spec = classifier.metadata.spec
        image = to_image(cube, spec.n_dates, spec.n_bands)
        classes = np.asarray(classifier.classify_array(image, axis_order="image"))
    except UdfError:
        raise
    except Exception as exc:  # anything else still reaches the user as one clear UDF error
        raise UdfError(f"{type(exc).__name__}: {exc}") from None
    if classes.shape != image.shape[1:]:
        raise UdfError(f"classifier returned shape {classes.shape} for an image of {image.shape[1:]}")
    return np.ascontiguousarray(classes.T, dtype=np.uint8)

"""Turning whatever array a caller hands over into a strided (K, H, W) image-order view, copy-free."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError

AxisOrder = Literal["image", "rasdaman"]
KERNEL_DTYPES = (np.dtype(np.uint16), np.dtype(np.int16), np.dtype(np.float32))


def image_view(cube: Any, n_channels: int, axis_order: AxisOrder = "image") -> npt.NDArray[Any]:
    """A (K, H, W) view of ``cube`` in image order ([row][col]), without copying where possible.

    Accepted shapes:

    * ``axis_order="image"``: (K, H, W) band-planar (as rasterio reads) or (H, W, K) pixel-interleaved;
      when both first and last axes have K entries, band-planar is assumed.
    * ``axis_order="rasdaman"``: rasdaman's [E index][N index] arrays (E = column, N = row, last axis
      fastest): (E, N, K) pixel-interleaved struct cells (rasdaman's default) or (K, E, N) band-planar;
      when ambiguous, pixel-interleaved is assumed.

    dtypes uint16/int16/float32 are passed through; other numeric dtypes are converted to float32
    (a copy).

    Raises:
        InputError: not 3-D, no axis with K channels, empty extent, non-numeric or unknown axis order.
    """
    arr = np.asarray(cube)
    if axis_order not in ("image", "rasdaman"):
        raise InputError("axis_order", f"{axis_order!r} is not 'image' or 'rasdaman'")
    if arr.ndim != 3:
        raise InputError("cube", f"shape {arr.shape} is not 3-D ({n_channels} bands x rows x cols)")
    k = n_channels
    if axis_order == "image":
        if arr.shape[0] == k:
            view = arr
        elif arr.shape[2] == k:
            view = arr.transpose(2, 0, 1)
        else:
            raise InputError("cube", f"shape {arr.shape} has no axis of {k} bands (first or last)")
    elif arr.shape[2] == k:
        view = arr.transpose(2, 1, 0)  # (E, N, K) -> (K, N, E) = (K, rows, cols)
    elif arr.shape[0] == k:
        view = arr.transpose(0, 2, 1)  # (K, E, N) -> (K, N, E)
    else:
        raise InputError(
            "cube", f"rasdaman array of shape {arr.shape} has no axis of {k} bands (first or last)"
        )
    if view.shape[1] < 1 or view.shape[2] < 1:
        raise InputError("cube", f"extent {view.shape[1]} x {view.shape[2]} must be at least 1 x 1")
    if view.dtype not in KERNEL_DTYPES:
        if view.dtype.kind not in "uifb":
            raise InputError("cube", f"dtype {view.dtype} is not numeric")
        view = view.astype(np.float32)
    return view


def to_caller_order(image: npt.NDArray[Any], axis_order: AxisOrder) -> npt.NDArray[Any]:
    """A (..., H, W) result in the caller's axis order: (..., E, N) for rasdaman, C-contiguous."""
    if axis_order == "rasdaman":
        return np.ascontiguousarray(np.swapaxes(image, -1, -2))
    return image

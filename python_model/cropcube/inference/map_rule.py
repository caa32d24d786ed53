"""The one rule every published class map follows after the model: what is not a crop is class 0.

The kernel already gives nodata pixels class 0. Before a map is published (``classify_file``, the
rasdaman client write-back job), pixels that are clearly not cropland (water, never green:
:func:`cropcube.maps.cropland.not_cropland`) and, when a cropland mask is given, pixels outside it
become 0 too, in the classes and the confidence. One function, so that both paths publish the same map.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.cube_spec import CubeSpec
from cropcube.inference.result import ClassMaps
from cropcube.maps.cropland import not_cropland


def clear_non_cropland(
    maps: ClassMaps,
    cube: npt.NDArray[Any],
    spec: CubeSpec,
    cropland: npt.NDArray[np.bool_] | None = None,
) -> ClassMaps:
    """``maps`` with class and confidence 0 where the pixel is not cropland.

    Args:
        maps: the model's maps of an area.
        cube: the cube cells (T*C, rows, cols) of the same area.
        spec: the cube's layout (bands, nodata, DN scale).
        cropland: True = cropland, on the same area; None = no mask.
    """
    off = not_cropland(cube, spec)
    if cropland is not None:
        off |= ~cropland
    classes = np.where(off, np.uint8(0), maps.classes)
    confidence = np.where(off, np.uint8(0), maps.confidence) if maps.confidence is not None else None
    return ClassMaps(classes=classes, confidence=confidence, probabilities=maps.probabilities)

"""What a classification returns, whichever backend computed it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass
class ClassMaps:
    """Per-pixel results in image order (rows, cols).

    Attributes:
        classes: uint8 class index, 0 = nodata.
        confidence: uint8 round(255 * max softmax probability), 0 on nodata; None if not asked for.
        probabilities: float32 (K, rows, cols) softmax, channel k = class k + 1, 0 on nodata; None if
            not asked for.
    """

    classes: npt.NDArray[np.uint8]
    confidence: npt.NDArray[np.uint8] | None = None
    probabilities: npt.NDArray[np.float32] | None = None

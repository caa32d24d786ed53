"""Map the WorldCereal crop-type labels of the Flanders sample to BRP class indices.

The Flanders 2019 sample labels pixels with WorldCereal crop-type codes from the Flemish parcel
register. Each code present maps to the nearest BRP crop (by gewascode, looked up in the class
table so the indices follow it): 9120 grassland -> Grasland, blijvend (265); 1110 winter wheat ->
Tarwe, winter- (233); 1510 winter barley -> Gerst, winter- (235); 1200 maize -> Mais, snij- (259);
8100 fodder beet -> Bieten, voeder- (257); 5100 potatoes -> Aardappelen, consumptie (2014);
1500 barley of unclear season -> Gerst, zomer- (236) or dropped. Other codes become 0 and are
reported.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import numpy as np
import numpy.typing as npt

from cropcube.classes import ClassTable, load_class_table
from cropcube.errors import InputError

WORLDCEREAL_TO_GEWASCODE: dict[int, int] = {
    9120: 265,  # grassland -> Grasland, blijvend
    1110: 233,  # winter wheat -> Tarwe, winter-
    1510: 235,  # winter barley -> Gerst, winter-
    1200: 259,  # maize -> Mais, snij-
    8100: 257,  # fodder beet -> Bieten, voeder-
    5100: 2014,  # potatoes -> Aardappelen, consumptie
}
BARLEY_UNSPECIFIED = 1500
SPRING_BARLEY_GEWASCODE = 236

BarleyChoice = Literal["spring", "drop"]


def worldcereal_lookup(
    barley: BarleyChoice = "spring", class_table: ClassTable | None = None
) -> dict[int, int]:
    """WorldCereal code -> BRP class index.

    Args:
        barley: map 1500 (barley, season unclear) to spring barley, or drop it (0).
        class_table: the BRP class table (default: the packaged 76 classes).
    """
    if barley not in ("spring", "drop"):
        raise InputError("barley", f"{barley!r} is not 'spring' or 'drop'")
    table = class_table or load_class_table()
    pairs = dict(WORLDCEREAL_TO_GEWASCODE)
    if barley == "spring":
        pairs[BARLEY_UNSPECIFIED] = SPRING_BARLEY_GEWASCODE
    return {wc: table.by_code(code).index for wc, code in pairs.items()}


def map_worldcereal_labels(
    codes: npt.ArrayLike, barley: BarleyChoice = "spring", class_table: ClassTable | None = None
) -> tuple[npt.NDArray[np.uint8], Counter[int]]:
    """Turn a WorldCereal crop-type raster into BRP class indices.

    Args:
        codes: WorldCereal codes per pixel (0 = no label).
        barley: what to do with 1500 (see :func:`worldcereal_lookup`).
        class_table: the BRP class table.

    Returns:
        uint8 class indices (0 = no label) and the pixel count of each code that became 0
        (unmapped codes, and 1500 when dropped).
    """
    arr = np.asarray(codes)
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError("WorldCereal labels", f"dtype {arr.dtype} is not an integer type")
    lookup = worldcereal_lookup(barley, class_table)
    out = np.zeros(arr.shape, dtype=np.uint8)
    unmapped: Counter[int] = Counter()
    values, counts = np.unique(arr, return_counts=True)
    for code, n in zip(values.tolist(), counts.tolist(), strict=True):
        if code == 0:
            continue
        index = lookup.get(code, 0)
        if index:
            out[arr == code] = index
        else:
            unmapped[code] = n
    return out, unmapped

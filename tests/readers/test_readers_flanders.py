from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from cropcube.classes import load_class_table
from cropcube.errors import InputError
from cropcube.readers.flanders import map_worldcereal_labels, worldcereal_lookup

CT = "flanders_2019_s2_croptype/0000280849BAC91C_label_crop_type_CT.tif"


def test_lookup_follows_the_shared_readme() -> None:
    # ../shared/README.md: 9120->1, 1110->21, 1510->30, 1200->4, 8100->10, 5100->23, 1500->3 or left out.
    assert worldcereal_lookup("spring") == {9120: 1, 1110: 21, 1510: 30, 1200: 4, 8100: 10, 5100: 23, 1500: 3}
    assert 1500 not in worldcereal_lookup("drop")
    names = load_class_table().names("nl")
    assert names[21] == "Tarwe, winter-" and names[3] == "Gerst, zomer-"


def test_real_labels_keep_every_pixel_count(shared_data: Path) -> None:
    meta = json.loads((shared_data / "flanders_2019_s2_croptype/meta.json").read_text())["0000280849BAC91C"]
    with rasterio.open(shared_data / CT) as ds:
        codes = ds.read(1)
    labels, unmapped = map_worldcereal_labels(codes)
    lookup = worldcereal_lookup()
    counts = meta["ct_pixel_counts"]
    for code, n in counts.items():
        if code != "0":
            assert int((labels == lookup[int(code)]).sum()) == n
    assert int((labels == 0).sum()) == counts["0"] and not unmapped
    dropped, unmapped = map_worldcereal_labels(codes, "drop")
    assert unmapped == {1500: counts["1500"]} and int((dropped == 0).sum()) == counts["0"] + counts["1500"]


def test_unmapped_codes_are_reported() -> None:
    labels, unmapped = map_worldcereal_labels(np.array([[9120, 2130], [2130, 0]], dtype=np.uint16))
    assert labels.tolist() == [[1, 0], [0, 0]] and unmapped == {2130: 2}
    with pytest.raises(InputError, match="barley"):
        worldcereal_lookup("winter")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="integer"):
        map_worldcereal_labels(np.zeros((2, 2), dtype=np.float32))

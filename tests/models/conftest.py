"""Fixtures for the model tests: the real Flanders sample as a scene, tiny random bundles."""

from __future__ import annotations

from pathlib import Path

import pytest

FLANDERS = "flanders_2019_s2_croptype/0000280849BAC91C"


@pytest.fixture(scope="session")
def flanders_paths(shared_data: Path) -> tuple[Path, Path]:
    """(cube, WorldCereal label raster) of the real 64x64 Flanders sample."""
    return (
        shared_data / f"{FLANDERS}_s2_7dates_x_4bands_dn.tif",
        shared_data / f"{FLANDERS}_label_crop_type_CT.tif",
    )

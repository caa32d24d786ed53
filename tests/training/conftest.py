"""Fixtures for the training tests: a small config on the real Flanders sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FLANDERS = "flanders_2019_s2_croptype/0000280849BAC91C"


@pytest.fixture(scope="session")
def flanders_paths(shared_data: Path) -> tuple[Path, Path]:
    """(cube, WorldCereal label raster) of the real 64x64 Flanders sample."""
    return (
        shared_data / f"{FLANDERS}_s2_7dates_x_4bands_dn.tif",
        shared_data / f"{FLANDERS}_label_crop_type_CT.tif",
    )


@pytest.fixture()
def flanders_config(flanders_paths: tuple[Path, Path], tmp_path: Path) -> dict[str, Any]:
    """A two-epoch training config on the Flanders sample: 4 blocks of 32 px, chips of 16 px."""
    cube, labels = flanders_paths
    return {
        "seed": 0,
        "out_dir": str(tmp_path / "run"),
        "data": {
            "cube": str(cube),
            "labels": str(labels),
            "label_codes": "worldcereal",
            "block_size": 32,
            "split": [0.5, 0.25, 0.25],
            "chip_size": 16,
            "chips_per_epoch": 16,
        },
        "model": {"name": "tae_unet", "options": {"widths": [16, 32, 64]}},
        "train": {"epochs": 2, "batch_size": 8, "lr": 0.005, "progress": False},
    }

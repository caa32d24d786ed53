"""Helpers shared by the synthetic-generator tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from cropcube.classes import ClassTable, load_class_table
from cropcube.synthetic import Scene


def balanced_table(indices: Iterable[int]) -> ClassTable:
    """The class table with equal frequencies for ``indices`` and (almost) none for the rest."""
    wanted = set(indices)
    return ClassTable(
        tuple(
            dataclasses.replace(c, pixels_2018=1000 if c.index in wanted else 0) for c in load_class_table()
        )
    )


def ndvi(scene: Scene) -> npt.NDArray[np.float64]:
    """(T, H, W) NDVI of a scene's cube."""
    cube = scene.cube.astype(np.float64).reshape(-1, 4, *scene.labels.shape)
    return (cube[:, 3] - cube[:, 2]) / (cube[:, 3] + cube[:, 2])

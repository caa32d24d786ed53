"""Scenes shared by the synthetic-generator tests (small: each builds in about a second)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from cropcube.classes import ClassTable, load_class_table
from cropcube.synthetic import Scene, SceneConfig, generate_scene, write_scene


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


@pytest.fixture(scope="session")
def scene_512() -> Scene:
    """The default 2018 scene, 512 x 512, seed 0, clear sky."""
    return generate_scene(SceneConfig(seed=0, height=512, width=512))


@pytest.fixture(scope="session")
def written_scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, dict[str, Path]]:
    """A small cloudy scene and the files written from it."""
    scene = generate_scene(SceneConfig(seed=7, height=192, width=160, cloud_fraction=0.2))
    return scene, write_scene(scene, tmp_path_factory.mktemp("written"))

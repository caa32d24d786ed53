"""Scenes shared by the synthetic-generator tests (small: each builds in about a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cropcube.synthetic import Scene, SceneConfig, generate_scene, write_scene


@pytest.fixture(scope="session")
def scene_512() -> Scene:
    """The default 2018 scene, 512 x 512, seed 0, clear sky."""
    return generate_scene(SceneConfig(seed=0, height=512, width=512))


@pytest.fixture(scope="session")
def written_scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, dict[str, Path]]:
    """A small cloudy scene and the files written from it."""
    scene = generate_scene(SceneConfig(seed=7, height=192, width=160, cloud_fraction=0.2))
    return scene, write_scene(scene, tmp_path_factory.mktemp("written"))

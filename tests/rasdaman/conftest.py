"""Fixtures of the rasdaman tests: the fake petascope server, a tiny synthetic cube, a toy classifier."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_petascope import FakePetascope
from rasdaman_scene import GRID, Scene, make_cube

from cropcube.cube_spec import CubeSpec
from cropcube.io import write_geotiff
from cropcube.rasdaman.transport.petascope import PetascopeClient, RetryPolicy


@pytest.fixture
def fake() -> Iterator[FakePetascope]:
    server = FakePetascope()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(fake: FakePetascope, monkeypatch: pytest.MonkeyPatch) -> PetascopeClient:
    monkeypatch.delenv("CROPCUBE_RASDAMAN_USER", raising=False)
    monkeypatch.delenv("CROPCUBE_RASDAMAN_PASSWORD", raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent")  # never pick up a developer's ~/.netrc
    return PetascopeClient(
        fake.url, RetryPolicy(retries=2, backoff=0.0, connect_timeout=2.0, read_timeout=5.0)
    )


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    cube, labels = make_cube()
    cube_path = write_geotiff(
        tmp_path / "cube.tif",
        cube,
        GRID.transform,
        GRID.crs,
        descriptions=CubeSpec().descriptions(),
        cog=False,
    )
    labels_path = write_geotiff(tmp_path / "labels.tif", labels, GRID.transform, GRID.crs, cog=False)
    return Scene(cube_path, labels_path, cube, labels)

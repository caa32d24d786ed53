"""Fixtures of the inference tests: a tiny fixture bundle, realistic cubes, the kernel library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch
from fixture_bundle import make_fixture_bundle

from cropcube.inference import kernel_library_path


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: the CI machine is shared, and oversubscribed OpenMP barriers crawl."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fixture_bundle(tmp_path_factory.mktemp("bundle") / "fixture.pt")


@pytest.fixture(scope="session")
def native_lib() -> Path:
    """The built kernel library; scripts/install.sh builds it (`cropcube kernel build`)."""
    path = kernel_library_path()
    if not path.is_file():
        pytest.skip(f"C++ kernel not built at {path}: run `cropcube kernel build`")
    return path


def field_cube(height: int, width: int, seed: int = 0) -> npt.NDArray[np.uint16]:
    """A (28, H, W) uint16 cube of field-like blocks with per-date spectra and sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    field = ((yy // 13) * 7 + (xx // 17) + rng.integers(0, 5)) % 11
    k = np.arange(28)[:, None, None]
    band, date = k % 4, k // 4
    nir = 1500 + 300 * ((field * 5 + date * 3) % 11)
    vis = 300 + 90 * ((field * 3 + date + band) % 9)
    cube = np.where(band == 3, nir, vis) + rng.normal(0, 120, (28, height, width))
    return np.clip(cube, 1, 20000).astype(np.uint16)


@pytest.fixture
def cube() -> npt.NDArray[np.uint16]:
    return field_cube(150, 130, seed=1)

"""Fixtures of the crop.classify UDF tests: a tiny real bundle, the Python UDF module, a real scene."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest
import rasterio
from make_udf_test_bundle import make_bundle
from udf_scene import ROOT, S2_TIF, WINDOW


@pytest.fixture(scope="session")
def udf_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("udf_bundle") / "udf_test_bundle.pt")


@pytest.fixture
def crop_udf(udf_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The Python UDF as rasdaman loads it: udf/python/crop.py imported from its file, with a fresh
    per-process model (CROPCUBE_MODEL set, no config file)."""
    from cropcube.rasdaman.udf import python_udf

    monkeypatch.setenv("CROPCUBE_MODEL", str(udf_bundle))
    monkeypatch.delenv("CROPCUBE_CONFIG", raising=False)
    monkeypatch.delenv("CROPCUBE_THREADS", raising=False)
    monkeypatch.setenv("RMANHOME", str(udf_bundle.parent / "no_rmanhome"))
    monkeypatch.setattr(python_udf, "PROCESS", python_udf.ProcessModel())
    spec = importlib.util.spec_from_file_location("crop_udf_under_test", ROOT / "udf" / "python" / "crop.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.UdfError = python_udf.UdfError  # type: ignore[attr-defined]
    module.PROCESS = python_udf.PROCESS  # type: ignore[attr-defined]
    yield module
    sys.modules.pop(spec.name, None)


@pytest.fixture(scope="session")
def s2_window(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, npt.NDArray[np.uint16]]:
    """The real Flevoland scene's WINDOW written as its own GeoTIFF, and its pixels (28, H, W)."""
    src_path = shared_data / S2_TIF
    out = tmp_path_factory.mktemp("s2") / "window.tif"
    with rasterio.open(src_path) as src:
        data = src.read(window=WINDOW)
        profile = src.profile | {
            "width": WINDOW.width,
            "height": WINDOW.height,
            "transform": src.window_transform(WINDOW),
            "tiled": False,
        }
        profile.pop("blockxsize", None)
        profile.pop("blockysize", None)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
    return out, data

"""The Python UDF udf/python/crop.py: every accepted layout equals classifying the GeoTIFF, clean errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest

from cropcube.inference.classifier import Classifier
from cropcube.rasdaman.udf import deploy

ROOT = Path(__file__).resolve().parents[2]

T, C = 7, 4


@pytest.fixture(scope="module")
def reference(udf_bundle: Path, s2_window: tuple[Path, npt.NDArray[np.uint16]]) -> npt.NDArray[np.uint8]:
    """What classifying the window GeoTIFF gives, in image order (rows, cols)."""
    import rasterio

    with rasterio.open(s2_window[0]) as src:
        image = src.read()
    classes = Classifier(model=udf_bundle, backend="python").classify_array(image)
    assert len(np.unique(classes)) > 3  # a varied map: a transposed or flipped result cannot match by chance
    return classes


def band_first_2d(data: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint16]:
    """(28, E, N) as rasdaman hands a 2-D 28-band coverage to Python (E = col, N = row)."""
    return np.ascontiguousarray(data.transpose(0, 2, 1))


def band_first_3d(data: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint16]:
    """(4, t, E, N) as rasdaman hands a 3-D (t, E, N) coverage with 4-band cells."""
    h, w = data.shape[1:]
    return np.ascontiguousarray(data.reshape(T, C, h, w).transpose(1, 0, 3, 2))


def structured_2d(data: npt.NDArray[np.uint16]) -> npt.NDArray[np.void]:
    """(E, N) struct cells with 28 ushort fields."""
    dtype = np.dtype([(f"Band_{k + 1}", np.uint16) for k in range(T * C)])
    cells = np.zeros((data.shape[2], data.shape[1]), dtype=dtype)
    for k in range(T * C):
        cells[f"Band_{k + 1}"] = data[k].T
    return cells


@pytest.mark.parametrize("layout", [band_first_2d, band_first_3d, structured_2d])
def test_layout_equals_geotiff_classification(
    crop_udf: ModuleType,
    s2_window: tuple[Path, npt.NDArray[np.uint16]],
    reference: npt.NDArray[np.uint8],
    layout: object,
) -> None:
    data = s2_window[1]
    out = crop_udf.classify(layout(data))  # type: ignore[operator]
    assert out.dtype == np.uint8
    assert out.shape == (data.shape[2], data.shape[1])  # (E, N)
    np.testing.assert_array_equal(out.T, reference)


def test_nodata_cell_is_zero_at_its_e_n(
    crop_udf: ModuleType, s2_window: tuple[Path, npt.NDArray[np.uint16]]
) -> None:
    data = s2_window[1].copy()
    row, col = 50, 9
    data[:, row, col] = 0
    out = crop_udf.classify(band_first_2d(data))
    assert out[col, row] == 0
    assert np.count_nonzero(out == 0) == 1


def test_float_and_short_cells(
    crop_udf: ModuleType, s2_window: tuple[Path, npt.NDArray[np.uint16]], reference: npt.NDArray[np.uint8]
) -> None:
    data = s2_window[1]
    np.testing.assert_array_equal(crop_udf.classify(band_first_2d(data).astype(np.float32)).T, reference)
    np.testing.assert_array_equal(crop_udf.classify(band_first_2d(data).astype(np.int16)).T, reference)


def test_bundle_loaded_once_then_reloaded_when_replaced(
    crop_udf: ModuleType,
    udf_bundle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s2_window: tuple[Path, npt.NDArray[np.uint16]],
) -> None:
    from make_udf_test_bundle import make_bundle

    model = tmp_path / "model.pt"
    shutil.copyfile(udf_bundle, model)
    old = time.time() - 60
    os.utime(model, (old, old))  # older than the racy window: a stat is all it takes
    monkeypatch.setenv("CROPCUBE_MODEL", str(model))
    cube = band_first_2d(s2_window[1][:, :40, :30])
    first = crop_udf.classify(cube)
    clf = crop_udf.PROCESS.classifier()
    assert crop_udf.PROCESS.classifier() is clf  # unchanged files: the same classifier
    # an atomic swap (rename) to other weights: the next call serves the new bundle
    other = make_bundle(tmp_path / "seed8.pt", seed=8)
    swapped = tmp_path / "model.pt.part"
    shutil.copyfile(other, swapped)
    swapped.replace(model)
    second = crop_udf.classify(cube)
    assert crop_udf.PROCESS.classifier() is not clf
    assert crop_udf.PROCESS.classifier().metadata.content_hash != clf.metadata.content_hash
    assert not np.array_equal(first, second)
    # rewritten in place within the same second: the content hash tells
    model.write_bytes(udf_bundle.read_bytes())
    np.testing.assert_array_equal(crop_udf.classify(cube), first)
    # a torn file (a writer half-way): a clean error naming the bundle; then the good file serves again
    model.write_bytes(other.read_bytes()[: other.stat().st_size // 2])
    with pytest.raises(crop_udf.UdfError, match=r"cannot open model bundle '.*model\.pt'"):
        crop_udf.classify(cube)
    model.write_bytes(other.read_bytes())
    np.testing.assert_array_equal(crop_udf.classify(cube), second)


def test_settings_from_the_config_file_and_its_changes(
    crop_udf: ModuleType,
    udf_bundle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s2_window: tuple[Path, npt.NDArray[np.uint16]],
) -> None:
    conf = tmp_path / "etc" / deploy.CONFIG_NAME
    conf.parent.mkdir()
    conf.write_text(deploy.config_text(udf_bundle))
    monkeypatch.delenv("CROPCUBE_MODEL")
    monkeypatch.setenv("RMANHOME", str(tmp_path))
    cube = band_first_2d(s2_window[1][:, :5, :6])
    assert crop_udf.classify(cube).shape == (6, 5)
    assert crop_udf.PROCESS.settings().model == str(udf_bundle)
    assert crop_udf.PROCESS.settings().threads is None  # unset: the UDF runs one thread per process
    conf.write_text(deploy.config_text(udf_bundle) + "threads = 2\n")
    os.utime(conf, (time.time() - 30, time.time() - 30))  # a new stamp even within one clock tick
    assert crop_udf.PROCESS.settings().threads == 2
    conf.write_text(deploy.config_text(udf_bundle) + "threads = lots\n")
    os.utime(conf, (time.time() - 20, time.time() - 20))
    with pytest.raises(crop_udf.UdfError, match=r"line 4: threads = 'lots'"):
        crop_udf.classify(cube)


def test_bootstrap_adds_its_folders_and_says_what_is_missing(tmp_path: Path) -> None:
    installed = tmp_path / "crop.py"
    installed.write_text(deploy.bootstrap_text(ROOT / "udf" / "python" / "crop.py", (tmp_path / "site",)))
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('crop', {str(installed)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "sys.path[:] = [p for p in sys.path if 'site-packages' not in p and 'python_model' not in p]\n"
        "try:\n    m.classify(None)\nexcept ValueError as e:\n    print(e)\n"
        f"print({str(tmp_path / 'site')!r} in sys.path)\n"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True)
    assert "crop.classify: cannot import cropcube" in out.stdout and out.stdout.strip().endswith("True")


GOOD = np.full((T * C, 6, 5), 1200, dtype=np.uint16)


@pytest.mark.parametrize(
    ("cube", "message"),
    [
        (GOOD.astype(np.uint8), "cell type uint8 is not supported"),
        (GOOD.astype(np.int64), "cell type int64 is not supported"),
        (GOOD[:27], "2-D input has 27 bands; this model needs 28"),
        (np.full((C, 6, 6, 5), 1200, np.uint16), "3-D input has 6 time slices; this model needs 7"),
        (np.full((5, T, 6, 5), 1200, np.uint16), "3-D input has 5 bands per cell; this model needs 4"),
        (GOOD[:, 0, 0], "input is 1-D"),
        (GOOD[:, :0, :], "input domain is empty"),
        (np.zeros((2, 2, 2, 2, 2), np.uint16), "input is 4-D"),
        ([[1, 2]], "input is a list, not a numpy array"),
        (np.zeros((3, 3), dtype=[("a", np.uint16), ("b", np.float32)]), "mixes band types"),
    ],
)
def test_bad_input_gives_a_clean_error(crop_udf: ModuleType, cube: object, message: str) -> None:
    with pytest.raises(crop_udf.UdfError, match=r"^crop\.classify: ") as err:
        crop_udf.classify(cube)
    assert message in str(err.value)


def test_missing_bundle(crop_udf: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROPCUBE_MODEL", str(tmp_path / "gone.pt"))
    with pytest.raises(crop_udf.UdfError, match=r"gone\.pt' does not exist"):
        crop_udf.classify(GOOD)


def test_no_model_configured(crop_udf: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CROPCUBE_MODEL")
    monkeypatch.setenv("RMANHOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(crop_udf.UdfError, match="no model bundle configured"):
        crop_udf.classify(GOOD)

"""The Python UDF udf/python/crop.py: every accepted layout equals classifying the GeoTIFF, clean errors."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest

from cropcube.inference.classifier import Classifier
from cropcube.rasdaman.udf import deploy

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


def test_bundle_loaded_once_per_process(
    crop_udf: ModuleType, s2_window: tuple[Path, npt.NDArray[np.uint16]]
) -> None:
    cube = band_first_2d(s2_window[1][:, :8, :8])
    crop_udf.classify(cube)
    first = dict(crop_udf._classifiers)
    crop_udf.classify(cube)
    assert len(first) == 1
    assert crop_udf._classifiers == first  # the same Classifier object, not reloaded


def test_model_from_config_file_written_by_deploy(
    crop_udf: ModuleType,
    udf_bundle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s2_window: tuple[Path, npt.NDArray[np.uint16]],
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the UDF extends sys.path; keep that local
    conf = tmp_path / "etc" / deploy.CONFIG_NAME
    conf.parent.mkdir()
    conf.write_text(deploy.config_text(udf_bundle, (tmp_path / "site", tmp_path / "deps")))
    monkeypatch.delenv("CROPCUBE_MODEL")
    monkeypatch.setenv("RMANHOME", str(tmp_path))
    assert crop_udf.config_path() == conf
    assert crop_udf.read_config(conf) == {
        "model": str(udf_bundle),
        "python_path": f"{tmp_path / 'site'}:{tmp_path / 'deps'}",
    }
    assert crop_udf.model_path() == str(udf_bundle)
    assert crop_udf.classify(band_first_2d(s2_window[1][:, :5, :6])).shape == (6, 5)
    assert sys.path[:2] == [str(tmp_path / "site"), str(tmp_path / "deps")]  # python_path, in order


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
    with pytest.raises(crop_udf.UdfError, match="no model bundle configured"):
        crop_udf.classify(GOOD)

"""Both backends: tiled == whole image, C++ == Python, rasdaman axis order, dtypes, nodata, NaN, errors."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import torch

from cropcube.bundle import load_bundle
from cropcube.errors import InputError
from cropcube.inference import Classifier


def _agreement(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float((a == b).mean())


@pytest.fixture(params=["python", "native"])
def backend(request, native_lib) -> str:
    return request.param


def test_tiled_equals_whole_image_python(bundle_path, cube):
    whole = Classifier(bundle_path, backend="python", tile_size=4096).classify_array(cube)
    tiled = Classifier(bundle_path, backend="python", tile_size=32, batch_size=3).classify_array(cube)
    assert len(np.unique(whole)) >= 3  # the fixture separates the fields: a meaningful comparison
    assert _agreement(whole, tiled) >= 0.9999


def test_whole_image_path_is_the_bare_module(bundle_path, cube):
    module = load_bundle(bundle_path).module
    with torch.inference_mode():
        logits = module(torch.from_numpy(cube.astype(np.float32))[None])[0]
    expected = (logits.argmax(0) + 1).numpy().astype(np.uint8)
    got = Classifier(bundle_path, backend="python", tile_size=4096).classify_array(cube)
    assert _agreement(got, expected) == 1.0


def test_native_equals_python(bundle_path, cube, native_lib):
    py = Classifier(bundle_path, backend="python", tile_size=64).run(
        cube, confidence=True, probabilities=True
    )
    cc = Classifier(bundle_path, backend="native", tile_size=64).run(
        cube, confidence=True, probabilities=True
    )
    assert _agreement(py.classes, cc.classes) >= 0.9999
    assert np.abs(py.confidence.astype(int) - cc.confidence.astype(int)).max() <= 1
    np.testing.assert_allclose(py.probabilities, cc.probabilities, atol=1e-5)


def test_native_tiled_equals_whole_image(bundle_path, cube, native_lib):
    whole = Classifier(bundle_path, backend="native", tile_size=4096).classify_array(cube)
    tiled = Classifier(bundle_path, backend="native", tile_size=16, batch_size=4).classify_array(cube)
    assert _agreement(whole, tiled) >= 0.9999


def test_rasdaman_axis_order_gives_the_transposed_map(bundle_path, cube, backend):
    clf = Classifier(bundle_path, backend=backend, tile_size=48)
    image = clf.classify_array(cube)
    e_n_pixel_interleaved = np.ascontiguousarray(cube.transpose(2, 1, 0))  # (E, N, 28) as rasdaman stores it
    e_n_band_planar = np.ascontiguousarray(cube.transpose(0, 2, 1))  # (28, E, N)
    for arr in (e_n_pixel_interleaved, e_n_band_planar):
        got = clf.classify_array(arr, axis_order="rasdaman")
        assert got.shape == (cube.shape[2], cube.shape[1])
        np.testing.assert_array_equal(got, image.T)
    # The reference's defect: feeding [E][N] as if it were [row][col] gives a different map.
    assert _agreement(clf.classify_array(e_n_band_planar), image.T) < 0.99


def test_layouts_and_dtypes_agree(bundle_path, cube, backend):
    clf = Classifier(bundle_path, backend=backend)
    ref = clf.classify_array(cube)
    np.testing.assert_array_equal(clf.classify_array(np.ascontiguousarray(cube.transpose(1, 2, 0))), ref)
    np.testing.assert_array_equal(clf.classify_array(cube.astype(np.int16)), ref)
    np.testing.assert_array_equal(clf.classify_array(cube.astype(np.float32)), ref)
    np.testing.assert_array_equal(clf.classify_array(cube.astype(np.float64)), ref)  # converted
    big = np.zeros((28, 300, 260), dtype=np.uint16)
    big[:, ::2, ::2] = cube
    np.testing.assert_array_equal(clf.classify_array(big[:, ::2, ::2]), ref)  # strided view, no copy


def test_tiny_extents(bundle_path, cube, backend):
    clf = Classifier(bundle_path, backend=backend, tile_size=64)
    one = clf.classify_array(cube[:, :1, :1])
    assert one.shape == (1, 1) and 1 <= one[0, 0] <= 76
    strip = np.tile(cube[:, :7, :], (1, 1, 24))[:, :, :3000]
    got = clf.classify_array(strip)
    whole = Classifier(bundle_path, backend=backend, tile_size=4096).classify_array(strip)
    assert got.shape == (7, 3000) and _agreement(got, whole) >= 0.9999


def test_nodata_pixels_get_class_zero(bundle_path, cube, backend):
    cube = cube.copy()
    cube[:, 10:20, 30:35] = 0
    cube[:8, 40, 40] = 0  # two dates missing: still data
    classes, conf = Classifier(bundle_path, backend=backend).classify_array(cube, confidence=True)
    assert (classes[10:20, 30:35] == 0).all() and (conf[10:20, 30:35] == 0).all()
    assert classes[40, 40] != 0 and (classes != 0).sum() == classes.size - 50
    assert conf[classes != 0].min() >= 255 // 76


def test_probabilities_sum_to_one_and_match_the_classes(bundle_path, cube, backend):
    clf = Classifier(bundle_path, backend=backend)
    cube = cube.copy()
    cube[:, :3, :3] = 0
    probs = clf.predict_proba(cube)
    classes = clf.classify_array(cube)
    assert probs.shape == (76, *cube.shape[1:]) and probs.dtype == np.float32
    np.testing.assert_allclose(probs[:, 3:, 3:].sum(axis=0), 1.0, atol=1e-4)
    assert (probs[:, :3, :3] == 0).all()
    np.testing.assert_array_equal((probs.argmax(axis=0) + 1)[3:, 3:], classes[3:, 3:])


def test_nan_is_an_error_or_nodata(bundle_path, cube, backend):
    f = cube.astype(np.float32)
    f[5, 7, 9] = np.nan
    f[2, 30, 1] = np.inf
    with pytest.raises(InputError, match=r"2 NaN/inf values, the first at row 7 col 9"):
        Classifier(bundle_path, backend=backend).classify_array(f)
    got = Classifier(bundle_path, backend=backend, nonfinite="nodata").classify_array(f)
    blanked = f.copy()
    blanked[:, 7, 9] = blanked[:, 30, 1] = 0
    expected = Classifier(bundle_path, backend=backend).classify_array(blanked)
    np.testing.assert_array_equal(got, expected)
    assert got[7, 9] == 0 and got[30, 1] == 0


def test_bad_inputs_are_named(bundle_path, cube, backend, tmp_path):
    clf = Classifier(bundle_path, backend=backend)
    with pytest.raises(InputError, match="no axis of 28 bands"):
        clf.classify_array(cube[:27])
    with pytest.raises(InputError, match="3-D"):
        clf.classify_array(cube[0])
    with pytest.raises(InputError, match="axis_order"):
        clf.classify_array(cube, axis_order="columns")  # type: ignore[call-overload]
    with pytest.raises(InputError, match="does not exist"):
        Classifier(tmp_path / "missing.pt", backend=backend)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(bundle_path.read_bytes()[:5000])
    with pytest.raises(InputError):
        Classifier(corrupt, backend=backend)


def test_real_flevoland_sample_native_equals_python(bundle_path, shared_data, native_lib):
    path = shared_data / "flevoland_2018_s2_100px" / "s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"
    with rasterio.open(path) as ds:
        real = ds.read()
    py = Classifier(bundle_path, backend="python").classify_array(real)
    cc = Classifier(bundle_path, backend="native").classify_array(real)
    assert _agreement(py, cc) >= 0.9999 and (py > 0).all()


def test_model_path_from_environment_and_config(bundle_path, tmp_path, monkeypatch, cube):
    monkeypatch.setenv("CROPCUBE_MODEL", str(bundle_path))
    assert Classifier(backend="python").model_path == bundle_path
    monkeypatch.delenv("CROPCUBE_MODEL")
    conf = tmp_path / "kernel.conf"
    conf.write_text(f"# test\nmodel = {bundle_path}\n")
    monkeypatch.setenv("CROPCUBE_CONFIG", str(conf))
    assert Classifier(backend="python").model_path == bundle_path
    monkeypatch.setenv("CROPCUBE_CONFIG", str(tmp_path / "nope.conf"))
    with pytest.raises(InputError, match="CROPCUBE_CONFIG"):
        Classifier(backend="python")


def test_bfloat16_is_opt_in_and_reported(bundle_path, cube, native_lib):
    """bf16 runs where asked for (autocast); float32 stays the default because parity is not guaranteed."""
    f32 = Classifier(bundle_path, backend="native").classify_array(cube)
    bf16 = Classifier(bundle_path, backend="native", precision="bfloat16").classify_array(cube)
    assert bf16.shape == f32.shape and bf16.min() >= 1 and bf16.max() <= 76
    assert float((bf16 == f32).mean()) >= 0.5
    with pytest.raises(InputError, match="precision"):
        Classifier(bundle_path, backend="python", precision="bfloat16")

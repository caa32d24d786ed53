"""export_bundle: one TorchScript file with complete metadata, parity with eager, model card, clear errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from cropcube.bundle import load_bundle
from cropcube.bundle.export import export_bundle
from cropcube.bundle.io import read_metadata
from cropcube.classes import load_class_table
from cropcube.cube_spec import CubeSpec
from cropcube.errors import InputError
from cropcube.evaluation import classes_from_probabilities, predict_probabilities
from cropcube.models import DEFAULT_MODEL, build_model
from cropcube.trainers import load_checkpoint

SUMMARY = {"data": "unit test", "synthetic": True, "train_pixels_per_class": {"1": 10}}


def _real_cube(flanders_paths: tuple[Path, Path]) -> tuple[np.ndarray, CubeSpec]:
    with rasterio.open(flanders_paths[0]) as src:
        return src.read(), CubeSpec.from_descriptions(src.descriptions)


def _export(tmp_path: Path, name: str, spec: CubeSpec, **kw) -> Path:
    torch.manual_seed(0)
    net = build_model(name).eval()
    norm = {"kind": "standardize", "mean": [0.1] * 28, "std": [0.05] * 28}
    out = tmp_path / f"{name}.pt"
    export_bundle(net, spec, load_class_table(), norm, SUMMARY, {"miou": 0.5}, out, name, "test", **kw)
    return out


@pytest.mark.parametrize("name", ["tae_fpn", "tae_unet", "reference_segnet"])
def test_bundle_matches_eager_on_random_and_real_input(tmp_path, flanders_paths, name):
    cube, spec = _real_cube(flanders_paths)
    real = torch.from_numpy(cube.astype(np.float32))[None]
    path = _export(tmp_path, name, spec, parity_inputs=[real])
    bundle = load_bundle(path)
    torch.manual_seed(0)
    eager = build_model(name).eval()
    from cropcube.bundle.export import build_wrapper

    wrapper = build_wrapper(eager, spec, bundle.metadata.normalisation).eval()
    rand = torch.randint(0, 10000, (1, 28, 20, 28)).float()
    with torch.no_grad():
        for x in (rand, real):
            torch.testing.assert_close(bundle.module(x), wrapper(x), rtol=1e-4, atol=1e-4)
    assert not list(tmp_path.glob(".*"))  # nothing half-written left behind


@pytest.fixture(scope="module")
def tae_bundle(tmp_path_factory, flanders_paths) -> Path:
    """A tae_unet bundle (random weights) for the Flanders layout, shared by the tests below."""
    _, spec = _real_cube(flanders_paths)
    return _export(tmp_path_factory.mktemp("bundle"), "tae_unet", spec)


def test_metadata_is_complete_and_card_is_written(tae_bundle, flanders_paths):
    _, spec = _real_cube(flanders_paths)
    path = tae_bundle
    meta = read_metadata(path)
    assert meta.model_name == "tae_unet" and meta.model_version == "test"
    assert meta.spec == spec and meta.spec.bands == ("B02", "B03", "B04", "B08")
    assert meta.classes.num_classes == 76
    assert (meta.receptive_field, meta.downsampling_factor, meta.halo) == (47, 4, 24)
    assert meta.normalisation["mean"] == [0.1] * 28
    assert meta.parameters == sum(p.numel() for p in build_model("tae_unet").parameters())
    assert 1e5 < meta.flops_per_pixel < 5e5
    assert meta.training == SUMMARY and meta.metrics == {"miou": 0.5}
    assert meta.content_hash.startswith("sha256:")
    with zipfile.ZipFile(path) as zf:
        raw = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("cropcube/metadata.json"))))
    assert raw["input"]["dn_scale"] == 1e-4 and raw["input"]["nodata"] == 0
    card = path.with_suffix(".md").read_text()
    assert "SYNTHETIC-TRAINED" in card and "Receptive field 47 px" in card and "Intended use" in card


def test_bad_inputs_give_clear_errors(tmp_path, tae_bundle, flanders_paths):
    cube, _ = _real_cube(flanders_paths)
    path = tae_bundle
    b = load_bundle(path)
    halo, d = b.metadata.halo, b.metadata.downsampling_factor
    with pytest.raises(InputError, match="needs \\(28, H, W\\)"):
        predict_probabilities(b.module, cube[:24], 28, halo, d, 76)
    bad = cube.astype(np.float32)
    bad[3, 5, 5] = np.nan
    bad[7, 1, 2] = np.inf
    with pytest.raises(InputError, match="2 NaN/inf"):
        predict_probabilities(b.module, bad, 28, halo, d, 76)
    with pytest.raises((RuntimeError, torch.jit.Error), match="wrong number of input bands"):
        b.module(torch.zeros(1, 27, 8, 8))
    # A corrupt and a foreign .pt file, and a bundle where a checkpoint is expected.
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(path.read_bytes()[:5000])
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    for p in (corrupt, foreign):
        with pytest.raises(InputError):
            load_bundle(p)
    with pytest.raises(InputError, match="not a cropcube training checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(InputError, match="is a TorchScript model bundle"):
        load_checkpoint(path)


def test_all_nodata_tile_gives_class_zero_without_nan(tae_bundle, flanders_paths):
    cube, _ = _real_cube(flanders_paths)
    b = load_bundle(tae_bundle)
    cube = cube.copy()
    cube[:, :32, :] = 0  # the upper half has no data at all
    cube[8:12, 32:, :] = 0  # one date missing in the lower half
    probs = predict_probabilities(
        b.module, cube, 28, b.metadata.halo, b.metadata.downsampling_factor, 76, tile=32
    )
    assert np.isfinite(probs).all()
    classes = classes_from_probabilities(probs)
    assert (classes[:32] == 0).all() and (classes[32:] > 0).all()
    np.testing.assert_allclose(probs[:, 32:].sum(axis=0), 1.0, rtol=1e-5)


def test_tiling_does_not_change_the_result(tae_bundle, flanders_paths):
    cube, _ = _real_cube(flanders_paths)
    b = load_bundle(tae_bundle)
    args = (b.module, cube, 28, b.metadata.halo, b.metadata.downsampling_factor, 76)
    whole = predict_probabilities(*args, tile=64)
    tiled = predict_probabilities(*args, tile=32)
    np.testing.assert_allclose(tiled, whole, atol=1e-4)


@pytest.mark.slow
def test_default_model_exports_to_onnx(tmp_path):
    onnx = pytest.importorskip("onnx", reason="onnx is an optional extra (pip install cropcube[export])")
    from cropcube.bundle.export import build_wrapper
    from cropcube.cube_spec import REFERENCE_2018_SPEC

    norm = {"mean": [0.1] * 28, "std": [0.05] * 28}
    wrapper = build_wrapper(build_model(DEFAULT_MODEL), REFERENCE_2018_SPEC, norm).eval()
    out = tmp_path / f"{DEFAULT_MODEL}.onnx"
    torch.onnx.export(wrapper, (torch.randint(1, 9000, (1, 28, 32, 32)).float(),), str(out), dynamo=True)
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert model.graph.output[0].type.tensor_type.shape.dim[1].dim_value == 76

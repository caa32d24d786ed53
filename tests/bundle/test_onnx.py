"""ONNX export of a bundle: the same logits as the bundle on real pixels, and its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import rasterio
import torch
from typer.testing import CliRunner

from cropcube.bundle import BundleMetadata, InferenceModule, halo_for, load_bundle, save_bundle
from cropcube.bundle.onnx import METADATA_KEY, eager_copy, export_onnx, read_onnx_metadata
from cropcube.classes import load_class_table
from cropcube.cli.main import app
from cropcube.cube_spec import REFERENCE_2018_SPEC
from cropcube.errors import InputError
from cropcube.models import default_bundle_path
from cropcube.trainers.checkpoint import save_checkpoint

FLEVOLAND = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "flevoland_2018_s2_100px"
    / "s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"
)


def _checkpoint_of(bundle_path: Path, out: Path) -> Path:
    """A training checkpoint holding a bundle's weights (what `cropcube export` starts from)."""
    bundle = load_bundle(bundle_path)
    meta = bundle.metadata
    state = eager_copy(bundle).state_dict()
    save_checkpoint(
        {
            "epoch": 0,
            "model_name": meta.model_name,
            "model_options": dict(meta.training.get("model_options", {})),
            "spec": meta.spec.to_dict(),
            "normalisation": meta.normalisation,
            "calendar": meta.calendar.to_dict() if meta.calendar is not None else None,
            "model_state": state,
            "best_state": state,
            "optim_state": {},
            "history": [],
        },
        out,
    )
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """`cropcube export CHECKPOINT -o BUNDLE --onnx MODEL.onnx` with the shipped bundle's weights."""
    tmp = tmp_path_factory.mktemp("onnx")
    ckpt = _checkpoint_of(default_bundle_path(), tmp / "checkpoint.pt")
    res = CliRunner().invoke(
        app, ["export", str(ckpt), "-o", str(tmp / "model.pt"), "--onnx", str(tmp / "model.onnx")]
    )
    assert res.exit_code == 0, res.output
    assert "checked with ONNX Runtime" in res.output
    return tmp / "model.pt", tmp / "model.onnx"


def _real_cube() -> np.ndarray:
    if not FLEVOLAND.is_file():
        pytest.skip(f"real sample not found: {FLEVOLAND}")
    with rasterio.open(FLEVOLAND) as src:
        return src.read().astype(np.float32)  # (28, 100, 100) DN


@pytest.mark.slow
def test_onnx_gives_the_bundles_logits_on_real_pixels(exported):
    bundle_path, onnx_path = exported
    bundle = load_bundle(bundle_path)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x", "doy"]  # a calendar-free (format 2) bundle
    cube = _real_cube()
    cube[:, 40:47, 10:30] = 0  # a nodata patch
    default = bundle.metadata.accepted_calendar().default_doy.astype(np.float32)
    # The whole sample, an odd-sized crop (padded to the downsampling factor inside), a 1 x 1 pixel,
    # a batch of two, and 5 of the dates at other days: one graph for every size and calendar.
    crops = [
        (cube[None], default),
        (cube[None, :, 3:60, 7:98], default),
        (cube[None, :, 50:51, 50:51], default),
        (np.stack([cube, cube[:, ::-1]]), default),
        (cube[None, 4:24], np.array([90, 130, 170, 210, 250], np.float32)),
    ]
    for x, doy in crops:
        x = np.ascontiguousarray(x)
        got = session.run(None, {"x": x, "doy": np.repeat(doy[None], x.shape[0], 0)})[0]  # (B, T)
        with torch.inference_mode():
            want = bundle.module(torch.from_numpy(x), torch.from_numpy(doy)).numpy()
        assert got.shape == want.shape == (x.shape[0], 76, x.shape[2], x.shape[3])
        np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-4)
        assert (got.argmax(1) == want.argmax(1)).mean() >= 0.999


@pytest.mark.slow
def test_onnx_carries_the_bundles_metadata(exported):
    bundle_path, onnx_path = exported
    meta = load_bundle(bundle_path).metadata
    assert read_onnx_metadata(onnx_path).to_json() == meta.to_json()
    props = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    assert json.loads(props["dates"]) == [d.isoformat() for d in meta.spec.dates]
    assert json.loads(props["bands"]) == ["B02", "B03", "B04", "B08"]
    classes = json.loads(props["classes"])
    assert len(classes) == 76 and classes[0]["index"] == 1
    assert props["source_content_hash"] == meta.content_hash
    assert int(props["halo"]) == meta.halo and float(props["nodata"]) == meta.spec.nodata


class _PixelNet(torch.nn.Module):
    receptive_field: int = 1
    downsampling_factor: int = 1

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(28, 76, 1)

    def forward(self, x: torch.Tensor, valid: torch.Tensor, doy: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = x.shape
        return self.conv(x.reshape(b, t * c, h, w))


def test_export_names_a_bundle_whose_architecture_it_cannot_rebuild(tmp_path):
    spec = REFERENCE_2018_SPEC
    module = InferenceModule(_PixelNet(), 7, 4, [0.1] * 28, [0.05] * 28, spec.day_of_year().tolist())
    meta = BundleMetadata("pixelnet", "t", spec, load_class_table(), 1, 1, halo_for(1, 1), {"kind": "x"})
    save_bundle(torch.jit.script(module.eval()), meta, tmp_path / "b.pt")
    with pytest.raises(InputError, match=r"b\.pt.*pixelnet"):
        export_onnx(tmp_path / "b.pt", tmp_path / "b.onnx")
    assert not list(tmp_path.glob("*.onnx*")) and not list(tmp_path.glob(".*tmp"))


def test_read_onnx_metadata_refuses_foreign_files(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a model" * 10)
    with pytest.raises(InputError, match=r"junk\.onnx"):
        read_onnx_metadata(junk)
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    plain = tmp_path / "plain.onnx"
    onnx.save(onnx.helper.make_model(graph), str(plain))
    with pytest.raises(InputError, match=f"without {METADATA_KEY} metadata"):
        read_onnx_metadata(plain)

"""The fast inference path of tae_unet's temporal encoder: same maths as the plain path, everywhere.

``TemporalAttentionEncoder.forward_rows`` (used automatically in eval mode) must give the plain
path's output within 1e-4 for trained-looking BatchNorm statistics, cloud masks, pixels without any
valid date and image sizes that leave a partial last chunk; through TorchScript, a saved bundle and
both inference backends (C++ kernel and pure Python).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from cropcube.bundle import load_bundle
from cropcube.bundle.export import build_wrapper, export_bundle
from cropcube.classes import load_class_table
from cropcube.cube_spec import CubeSpec
from cropcube.inference import Classifier, kernel_library_path
from cropcube.models import TaeUNet, build_model

DOY = torch.tensor([8.0, 78.0, 128.0, 181.0, 218.0, 261.0, 321.0])
NORM = {"kind": "standardize", "mean": [0.1] * 28, "std": [0.05] * 28}


def _trained_looking(seed: int = 0) -> TaeUNet:
    """A tae_unet in eval mode whose BatchNorms hold non-trivial running statistics."""
    torch.manual_seed(seed)
    net = build_model("tae_unet")
    assert isinstance(net, TaeUNet)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.normal_(1.0, 0.3)
                m.bias.normal_(0.0, 0.3)
    return net.eval()


def _cloudy_inputs(h: int, w: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised input with 30 % masked dates (zeroed, as InferenceModule does) and a no-data corner."""
    g = torch.Generator().manual_seed(seed)
    valid = (torch.rand(1, 7, h, w, generator=g) > 0.3).float()
    valid[:, :, :3, :5] = 0.0  # pixels with no valid date at all
    x = torch.randn(1, 7, 4, h, w, generator=g) * valid.unsqueeze(2)
    return x, valid


def _plain(net: TaeUNet) -> TaeUNet:
    net.temporal.fast_inference = False
    return net


def test_fast_encoder_equals_plain_encoder_across_chunks():
    net = _trained_looking()
    x, valid = _cloudy_inputs(20, 28)  # 560 pixels: five chunks of 128 and a partial one
    with torch.no_grad():
        fast = net.temporal.forward_rows(x, valid, DOY, chunk=128)
        plain = _plain(net).temporal(x, valid, DOY)
    assert fast.shape == plain.shape == (1, 32, 20, 28)
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-4)
    assert torch.isfinite(fast).all()


def test_eval_uses_fast_path_and_whole_net_matches_plain():
    net = _trained_looking(1)
    x, valid = _cloudy_inputs(32, 48, seed=1)
    with torch.no_grad():
        fast = net(x, valid, DOY)
        plain = _plain(net)(x, valid, DOY)
    torch.testing.assert_close(fast, plain, rtol=1e-4, atol=1e-4)
    assert fast.is_contiguous()


def test_fast_path_ignores_masked_dates():
    net = _trained_looking(2)
    x, _ = _cloudy_inputs(16, 16, seed=2)
    valid = torch.ones(1, 7, 16, 16)  # (a pixel with no valid date averages its inputs uniformly)
    cloud = x.clone()
    cloud[:, 3] = torch.randn(1, 4, 16, 16) * 5  # bright cloud (InferenceModule zeroes them anyway)
    valid[:, 3] = 0.0
    with torch.no_grad():
        net.temporal.stacked.weight.zero_()  # the stacked branch sees the (zeroed) values; test attention
        torch.testing.assert_close(net(x, valid, DOY), net(cloud, valid, DOY))


def test_training_mode_keeps_the_plain_path_and_its_batch_statistics():
    net = _trained_looking(3).train()
    x, valid = _cloudy_inputs(16, 16, seed=3)
    out = net.temporal(x, valid, DOY)
    out.sum().backward()
    assert net.temporal.embed_in.weight.grad is not None
    # batch statistics, not running ones: the output differs from the eval (running statistics) path
    with torch.no_grad():
        assert not torch.allclose(out, net.eval().temporal(x, valid, DOY), atol=1e-3)


def test_scripted_fast_path_equals_eager_plain():
    net = _trained_looking(4)
    x, valid = _cloudy_inputs(24, 40, seed=4)
    scripted = torch.jit.script(net)
    with torch.no_grad():
        got = scripted(x, valid, DOY)
        want = _plain(net)(x, valid, DOY)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def fast_bundle(
    tmp_path_factory: pytest.TempPathFactory, flanders_paths: tuple[Path, Path]
) -> tuple[Path, np.ndarray]:
    """A tae_unet bundle (fast path inside) for the real Flanders sample, and that sample."""
    with rasterio.open(flanders_paths[0]) as src:
        cube, spec = src.read(), CubeSpec.from_descriptions(src.descriptions)
    out = tmp_path_factory.mktemp("fast") / "tae_unet.pt"
    summary = {"scene": "test", "epochs": 0}
    export_bundle(
        _trained_looking(5), spec, load_class_table(), NORM, summary, {"miou": 0.5}, out, "tae_unet", "t"
    )
    return out, cube


@pytest.mark.parametrize("backend", ["python", "native"])
def test_bundle_with_fast_path_classifies_like_the_plain_net(fast_bundle, backend):
    path, cube = fast_bundle
    if backend == "native" and not kernel_library_path().is_file():
        pytest.skip("C++ kernel not built: run `cropcube kernel build` (scripts/install.sh does)")
    meta = load_bundle(path).metadata
    plain = build_wrapper(_plain(_trained_looking(5)), meta.spec, meta.normalisation).eval()
    with torch.no_grad():
        logits = plain(torch.from_numpy(cube.astype(np.float32))[None])[0]
    want = logits.argmax(0).numpy() + 1
    want[(cube == 0).all(axis=0)] = 0
    got = Classifier(path, backend=backend, threads=1).classify_array(cube)
    top2 = logits.topk(2, dim=0).values
    decided = (top2[0] - top2[1]).numpy() > 1e-3  # ignore exact ties that rounding may flip
    assert decided.mean() > 0.99
    np.testing.assert_array_equal(got[decided], want[decided])

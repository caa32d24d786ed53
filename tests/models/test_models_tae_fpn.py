"""TaeFPN, the default network: its written-out attention, chunked inference, dates and exports.

The temporal encoder computes a per-band softmax over dates by hand (exp, 0/1 matrix sums) and runs
in chunks at inference; both must be the plain maths: checked here against ``torch.softmax`` and
across chunk sizes, with masked dates and pixels without any valid date.
"""

from __future__ import annotations

import pytest
import torch

from cropcube.models import build_model
from cropcube.models.tae_fpn.model import LightTemporalEncoder

DOY = torch.tensor([8.0, 78.0, 128.0, 181.0, 218.0, 261.0, 321.0])


def _inputs(h: int = 24, w: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 7, 4, h, w, generator=g)
    valid = (torch.rand(2, 7, h, w, generator=g) > 0.3).float()
    valid[0, :, 0, 0] = 0  # one pixel without any valid date
    return x * valid.unsqueeze(2), valid  # as InferenceModule feeds it: invalid dates are 0


def _plain_encoder(enc: LightTemporalEncoder, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """The encoder's maths written with torch.softmax over the date axis (no chunks, no tricks)."""
    b, t, c, h, w = x.shape
    angles = DOY.unsqueeze(1) * enc.doy_freq.unsqueeze(0)
    pe = enc.key_pe(torch.cat([torch.sin(angles), torch.cos(angles)], 1))  # (T, C)
    v = x.permute(0, 3, 4, 1, 2)  # (B, H, W, T, C)
    scores = enc.key(v) + pe + (valid.permute(0, 2, 3, 1).unsqueeze(-1) - 1) * 1e4
    attn = torch.softmax(scores, dim=3)
    pooled = (attn * v).sum(3)  # each band pools its own values
    feat = enc.pooled(pooled) + enc.stacked(v.reshape(b, h, w, t * c))
    out = torch.relu(enc.norm(feat.reshape(-1, feat.shape[-1]))).view(b, h, w, -1)
    return out.permute(0, 3, 1, 2)


@pytest.fixture
def encoder() -> LightTemporalEncoder:
    torch.manual_seed(0)
    enc = LightTemporalEncoder(chunk=100)  # chunks that do not divide the pixel count
    with torch.no_grad():  # trained-looking statistics and sharp attention
        enc.norm.running_mean.uniform_(-0.5, 0.5)
        enc.norm.running_var.uniform_(0.5, 2.0)
        enc.key.weight.mul_(8.0)
    return enc.eval()


def test_written_out_softmax_equals_torch_softmax(encoder):
    x, valid = _inputs()
    with torch.no_grad():
        fast = encoder(x, valid, DOY)
        plain = _plain_encoder(encoder, x, valid)
    assert fast.shape == (2, 16, 24, 40)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
    assert torch.isfinite(fast).all()


def test_chunked_inference_equals_one_pass(encoder):
    x, valid = _inputs(seed=1)
    with torch.no_grad():
        chunked = encoder(x, valid, DOY)
        encoder.chunk = 10**9
        whole = encoder(x, valid, DOY)
    torch.testing.assert_close(chunked, whole)


def test_masked_dates_are_ignored_and_an_all_invalid_pixel_gives_no_nan():
    torch.manual_seed(2)
    net = build_model("tae_fpn").eval()
    with torch.no_grad():
        net.temporal.stacked.weight.zero_()  # leave only the attention path
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 7, 4, 16, 16, generator=g)
    valid = torch.ones(1, 7, 16, 16)
    valid[:, 3] = 0  # a cloudy date everywhere
    y = x.clone()
    y[:, 3] = torch.randn(1, 4, 16, 16, generator=g) * 50  # whatever the cloud looks like
    with torch.no_grad():
        torch.testing.assert_close(net(x, valid, DOY), net(y, valid, DOY))
        out = net(torch.zeros_like(x), torch.zeros_like(valid), DOY)
    assert torch.isfinite(out).all()


def test_the_model_knows_which_date_is_which():
    torch.manual_seed(3)
    net = build_model("tae_fpn").eval()
    x, valid = _inputs(16, 16, seed=4)
    valid = torch.ones_like(valid)
    swapped = x[:, [1, 0, 2, 3, 4, 5, 6]]
    with torch.no_grad():
        assert not torch.allclose(net(x, valid, DOY), net(swapped, valid, DOY), atol=1e-4)


def test_training_and_eval_paths_agree_with_frozen_statistics(encoder):
    """Training runs one chunk, eval many; with BatchNorm in eval mode both are the same function."""
    x, valid = _inputs(seed=5)
    net = build_model("tae_fpn")
    net.temporal = encoder
    net.train()
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()
    with torch.no_grad():
        train_path = net(x, valid, DOY)
        net.eval()
        eval_path = net(x, valid, DOY)
    torch.testing.assert_close(train_path, eval_path)


def test_bad_widths_and_input_layout_are_refused():
    from cropcube.errors import InputError

    with pytest.raises(InputError, match="widths"):
        build_model("tae_fpn", widths=(16, 32))
    net = build_model("tae_fpn").eval()
    with pytest.raises(RuntimeError, match="dates/bands"):
        net(torch.zeros(1, 6, 4, 16, 16), torch.ones(1, 6, 16, 16), DOY[:6])


def test_exports_with_torch_export_and_scripting():
    torch.manual_seed(4)
    net = build_model("tae_fpn").eval()
    x, valid = _inputs(32, 32, seed=6)
    args = (x[:1], valid[:1], DOY)
    program = torch.export.export(net, args)
    torch.testing.assert_close(program.module()(*args), net(*args), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(torch.jit.script(net)(*args), net(*args), rtol=1e-5, atol=1e-5)


def test_shipped_default_bundle_tiled_equals_whole_image_in_both_backends():
    """The demo bundle (tae_fpn, halo 48, factor 8, channels-last logits) through the C++ kernel and
    the pure-Python path, in 64 px tiles and as one whole-image tile, on a synthetic scene whose size
    is no multiple of 8 and which has a nodata corner: the same map everywhere."""
    import numpy as np

    from cropcube.inference import Classifier
    from cropcube.inference.native import kernel_library_path
    from cropcube.models import default_bundle_path
    from cropcube.synthetic import SceneConfig, generate_scene

    if not kernel_library_path().is_file():
        pytest.fail("C++ kernel not built: run `cropcube kernel build` (scripts/install.sh does)")
    cube = generate_scene(SceneConfig(seed=5, height=150, width=203)).cube.copy()
    cube[:, :9, :13] = 0
    maps = {
        # float32: the bundle records bfloat16 parity, so "auto" would be bfloat16 on CPUs that have it
        # (its agreement is checked in tests/inference/test_precision.py); here only tiling differs.
        (backend, tile): Classifier(
            default_bundle_path(), backend=backend, tile_size=tile, threads=1, precision="float32"
        ).run(cube, confidence=True)
        for backend in ("native", "python")
        for tile in (64, 512)
    }
    whole = maps[("python", 512)]
    assert (whole.classes[:9, :13] == 0).all() and (whole.classes[9:, 13:] > 0).all()
    assert len(np.unique(whole.classes)) > 5  # a real map, not one class
    for key, m in maps.items():
        same = (m.classes == whole.classes).mean()
        assert same >= 0.9999, f"{key}: {same:.6f} of the pixels equal the whole-image map"
        assert m.confidence is not None and whole.confidence is not None
        assert np.abs(m.confidence.astype(int) - whole.confidence.astype(int)).max() <= 1

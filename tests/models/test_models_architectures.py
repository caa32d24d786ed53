"""The networks: sizes, contract, receptive field, cloud/nodata handling, scripting and torch.export."""

from __future__ import annotations

import pytest
import torch

from cropcube.errors import InputError
from cropcube.models import build_model, list_models


def _inputs(
    b: int = 1, h: int = 32, w: int = 32, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 7, 4, h, w, generator=g)
    valid = torch.ones(b, 7, h, w)
    doy = torch.tensor([8.0, 78.0, 128.0, 181.0, 218.0, 261.0, 321.0])
    return x, valid, doy


ALL = ["reference_segnet", "tae_unet", "tae_fpn"]


def test_registry_lists_all_and_rejects_unknown():
    assert set(ALL) <= set(list_models())
    with pytest.raises(InputError, match="not one of"):
        build_model("segformer")
    with pytest.raises(InputError, match="options"):
        build_model("tae_unet", no_such_option=1)


def test_reference_has_the_published_parameter_count():
    net = build_model("reference_segnet")
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 1_501_709


@pytest.mark.parametrize("name", ALL)
def test_output_shape_and_scripted_equals_eager(name):
    torch.manual_seed(0)
    net = build_model(name).eval()
    x, valid, doy = _inputs(2, 24, 40)
    with torch.no_grad():
        out = net(x, valid, doy)
        scripted = torch.jit.script(net)(x, valid, doy)
    assert out.shape == (2, 76, 24, 40)
    torch.testing.assert_close(scripted, out)


@pytest.mark.parametrize(
    ("name", "options", "factor"),
    [
        ("reference_segnet", {}, 4),
        ("tae_unet", {}, 4),
        ("tae_fpn", {}, 8),
        ("tae_fpn", {"widths": (8, 8, 8)}, 4),
        ("tae_fpn", {"widths": (8, 8, 8, 8, 8)}, 16),
    ],
)
def test_declared_receptive_field_bounds_the_real_one(name, options, factor):
    """Over every output position modulo the downsampling factor (strided convolutions reach further
    on one side), the gradient of one output pixel reaches at most receptive_field // 2 pixels away,
    and exactly that far at some position: the declared field is tight, not a loose upper bound."""
    torch.manual_seed(1)
    net = build_model(name, **options).eval()
    assert net.downsampling_factor == factor
    half = net.receptive_field // 2
    size = -(-(2 * half + 4 * factor) // factor) * factor
    x, valid, doy = _inputs(1, size, size)
    x.requires_grad_(True)
    out = net(x, valid, doy)
    reach = 0
    for c in range(size // 2 - factor // 2, size // 2 + factor - factor // 2):
        (grad,) = torch.autograd.grad(out[0, :, c, c].sum(), x, retain_graph=True)
        hit = torch.nonzero(grad.abs().sum(dim=(0, 1, 2)))
        reach = max(reach, int((hit - c).abs().max()))
    assert reach <= half
    assert reach >= half - 1


def test_tae_unet_attention_ignores_invalid_dates_and_never_gives_nan():
    torch.manual_seed(2)
    net = build_model("tae_unet").eval()
    with torch.no_grad():
        net.temporal.stacked.weight.zero_()  # leave only the attention path
    x, valid, doy = _inputs(1, 16, 16)
    valid[:, 3] = 0  # a cloudy date everywhere
    y = x.clone()
    y[:, 3] = torch.randn(1, 4, 16, 16) * 50  # whatever the cloud looks like
    with torch.no_grad():
        torch.testing.assert_close(net(x, valid, doy), net(y, valid, doy))
        out = net(torch.zeros_like(x), torch.zeros_like(valid), doy)  # no valid date at all
    assert torch.isfinite(out).all()


def test_tae_unet_uses_time_order():
    """Swapping two dates' values changes the output: the model knows which date is which."""
    torch.manual_seed(3)
    net = build_model("tae_unet").eval()
    x, valid, doy = _inputs(1, 16, 16)
    swapped = x[:, [1, 0, 2, 3, 4, 5, 6]]
    with torch.no_grad():
        assert not torch.allclose(net(x, valid, doy), net(swapped, valid, doy), atol=1e-4)


def test_tae_unet_exports_with_torch_export():
    torch.manual_seed(4)
    net = build_model("tae_unet").eval()
    args = _inputs(1, 32, 32)
    program = torch.export.export(net, args)
    torch.testing.assert_close(program.module()(*args), net(*args), rtol=1e-4, atol=1e-4)

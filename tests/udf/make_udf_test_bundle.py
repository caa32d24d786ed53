"""Write a tiny but real cropcube bundle for the UDF tests (C++ ctest fixture and pytest).

    python tests/udf/make_udf_test_bundle.py OUT.pt [OUT_SEED8.pt]

The network is a seeded 3x3 convolution stack over the 28 standardised channels with a stride-2
stage (downsampling factor 2), so its maps have spatial structure, several classes and an orientation
that a transposed input would change. It is the same file format every cropcube bundle has.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import Tensor, nn

from cropcube.bundle import BundleMetadata, InferenceModule, halo_for, save_bundle
from cropcube.classes import load_class_table
from cropcube.cube_spec import REFERENCE_2018_SPEC


class TinyNet(nn.Module):
    """Two 3x3 convolutions, one at half resolution; follows the cropcube network contract."""

    def __init__(self, n_dates: int, n_bands: int, n_classes: int) -> None:
        super().__init__()
        self.receptive_field = 9
        self.downsampling_factor = 2
        channels = n_dates * n_bands
        self.conv1 = nn.Conv2d(channels, 16, 3, padding=1)
        self.down = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        self.head = nn.Conv2d(32, n_classes, 3, padding=1)

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        b, t, c, h, w = x.shape
        z = torch.relu(self.conv1(x.reshape(b, t * c, h, w)))
        d = torch.relu(self.down(z))
        up = torch.nn.functional.interpolate(d, size=(h, w), mode="nearest")
        return self.head(torch.cat([z, up], dim=1))


def make_bundle(path: Path, seed: int = 7, arch: str | None = None) -> Path:
    """Write the test bundle to ``path`` and return it.

    Args:
        path: destination.
        seed: weight seed.
        arch: a registered architecture (``cropcube.models``) with untrained weights instead of the
            tiny test net (benchmarks: a bundle of realistic size).
    """
    torch.manual_seed(seed)
    spec = REFERENCE_2018_SPEC
    classes = load_class_table()
    net: nn.Module
    if arch is None:
        net = TinyNet(spec.n_dates, spec.n_bands, classes.num_classes)
        with torch.no_grad():  # larger weights: decisive, varied argmax on realistic reflectance
            for p in net.parameters():
                p.mul_(6.0)
    else:
        from cropcube.models import build_model

        net = build_model(arch, n_dates=spec.n_dates, n_bands=spec.n_bands, n_classes=classes.num_classes)
    module = InferenceModule(
        net,
        spec.n_dates,
        spec.n_bands,
        mean=[0.1] * spec.n_channels,
        std=[0.05] * spec.n_channels,
        doy=[float(d) for d in spec.day_of_year()],
        dn_scale=spec.dn_scale,
        nodata=spec.nodata,
    ).eval()
    metadata = BundleMetadata(
        model_name=arch or "udf_test_tiny",
        model_version="0-test",
        spec=spec,
        classes=classes,
        receptive_field=int(net.receptive_field),
        downsampling_factor=int(net.downsampling_factor),
        halo=halo_for(int(net.receptive_field), int(net.downsampling_factor)),
        normalisation={"kind": "standardise", "note": "test bundle"},
        training={"data": "none (random seeded weights, for UDF tests only)"},
    )
    save_bundle(torch.jit.script(module), metadata, path)
    # Its dates, for the C++ hosts' crop.classify_dates tests (they cannot read the bundle themselves).
    path.with_suffix(".doy").write_text(" ".join(f"{d:g}" for d in spec.day_of_year()) + "\n")
    return path


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make_udf_test_bundle.py OUT.pt [OUT_SEED8.pt]")
    make_bundle(Path(sys.argv[1]))
    if len(sys.argv) == 3:  # a second bundle with other weights (reload tests)
        make_bundle(Path(sys.argv[2]), seed=8)

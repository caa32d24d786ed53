"""The bundle file format: atomic save, content hash, verified load, clear errors on foreign files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from cropcube.bundle import BundleMetadata, InferenceModule, halo_for, load_bundle, save_bundle
from cropcube.bundle.io import read_metadata
from cropcube.classes import load_class_table
from cropcube.cube_spec import REFERENCE_2018_SPEC
from cropcube.errors import InputError


class _PixelNet(nn.Module):
    """A per-pixel net that looks only at valid dates (so date masking is observable)."""

    receptive_field: int = 3
    downsampling_factor: int = 4

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(28, 76, 3, padding=1)

    def forward(self, x: Tensor, valid: Tensor, doy: Tensor) -> Tensor:
        b, t, c, h, w = x.shape
        return self.conv(x.reshape(b, t * c, h, w))


def _bundle(tmp_path: Path) -> tuple[Path, torch.jit.ScriptModule]:
    torch.manual_seed(0)
    spec = REFERENCE_2018_SPEC
    module = InferenceModule(_PixelNet(), 7, 4, [0.1] * 28, [0.05] * 28, spec.day_of_year().tolist()).eval()
    scripted = torch.jit.script(module)
    meta = BundleMetadata(
        "pixelnet", "test", spec, load_class_table(), 3, 4, halo_for(3, 4), {"kind": "standardize"}
    )
    path = tmp_path / "b.pt"
    save_bundle(scripted, meta, path)
    return path, scripted


def test_roundtrip_keeps_outputs_and_metadata(tmp_path):
    path, scripted = _bundle(tmp_path)
    b = load_bundle(path)
    assert b.metadata.content_hash.startswith("sha256:") and len(b.metadata.content_hash) == 71
    assert b.metadata.spec == REFERENCE_2018_SPEC and b.metadata.classes.num_classes == 76
    assert read_metadata(path).content_hash == b.metadata.content_hash
    x = torch.randint(0, 12000, (2, 28, 5, 7)).float()
    torch.testing.assert_close(b.module(x), scripted(x))
    assert b.module(x).shape == (2, 76, 5, 7)  # padded to 8x8 inside, cropped back
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left


def test_nodata_dates_are_zeroed_before_the_net(tmp_path):
    path, _ = _bundle(tmp_path)
    m = load_bundle(path).module
    x = torch.randint(1, 12000, (1, 28, 4, 4)).float()
    y = x.clone()
    y[:, 8:12] = 0  # date 3 missing everywhere
    ref = x.clone()
    ref[:, 8:12] = 0.1 / 1e-4  # the band mean: standardised value 0, the same as a masked date
    torch.testing.assert_close(m(y), m(ref))


def test_tampered_bundle_is_rejected(tmp_path):
    path, _ = _bundle(tmp_path)
    tampered = tmp_path / "t.pt"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("cropcube/metadata.json"):
                data = data.replace(b'"version":"test"', b'"version":"evil"')
            dst.writestr(item, data)
    with pytest.raises(InputError, match="content hash mismatch"):
        load_bundle(tampered)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "not a loadable TorchScript"), (b"PK\x03\x04garbage", "not a loadable TorchScript")],
)
def test_corrupt_files_are_named(tmp_path, content, match):
    p = tmp_path / "bad.pt"
    p.write_bytes(content)
    with pytest.raises(InputError, match=match) as err:
        load_bundle(p)
    assert str(p) in str(err.value)


def test_foreign_torchscript_without_metadata(tmp_path):
    p = tmp_path / "foreign.pt"
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), str(p))
    with pytest.raises(InputError, match="not a cropcube bundle"):
        load_bundle(p)
    with pytest.raises(InputError, match="not a cropcube bundle"):
        read_metadata(p)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_bundle(tmp_path / "nope.pt")


def test_wrong_band_count_is_a_clear_runtime_error(tmp_path):
    path, _ = _bundle(tmp_path)
    with pytest.raises(torch.jit.Error, match="wrong number of input bands"):
        load_bundle(path).module(torch.zeros(1, 27, 4, 4))


def test_halo_rounds_to_downsampling_factor():
    assert halo_for(3, 4) == 4
    assert halo_for(45, 4) == 24
    assert halo_for(64, 8) == 32


def test_cloudy_dates_are_masked_like_missing_dates():
    torch.manual_seed(0)
    spec = REFERENCE_2018_SPEC
    doy = spec.day_of_year().tolist()
    stats = ([0.1] * 28, [0.05] * 28)
    module = InferenceModule(_PixelNet(), 7, 4, *stats, doy, cloud_band=0, cloud_threshold=0.2)
    module.eval()
    clear = torch.randint(200, 1500, (1, 28, 8, 8)).float()
    cloudy = clear.clone()
    cloudy[:, 12:16, :4] = 4000.0  # date 4: B02 reflectance 0.4 on the left half
    missing = clear.clone()
    missing[:, 12:16, :4] = 0.0
    torch.testing.assert_close(module(cloudy), module(missing))
    assert not torch.allclose(module(cloudy), module(clear))
    with pytest.raises(ValueError, match="cloud_band"):
        InferenceModule(_PixelNet(), 7, 4, [0.1] * 28, [0.05] * 28, doy, cloud_band=4, cloud_threshold=0.2)

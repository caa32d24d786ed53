"""Trust no bundle: the content hash and format are checked by both backends, and the module's real
output is held to its metadata before anything is written (issue 16).

Every case is a real bundle made from the fixture bundle: weights changed behind the hash, a newer
format, and modules whose output breaks the contract their (correctly hashed) metadata declares.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import field_cube
from torch import Tensor, nn

from cropcube.bundle import load_bundle, save_bundle
from cropcube.bundle.metadata import METADATA_FILE
from cropcube.errors import CropcubeError
from cropcube.inference import Classifier

BACKENDS = ["native", "python"]


def _backend(request: pytest.FixtureRequest, backend: str) -> None:
    if backend == "native":
        request.getfixturevalue("native_lib")


def _resave(src: Path, dst: Path, edit_module=None, edit_metadata=None) -> Path:
    """The fixture bundle re-saved with its module and/or metadata text edited, the stored hash kept."""
    extra = {METADATA_FILE: ""}
    module = torch.jit.load(str(src), _extra_files=extra)
    text = extra[METADATA_FILE]
    if edit_module is not None:
        with torch.no_grad():
            edit_module(module)
    if edit_metadata is not None:
        d = json.loads(text)
        edit_metadata(d)
        text = json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    torch.jit.save(module, str(dst), _extra_files={METADATA_FILE: text})
    return dst


def _scale_first_weight(module: torch.jit.ScriptModule) -> None:
    next(iter(module.parameters())).mul_(-1000.0)


class _Broken(nn.Module):
    """The fixture module with its output cut or grown: the metadata (and hash) stay honest otherwise."""

    def __init__(self, inner: torch.jit.ScriptModule, how: str) -> None:
        super().__init__()
        self.inner = inner
        self.n_dates, self.n_bands, self.nodata = inner.n_dates, inner.n_bands, inner.nodata
        self.register_buffer("doy", inner.doy.clone())
        self.how = how

    def forward(self, x: Tensor) -> Tensor:
        y = self.inner(x)
        if self.how == "fewer_channels":
            return y[:, :-1]
        if self.how == "more_channels":
            return torch.cat([y, y[:, :1]], dim=1)
        if self.how == "smaller":
            return y[:, :, :-1, :-1]
        if self.how == "integer":
            return y.round().to(torch.int64)
        return y[0]  # "three_d"


def _broken_bundle(src: Path, dst: Path, how: str) -> Path:
    bundle = load_bundle(src)
    save_bundle(torch.jit.script(_Broken(bundle.module, how)), bundle.metadata, dst)
    return dst


@pytest.mark.parametrize("backend", BACKENDS)
def test_weights_changed_behind_the_hash_are_refused(request, backend, bundle_path, tmp_path):
    _backend(request, backend)
    bad = _resave(bundle_path, tmp_path / "scaled.pt", edit_module=_scale_first_weight)
    with pytest.raises(CropcubeError, match="content hash mismatch"):
        Classifier(bad, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_metadata_changed_behind_the_hash_is_refused(request, backend, bundle_path, tmp_path):
    _backend(request, backend)
    bad = _resave(bundle_path, tmp_path / "meta.pt", edit_metadata=lambda d: d["model"].update(halo=0))
    with pytest.raises(CropcubeError, match="content hash mismatch"):
        Classifier(bad, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_newer_bundle_format_is_refused(request, backend, bundle_path, tmp_path):
    _backend(request, backend)
    bad = _resave(bundle_path, tmp_path / "v9.pt", edit_metadata=lambda d: d.update(format_version=9))
    with pytest.raises(CropcubeError, match="format version"):
        Classifier(bad, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_honest_bundle_loads_with_the_metadata_of_its_module(request, backend, bundle_path):
    _backend(request, backend)
    clf = Classifier(bundle_path, backend=backend)
    assert clf.metadata.content_hash == load_bundle(bundle_path).metadata.content_hash


@pytest.mark.parametrize("how", ["fewer_channels", "more_channels", "smaller", "integer", "three_d"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_module_output_that_breaks_the_metadata_is_refused_before_writing(
    request, backend, how, bundle_path, tmp_path
):
    _backend(request, backend)
    clf = Classifier(_broken_bundle(bundle_path, tmp_path / f"{how}.pt", how), backend=backend)
    cube = field_cube(40, 36, seed=3)
    with pytest.raises(CropcubeError, match="module output"):
        clf.classify_array(cube)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_negative_digital_numbers_are_refused(request, backend, dtype, bundle_path):
    _backend(request, backend)
    cube = field_cube(30, 30, seed=4).astype(dtype)
    cube[5, 7, 9] = -3
    with pytest.raises(CropcubeError, match="1 negative values, the first at row 7 col 9"):
        Classifier(bundle_path, backend=backend).classify_array(cube)

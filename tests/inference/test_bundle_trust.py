"""Trust no bundle: the content hash and format are checked by both backends, and the module's real
output is held to its metadata before anything is written (issue 16).

Every case is a real bundle made from the fixture bundle: weights changed behind the hash, a newer
format, and modules whose output breaks the contract their (correctly hashed) metadata declares.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import field_cube
from crafted_bundles import BROKEN_OUTPUTS, broken_bundle, craft_all, resave, scale_first_weight

from cropcube.bundle import load_bundle
from cropcube.errors import CropcubeError
from cropcube.inference import Classifier

BACKENDS = ["native", "python"]


def _backend(request: pytest.FixtureRequest, backend: str) -> None:
    if backend == "native":
        request.getfixturevalue("native_lib")


@pytest.mark.parametrize("backend", BACKENDS)
def test_weights_changed_behind_the_hash_are_refused(request, backend, bundle_path, tmp_path):
    _backend(request, backend)
    bad = resave(bundle_path, tmp_path / "scaled.pt", edit_module=scale_first_weight)
    with pytest.raises(CropcubeError, match="content hash mismatch"):
        Classifier(bad, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_metadata_changed_behind_the_hash_is_refused(request, backend, bundle_path, tmp_path):
    _backend(request, backend)
    bad = resave(bundle_path, tmp_path / "meta.pt", edit_metadata=lambda d: d["model"].update(halo=0))
    with pytest.raises(CropcubeError, match="content hash mismatch"):
        Classifier(bad, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_newer_bundle_format_is_refused(request, backend, bundle_path, tmp_path):
    _backend(request, backend)
    bad = resave(bundle_path, tmp_path / "v9.pt", edit_metadata=lambda d: d.update(format_version=9))
    with pytest.raises(CropcubeError, match="format version"):
        Classifier(bad, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_honest_bundle_loads_with_the_metadata_of_its_module(request, backend, bundle_path):
    _backend(request, backend)
    clf = Classifier(bundle_path, backend=backend)
    assert clf.metadata.content_hash == load_bundle(bundle_path).metadata.content_hash


@pytest.mark.parametrize("how", BROKEN_OUTPUTS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_module_output_that_breaks_the_metadata_is_refused_before_writing(
    request, backend, how, bundle_path, tmp_path
):
    _backend(request, backend)
    clf = Classifier(broken_bundle(bundle_path, tmp_path / f"{how}.pt", how), backend=backend)
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


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_crafted_bundle_is_refused_at_its_stage_and_nothing_is_written(
    request, backend, bundle_path, tmp_path
):
    """The set the C++ ABI test (udf/tests/test_kernel_crafted.cpp) runs too, here through the Classifier."""
    _backend(request, backend)
    cube = field_cube(24, 24, seed=5)
    for stage, path in craft_all(bundle_path, tmp_path / "crafted"):
        if stage == "open":
            with pytest.raises(CropcubeError):
                Classifier(path, backend=backend)
        else:
            with pytest.raises(CropcubeError, match="module output"):
                Classifier(path, backend=backend).classify_array(cube)

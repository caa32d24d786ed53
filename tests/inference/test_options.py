"""The one inference options object: built once (given over configured over defaults), passed unchanged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cropcube.errors import InputError
from cropcube.inference import Classifier
from cropcube.inference.config import read_settings
from cropcube.inference.options import InferenceOptions


def test_given_options_override_the_configuration_which_overrides_defaults(tmp_path: Path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text("threads = 2\nprecision = bfloat16\ntile_size = 256\n")
    settings = read_settings({"CROPCUBE_CONFIG": str(conf), "CROPCUBE_BATCH_SIZE": "3"})
    opts = InferenceOptions.build(settings, tile_size=128, backend="native", device=None)
    assert opts == InferenceOptions(
        backend="native", device="auto", threads=2, precision="bfloat16", tile_size=128, batch_size=3
    )
    assert InferenceOptions.build(read_settings({"HOME": str(tmp_path)})) == InferenceOptions()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backend", "gpu"),
        ("device", "tpu"),
        ("precision", "int8"),
        ("nonfinite", "zero"),
        ("threads", -1),
        ("threads", 5000),
        ("tile_size", 16385),
        ("batch_size", 2.5),
        ("batch_size", True),
    ],
)
def test_bad_options_are_refused_by_name(field: str, value: object) -> None:
    with pytest.raises(InputError) as err:
        InferenceOptions().replace(**{field: value})
    assert err.value.what == field and repr(value) in err.value.problem


def test_an_unknown_option_is_refused() -> None:
    with pytest.raises(InputError, match="tilesize"):
        InferenceOptions().replace(tilesize=64)


@pytest.mark.parametrize("backend", ["python", "native"])
def test_the_backend_runs_with_the_options_given(backend: str, bundle_path: Path, request) -> None:
    if backend == "native":
        request.getfixturevalue("native_lib")
    opts = InferenceOptions(backend=backend, device="cpu", threads=1, tile_size=30, batch_size=2)
    clf = Classifier(bundle_path, opts)
    assert clf.options == opts  # unchanged (backend already resolved)
    # The one rounding rule: 30 up to the fixture's downsampling factor 4; the kernel reports it.
    assert (clf.backend, clf.device, clf.tile_size, clf.batch_size) == (backend, "cpu", 32, 2)
    if backend == "native":
        info = clf._runner.info  # type: ignore[union-attr]
        assert (info.threads, info.precision, info.nonfinite) == (1, "float32", "error")


def test_a_requested_native_backend_that_is_missing_is_an_error(
    bundle_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROPCUBE_KERNEL_LIB", "/nonexistent/libcropcube_kernel.so")
    with pytest.raises(InputError, match="kernel library not found"):
        Classifier(bundle_path, backend="native")


def test_auto_falling_back_to_python_says_so_at_warning(
    bundle_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CROPCUBE_KERNEL_LIB", "/nonexistent/libcropcube_kernel.so")
    with caplog.at_level(logging.WARNING, logger="cropcube.inference.classifier"):
        clf = Classifier(bundle_path, backend="auto")
    assert clf.backend == "python"
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warned and "/nonexistent/libcropcube_kernel.so" in warned[0].getMessage()
    assert "Python backend" in warned[0].getMessage()

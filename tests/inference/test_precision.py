"""precision=auto: bfloat16 only for a bundle that records bfloat16 parity, on a CPU with native bfloat16."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import field_cube

from cropcube.bundle import load_bundle, save_bundle
from cropcube.inference import Classifier


def _cpu_has_bfloat16() -> bool:
    flags = next(
        (ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), ""
    ).split()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _with_record(src: Path, dst: Path, agreement: float, change: float) -> Path:
    bundle = load_bundle(src)
    meta = bundle.metadata
    meta.metrics = {
        **meta.metrics,
        "precision": {"bfloat16_agreement": agreement, "bfloat16_max_accuracy_change": change},
    }
    save_bundle(bundle.module, meta, dst)
    return dst


@pytest.mark.parametrize(
    ("agreement", "change", "parity"), [(0.996, 0.05, True), (0.95, 0.05, False), (0.999, 0.4, False)]
)
def test_auto_uses_bfloat16_only_where_parity_is_recorded(
    bundle_path, native_lib, tmp_path, agreement, change, parity
):
    model = _with_record(bundle_path, tmp_path / "recorded.pt", agreement, change)
    cube = field_cube(120, 100, seed=5)
    probs = {
        p: Classifier(model, backend="native", threads=1, precision=p).predict_proba(cube)
        for p in ("auto", "float32", "bfloat16")
    }
    assert not np.array_equal(probs["float32"], probs["bfloat16"])  # bfloat16 really runs
    expected = "bfloat16" if parity and _cpu_has_bfloat16() else "float32"
    np.testing.assert_array_equal(probs["auto"], probs[expected])


def test_auto_is_float32_for_a_bundle_without_a_record(bundle_path, native_lib):
    cube = field_cube(64, 64, seed=6)
    auto = Classifier(bundle_path, backend="native", threads=1).predict_proba(cube)
    f32 = Classifier(bundle_path, backend="native", threads=1, precision="float32").predict_proba(cube)
    np.testing.assert_array_equal(auto, f32)

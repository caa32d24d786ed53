"""The shipped demo bundle: present, complete, labelled synthetic-trained, and it classifies."""

from __future__ import annotations

import numpy as np
import pytest

from cropcube.bundle import load_bundle
from cropcube.evaluation import segmentation_metrics
from cropcube.inference import Classifier, kernel_library_path
from cropcube.models import DEFAULT_MODEL, default_bundle_path
from cropcube.synthetic import SceneConfig, generate_scene


@pytest.fixture
def native_kernel() -> None:
    if not kernel_library_path().is_file():
        pytest.skip(f"C++ kernel not built at {kernel_library_path()}: run `cropcube kernel build`")


def test_default_bundle_is_shipped_and_labelled_synthetic():
    path = default_bundle_path()
    assert path.is_file() and path.stat().st_size < 5e6
    meta = load_bundle(path).metadata  # verifies the content hash too
    assert meta.model_name == DEFAULT_MODEL
    assert meta.training["synthetic"] is True and "synthetic" in meta.model_version
    assert meta.metrics["overall_accuracy"] > 0.5
    card = path.with_suffix(".md").read_text()
    assert "SYNTHETIC-TRAINED" in card


def test_default_bundle_classifies_an_unseen_synthetic_scene(native_kernel):
    """A scene with another seed than the training scene: far better than chance or the majority class.

    Scored through the shipped path: the C++ kernel, as `cropcube classify` runs the bundle.
    """
    scene = generate_scene(SceneConfig(seed=11, height=96, width=96))
    clf = Classifier(default_bundle_path(), backend="native", tile_size=96)
    pred = clf.classify_array(scene.cube)
    scores = segmentation_metrics(scene.labels, pred, 76)
    majority = np.bincount(scene.labels[scene.labels > 0]).max() / (scene.labels > 0).sum()
    assert scores.overall_accuracy > max(0.4, majority + 0.1)

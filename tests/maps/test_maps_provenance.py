"""The synthetic-only bundle is recognised, and real data classified with it gets a loud warning."""

from __future__ import annotations

from importlib import resources
from types import SimpleNamespace

import rasterio

from cropcube.bundle.io import read_metadata
from cropcube.maps.provenance import (
    is_synthetic_cube,
    synthetic_model_warning,
    trained_on_synthetic_only,
    training_tag,
)

FLEVOLAND = "flevoland_2018_s2_100px/s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"


def _shipped():
    return read_metadata(
        str(resources.files("cropcube").joinpath("resources/models/cropcube_default_synthetic.pt"))
    )


def test_the_shipped_bundle_is_synthetic_only():
    meta = _shipped()
    assert trained_on_synthetic_only(meta)
    assert training_tag(meta) == {"CROPCUBE_MODEL_TRAINING": "synthetic"}


def test_real_flevoland_data_gets_the_warning(shared_data):
    with rasterio.open(shared_data / FLEVOLAND) as ds:
        tags = ds.tags()
    assert not is_synthetic_cube(tags)
    warning = synthetic_model_warning(_shipped(), shared_data / FLEVOLAND, tags)
    assert warning is not None and "SYNTHETIC" in warning and "NOT a meaningful crop map" in warning
    assert "s2_flevoland_2018_100x100" in warning and "--model" in warning


def test_synthetic_scenes_and_real_models_get_none(tmp_path):
    from cropcube.synthetic.scene import SceneConfig, generate_scene
    from cropcube.synthetic.writer import write_scene

    paths = write_scene(generate_scene(SceneConfig(seed=1, height=32, width=32, supersample=1)), tmp_path)
    with rasterio.open(paths["cube"]) as ds:
        tags = ds.tags()
    assert is_synthetic_cube(tags)
    assert synthetic_model_warning(_shipped(), paths["cube"], tags) is None
    real = SimpleNamespace(
        model_name="tae_fpn", model_version="1.0.0", training={"data": "brp 2018", "synthetic": False}
    )
    assert not trained_on_synthetic_only(real)
    assert synthetic_model_warning(real, "real.tif", {}) is None
    # Older bundles without the flag are judged by their data description and version.
    old = SimpleNamespace(model_name="x", model_version="0.1.0-synthetic", training={})
    assert trained_on_synthetic_only(old)

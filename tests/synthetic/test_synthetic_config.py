"""Scene configuration: validation of every knob, with errors naming the knob."""

from __future__ import annotations

from pathlib import Path

import pytest

from cropcube.errors import InputError
from cropcube.synthetic import SceneConfig


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"height": 0}, "height"),
        ({"width": 100_000}, "width"),
        ({"height": 12.5}, "height"),
        ({"seed": -1}, "seed"),
        ({"cloud_fraction": 1.5}, "cloud_fraction"),
        ({"cloud_fraction": (0.1, 0.2)}, "cloud_fraction"),
        ({"haze": -0.1}, "haze"),
        ({"noise": -1.0}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"phenology_shift_days": 400.0}, "phenology_shift_days"),
        ({"drought": 2.0}, "drought"),
        ({"supersample": 8}, "supersample"),
        ({"dates": ("2018-05-01", "2018-03-01")}, "cube dates"),
        ({"dates": ("2018-13-01",)}, "cube dates"),
        ({"dates": ()}, "cube dates"),
    ],
)
def test_bad_knob_is_named(kwargs: dict[str, object], what: str) -> None:
    with pytest.raises(InputError) as err:
        SceneConfig(**kwargs)  # type: ignore[arg-type]
    assert err.value.what == what


def test_per_date_values_and_dates_from_strings() -> None:
    dates = ("2018-04-01", "2018-07-01")  # strings are accepted and parsed
    cfg = SceneConfig(dates=dates, cloud_fraction=(0.0, 0.5), haze=0.2)  # type: ignore[arg-type]
    assert [d.isoformat() for d in cfg.dates] == ["2018-04-01", "2018-07-01"]
    assert cfg.per_date("cloud_fraction") == (0.0, 0.5)
    assert cfg.per_date("haze") == (0.2, 0.2)
    assert cfg.spec.descriptions()[:2] == ["2018-04-01_B02", "2018-04-01_B03"]
    assert cfg.to_dict()["dates"] == ["2018-04-01", "2018-07-01"]


def test_a_written_scene_lies_on_the_reference_grid_the_model_expects(tmp_path: Path) -> None:
    from rasterio.transform import Affine

    from cropcube.cube_spec import REFERENCE_2018_GRID, REFERENCE_2018_SPEC
    from cropcube.readers import Grid, open_cube
    from cropcube.readers.grid import require_model_grid
    from cropcube.synthetic import generate_scene, write_scene

    g = REFERENCE_2018_GRID
    res = float(g["resolution"])
    area = Grid(
        str(g["crs"]),
        Affine(res, 0, g["origin_e"], 0, -res, g["origin_n"]),
        int(g["width"]),
        int(g["height"]),
    )
    paths = write_scene(generate_scene(SceneConfig(seed=3, height=24, width=40, supersample=1)), tmp_path)
    written = open_cube(paths["cube"]).grid
    assert written.shape == (24, 40)
    assert area.contains(written)  # same CRS and pixel size, whole-pixel aligned, inside the area
    require_model_grid(written, REFERENCE_2018_SPEC, str(paths["cube"]), "the demo bundle")

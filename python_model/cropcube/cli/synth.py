"""`cropcube synth`: write a synthetic Noordoostpolder scene (cube, labels, parcel ids, parcels)."""

from __future__ import annotations

import typer

from cropcube.cli import options
from cropcube.cube_spec import REFERENCE_2018_DATES

NONE = options.Fractions([0.0])
REFERENCE_DATES = options.parse_dates(",".join(REFERENCE_2018_DATES))


def synth(
    out_dir: options.SceneDirArg,
    size: options.SceneSize = 512,
    height: options.SceneHeight = None,
    width: options.SceneWidth = None,
    seed: options.Seed = 0,
    cloud_fraction: options.CloudFraction = NONE,
    haze: options.Haze = NONE,
    shadow: options.Shadow = True,
    phenology_shift: options.PhenologyShift = 0.0,
    drought: options.Drought = 0.0,
    noise: options.Noise = 1.0,
    dates: options.DatesOpt = REFERENCE_DATES,
) -> None:
    """Generate a synthetic Sentinel-2 scene of the Noordoostpolder with BRP-like ground truth."""
    from cropcube.synthetic import SceneConfig, generate_scene, write_scene

    def per_date(values: tuple[float, ...]) -> float | tuple[float, ...]:
        return values[0] if len(values) == 1 else values

    cfg = SceneConfig(
        seed=seed,
        height=height if height is not None else size,
        width=width if width is not None else size,
        dates=tuple(dates),
        cloud_fraction=per_date(cloud_fraction),
        haze=per_date(haze),
        shadow=shadow,
        phenology_shift_days=phenology_shift,
        drought=drought,
        noise=noise,
    )
    from tqdm import tqdm

    # Two steps of similar length (a 2000 x 2000 scene: about 14 s + 12 s): say which one is running.
    with tqdm(
        total=2, desc=f"generating {cfg.height} x {cfg.width} px, {len(cfg.dates)} dates", unit="step"
    ) as bar:
        scene = generate_scene(cfg)
        bar.update(1)
        bar.set_description(f"writing to {out_dir}")
        paths = write_scene(scene, out_dir)
        bar.update(1)
    for key, path in paths.items():
        typer.echo(f"{key}: {path}")


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.command("synth")(synth)

"""`cropcube synth`: write a synthetic Noordoostpolder scene (cube, labels, parcel ids, parcels)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cropcube.cube_spec import REFERENCE_2018_DATES, REFERENCE_2018_SPEC
from cropcube.errors import InputError


def _floats(text: str, what: str) -> float | tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(what, f"{text!r} is not a number or a comma-separated list of numbers") from None
    return values[0] if len(values) == 1 else values


def synth(
    out_dir: Annotated[
        Path,
        typer.Argument(help="Folder for cube.tif, labels.tif, parcel_ids.tif, parcels.gpkg, scene.json."),
    ],
    size: Annotated[int, typer.Option("--size", help="Square side in 10 m pixels.")] = 512,
    height: Annotated[int | None, typer.Option("--height", help="Rows (overrides --size).")] = None,
    width: Annotated[int | None, typer.Option("--width", help="Columns (overrides --size).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, byte-identical files.")] = 0,
    cloud_fraction: Annotated[
        str,
        typer.Option("--cloud-fraction", help="Cloud cover 0..1: one value, or one per date (F1,F2,...)."),
    ] = "0",
    haze: Annotated[
        str, typer.Option("--haze", help="Haze strength 0..1: one value, or one per date.")
    ] = "0",
    shadow: Annotated[bool, typer.Option("--shadow/--no-shadow", help="Cast cloud shadows.")] = True,
    phenology_shift: Annotated[
        float, typer.Option("--phenology-shift", help="Shift every crop calendar by DAYS (positive = later).")
    ] = 0.0,
    drought: Annotated[
        float, typer.Option("--drought", help="Summer drought 0..1 (1 = like 2018: brown grassland).")
    ] = 0.0,
    noise: Annotated[
        float, typer.Option("--noise", help="Sensor noise (1 = Sentinel-2-like, 0 = none).")
    ] = 1.0,
    dates: Annotated[
        str, typer.Option("--dates", help="Comma-separated acquisition dates YYYY-MM-DD.")
    ] = ",".join(REFERENCE_2018_DATES),
) -> None:
    """Generate a synthetic Sentinel-2 scene of the Noordoostpolder with BRP-like ground truth."""
    from cropcube.synthetic import SceneConfig, generate_scene, write_scene

    cfg = SceneConfig(
        seed=seed,
        height=height if height is not None else size,
        width=width if width is not None else size,
        dates=REFERENCE_2018_SPEC.with_dates([d.strip() for d in dates.split(",") if d.strip()]).dates,
        cloud_fraction=_floats(cloud_fraction, "--cloud-fraction"),
        haze=_floats(haze, "--haze"),
        shadow=shadow,
        phenology_shift_days=phenology_shift,
        drought=drought,
        noise=noise,
    )
    paths = write_scene(generate_scene(cfg), out_dir)
    for key, path in paths.items():
        typer.echo(f"{key}: {path}")


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.command("synth")(synth)

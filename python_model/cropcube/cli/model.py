"""`cropcube train`, `cropcube evaluate`, `cropcube export`: the model's life cycle on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cropcube.errors import InputError


def _label_codes(value: str | None) -> dict[int, int] | None:
    if value is None:
        return None
    if value == "worldcereal":
        from cropcube.readers.flanders import worldcereal_lookup

        return worldcereal_lookup()
    path = Path(value)
    if not path.is_file():
        raise InputError("--label-codes", f"{value!r} is neither 'worldcereal' nor a JSON file")
    try:
        return {int(k): int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (ValueError, AttributeError) as exc:
        raise InputError(str(path), f"not a JSON object of code -> class index: {exc}") from None


def train_cmd(
    config: Annotated[Path, typer.Argument(help="Training config (.yaml/.yml/.toml).")],
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", "-o", help="Run folder (overrides the config).")
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Override train.epochs.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue from <out-dir>/checkpoint.pt.")
    ] = True,
    export: Annotated[
        bool, typer.Option("--export/--no-export", help="Write <out-dir>/model.pt + model.md at the end.")
    ] = True,
) -> None:
    """Train a model on a cube + label raster (or the synthetic scene) as the config says."""
    from cropcube.trainers import load_config, train
    from cropcube.trainers.export import export_result

    cfg = load_config(config)
    if out_dir is not None:
        cfg.out_dir = str(out_dir)
    if epochs is not None:
        cfg.train.epochs = epochs
    result = train(cfg, resume=resume)
    px = result.test["pixel"]
    typer.echo(f"test blocks: OA {100 * px.overall_accuracy:.1f} %, mIoU {100 * px.miou:.1f} %")
    if "voted" in result.test:
        typer.echo(
            f"with parcel voting: OA {100 * result.test['voted'].overall_accuracy:.1f} %, "
            f"parcel accuracy {100 * result.test['parcel_accuracy']:.1f} %"
        )
    typer.echo(f"metrics per epoch: {Path(cfg.out_dir) / 'metrics.csv'}")
    if export:
        bundle = Path(cfg.out_dir) / "model.pt"
        meta = export_result(result, bundle, cfg.model.version)
        typer.echo(f"bundle: {bundle} ({meta.content_hash[:19]}...), model card {bundle.with_suffix('.md')}")


def evaluate_cmd(
    bundle: Annotated[Path, typer.Argument(help="Model bundle (.pt).")],
    cube: Annotated[Path, typer.Option("--cube", help="Cube GeoTIFF in the bundle's layout.")],
    labels: Annotated[Path, typer.Option("--labels", help="Label raster on the cube's grid.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("evaluation"),
    parcel_ids: Annotated[
        Path | None, typer.Option("--parcel-ids", help="Parcel-id raster (enables voting).")
    ] = None,
    parcels: Annotated[
        Path | None, typer.Option("--parcels", help="BRP GeoPackage (rasterised; enables voting).")
    ] = None,
    label_codes: Annotated[
        str | None,
        typer.Option(
            "--label-codes", help="'worldcereal' or a JSON file code -> class index, if labels are codes."
        ),
    ] = None,
    tile: Annotated[int, typer.Option("--tile", help="Inference tile size in pixels.")] = 256,
) -> None:
    """Score a bundle: OA, mIoU, per-class IoU/F1, confusion matrix, parcel voting; JSON + Markdown."""
    from cropcube.evaluation.evaluate import evaluate_bundle

    report = evaluate_bundle(bundle, cube, labels, out, parcel_ids, parcels, _label_codes(label_codes), tile)
    px = report["pixel"]
    typer.echo(
        f"OA {100 * px['overall_accuracy']:.2f} %, mIoU {100 * px['miou']:.2f} % "
        f"({px['classes_present']} classes, {px['labelled_pixels']} labelled pixels)"
    )
    if "parcel" in report:
        typer.echo(
            f"parcel voting: pixel OA {100 * report['parcel']['voted_pixel']['overall_accuracy']:.2f} %, "
            f"parcel accuracy {100 * report['parcel']['parcel_accuracy']:.2f} % "
            f"({report['parcel']['parcels']} parcels)"
        )
    typer.echo(f"report: {out / 'report.md'}")


def export_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="Training checkpoint (<run>/checkpoint.pt).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Bundle to write (.pt); the model card goes beside it.")
    ],
    version: Annotated[str, typer.Option("--version", help="Version string of these weights.")] = "0.1.0",
) -> None:
    """Export a checkpoint's best weights as ONE TorchScript bundle + model card (parity-checked)."""
    from cropcube.trainers.export import export_checkpoint

    meta = export_checkpoint(checkpoint, out, version)
    typer.echo(
        f"bundle: {out} ({meta.model_name} {meta.model_version}, {meta.parameters:,} parameters, "
        f"RF {meta.receptive_field} px, halo {meta.halo} px, {meta.content_hash[:19]}...)"
    )
    typer.echo(f"model card: {out.with_suffix('.md')}")


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.command("train")(train_cmd)
    app.command("evaluate")(evaluate_cmd)
    app.command("export")(export_cmd)

"""`cropcube train`, `evaluate`, `export`, `stac`: the model's life cycle on the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from cropcube.cli import options


def train_cmd(
    config: options.ConfigArg,
    out_dir: options.RunDir = None,
    epochs: options.Epochs = None,
    resume: options.Resume = True,
    export: options.Export = True,
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
    bundle: options.BundleArg,
    cube: options.Cube,
    labels: options.Labels,
    out: options.ReportDir = Path("evaluation"),
    parcel_ids: options.ParcelIdsIn = None,
    parcels: options.Parcels = None,
    label_codes: options.LabelCodes = None,
    tile: options.EvalTile = 256,
    dates: options.CubeDatesOpt = None,
) -> None:
    """Score a bundle: OA, mIoU, per-class IoU/F1, confusion matrix, parcel voting; JSON + Markdown."""
    from cropcube.evaluation.evaluate import evaluate_bundle

    report = evaluate_bundle(bundle, cube, labels, out, parcel_ids, parcels, label_codes, tile, dates=dates)
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
    checkpoint: options.CheckpointArg,
    out: options.BundleOut,
    version: options.Version = "0.1.0",
    onnx: options.OnnxOut = None,
) -> None:
    """Export a checkpoint's best weights as ONE TorchScript bundle + model card (parity-checked)."""
    from cropcube.trainers.export import export_checkpoint

    meta = export_checkpoint(checkpoint, out, version)
    typer.echo(
        f"bundle: {out} ({meta.model_name} {meta.model_version}, {meta.parameters:,} parameters, "
        f"RF {meta.receptive_field} px, halo {meta.halo} px, {meta.content_hash[:19]}...)"
    )
    typer.echo(f"model card: {out.with_suffix('.md')}")
    if onnx is not None:
        from cropcube.bundle.onnx import export_onnx

        typer.echo(export_onnx(out, onnx).summary())
    typer.echo(f"STAC MLM Item: {_write_bundle_stac(out, None, onnx)}")


def _write_bundle_stac(bundle: Path, out: Path | None, onnx: Path | None = None) -> Path:
    from cropcube.maps.stac import bundle_item, stac_path, write_stac

    return write_stac(out or stac_path(bundle), bundle_item(bundle, onnx=onnx))


def stac_cmd(bundle: options.BundleArg, out: options.StacOut = None) -> None:
    """Describe a bundle as a STAC MLM Item (inputs with bands and dates, classes, files)."""
    typer.echo(f"STAC MLM Item: {_write_bundle_stac(bundle, out)}")


def register(app: typer.Typer) -> None:
    """Add this topic's subcommands to the app."""
    app.command("train")(train_cmd)
    app.command("evaluate")(evaluate_cmd)
    app.command("export")(export_cmd)
    app.command("stac")(stac_cmd)

"""The training loop: blocked split, chips, augmentation, loss, validation, checkpoints with resume."""

from __future__ import annotations

import csv
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from tqdm import tqdm

from cropcube.bundle import InferenceModule, halo_for
from cropcube.bundle.export import build_wrapper
from cropcube.calendar import Calendar
from cropcube.classes import ClassTable, load_class_table
from cropcube.cube_spec import CubeSpec
from cropcube.datasets import (
    AugmentConfig,
    BlockSplit,
    SceneData,
    augment_batch,
    blocked_split,
    chip_batches,
    chip_weights,
)
from cropcube.errors import InputError
from cropcube.evaluation.metrics import SegmentationMetrics, confusion_matrix, scores_from_confusion
from cropcube.evaluation.predict import classes_from_probabilities, predict_probabilities
from cropcube.evaluation.voting import ParcelVoter, parcel_accuracy, parcel_truth
from cropcube.io import atomic_output
from cropcube.models import build_model
from cropcube.trainers.calendars import calendar_sampling, per_band
from cropcube.trainers.checkpoint import load_checkpoint, save_checkpoint
from cropcube.trainers.config import TrainConfig
from cropcube.trainers.data import class_pixel_counts, normalisation_stats, scene_from_config
from cropcube.trainers.losses import SegmentationLoss, class_weights

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.csv"


@dataclass
class TrainResult:
    """What a finished run produced.

    Attributes:
        module: the inference module with the best validation weights (eval mode).
        spec: the cube layout trained on.
        normalisation: the normalisation inside ``module``.
        history: one dict of metrics per epoch.
        test: test-split metrics of the best weights (pixel and, with parcel ids, voted).
        summary: training-data summary for the bundle.
        out_dir: run folder.
        calendar: the calendars a model trained on calendar subsets accepts (bundle format 2), or None.
    """

    module: InferenceModule
    spec: CubeSpec
    normalisation: dict[str, Any]
    history: list[dict[str, Any]]
    test: dict[str, Any]
    summary: dict[str, Any]
    out_dir: Path
    model_name: str = ""
    model_options: dict[str, Any] = field(default_factory=dict)
    calendar: Calendar | None = None


def build_inference_module(
    name: str,
    options: dict[str, Any],
    spec: CubeSpec,
    normalisation: dict[str, Any],
    num_classes: int,
    calendar: Calendar | None = None,
) -> InferenceModule:
    """The network wrapped with the cube's normalisation: raw DN in, logits out (format 2: ``calendar``)."""
    net = build_model(name, n_dates=spec.n_dates, n_bands=spec.n_bands, n_classes=num_classes, **options)
    return build_wrapper(net, spec, normalisation, calendar)


def region_metrics(
    module: nn.Module, scene: SceneData, split: BlockSplit, name: str, num_classes: int, vote: bool = False
) -> dict[str, Any]:
    """Pixel metrics (and, with ``vote`` and parcel ids, parcel-voted metrics) over one split's blocks.

    Each block is predicted with the model's halo of context around it (context pixels may lie in
    other splits: they are input, never labels).
    """
    inner = split.block_size - 2 * split.buffer
    rf: int = getattr(module, "receptive_field")  # noqa: B009
    d: int = getattr(module, "downsampling_factor")  # noqa: B009
    halo = halo_for(rf, d)
    n = num_classes + 1
    cm = np.zeros((n, n), dtype=np.int64)
    cm_vote = np.zeros((n, n), dtype=np.int64)
    voter = ParcelVoter(num_classes)
    pieces = []
    h, w = scene.shape
    was_training = module.training
    module.eval()
    for r, c in split.windows(name, inner):
        # Scored by the shipped Python runner on a core window of the scene (its halo as context).
        # The core starts on the scene's pooling grid (a multiple of the downsampling factor), as a
        # tile of the whole scene would; the block is cut out of it.
        r0, c0 = r // d * d, c // d * d
        window = (r0, c0, min(h, r + inner) - r0, min(w, c + inner) - c0)
        probs = predict_probabilities(
            module, scene.cube, scene.spec.n_channels, halo, d, num_classes, tile=512, core=window
        )
        core = probs[:, r - r0 : r - r0 + inner, c - c0 : c - c0 + inner]
        labels = scene.labels[r : r + inner, c : c + inner]
        pred = classes_from_probabilities(core)
        cm += confusion_matrix(labels, pred, num_classes)
        if vote and scene.parcel_ids is not None:
            ids = scene.parcel_ids[r : r + inner, c : c + inner]
            voter.add(core, ids)
            pieces.append((pred, ids, labels))
    module.train(was_training)
    out: dict[str, Any] = {"pixel": scores_from_confusion(cm)}
    if vote and pieces:
        truth: dict[int, int] = {}
        for pred, ids, labels in pieces:
            cm_vote += confusion_matrix(labels, voter.apply(pred, ids), num_classes)
            truth.update(parcel_truth(ids, labels))  # a parcel cut by a block edge: last piece wins
        out["voted"] = scores_from_confusion(cm_vote)
        out["parcels"], out["parcel_accuracy"] = parcel_accuracy(voter.result(), truth)
    return out


def _weight_average(
    module: nn.Module, decay: float, saved: dict[str, Any] | None
) -> torch.optim.swa_utils.AveragedModel | None:
    """The exponential moving average of the weights and batch-norm buffers (None when ``decay`` is 0).

    The average, not the raw weights, is validated, selected and exported: it is less tied to the
    last few noisy steps (docs/model.md, "Third round").
    """
    if decay <= 0:
        return None
    ema = torch.optim.swa_utils.AveragedModel(
        module, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay), use_buffers=True
    )
    if saved is not None:
        ema.load_state_dict(saved)
    return ema


def _set_seeds(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def _write_metrics_csv(history: list[dict[str, Any]], path: Path) -> None:
    keys = list(history[0])
    with atomic_output(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)


def _short(m: SegmentationMetrics) -> dict[str, float]:
    return {"oa": m.overall_accuracy, "miou": m.miou, "mean_f1": m.mean_f1}


def train(
    cfg: TrainConfig,
    resume: bool = True,
    classes: ClassTable | None = None,
    scene: SceneData | None = None,
    max_epochs: int | None = None,
    split: BlockSplit | None = None,
) -> TrainResult:
    """Train a model as ``cfg`` says; resumes from ``<out_dir>/checkpoint.pt`` when it exists.

    Every epoch's randomness (chip order, augmentation) comes from ``(seed, epoch)``, so an
    interrupted and resumed run ends with the same weights as an uninterrupted one.

    Args:
        cfg: the run configuration.
        resume: continue from an existing checkpoint (else start over and overwrite it).
        classes: class table (default: the 76 BRP classes).
        scene: an already loaded scene (skips reading ``cfg.data``).
        max_epochs: run at most this many epochs in this call (e.g. to fit a time slot); the
            schedule is still that of ``cfg.train.epochs``, and a later call resumes.
        split: the blocks to train, validate and test on (e.g. one fold of
            :func:`~cropcube.datasets.cross_validation_splits`); default: ``blocked_split`` of
            ``cfg.data`` with ``cfg.seed``.

    Returns:
        The trained module (best validation epoch) and its metrics.
    """
    cfg.validate()
    classes = classes or load_class_table()
    k = classes.num_classes
    if cfg.train.threads > 0:
        torch.set_num_threads(cfg.train.threads)
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scene = scene if scene is not None else scene_from_config(cfg.data)
    if int(scene.labels.max()) > k:
        raise InputError(f"{scene.name} labels", f"class index {int(scene.labels.max())} exceeds {k}")
    d = cfg.data
    h, w = scene.shape
    if split is None:
        split = blocked_split(h, w, d.block_size, d.split, seed=cfg.seed, buffer=d.buffer)
    elif (split.height, split.width) != (h, w):
        raise InputError("split", f"made for {split.height}x{split.width} px, the scene is {h}x{w}")
    windows = split.windows("train", d.chip_size, d.chip_stride or max(4, d.chip_size // 2))
    counts = class_pixel_counts(scene, split, "train", k)
    if counts[1:].sum() == 0:
        raise InputError(f"{scene.name} labels", "no labelled pixel in the training blocks")
    kind = cfg.model.normalisation or ("max" if cfg.model.name == "reference_segnet" else "standardize")
    normalisation = normalisation_stats(scene, split.mask("train"), kind)
    normalisation["cloud_blue_threshold"] = cfg.model.cloud_threshold()
    # Learning calendars: batches see date subsets; validation, test and export the default calendar.
    sampling = calendar_sampling(d.calendar, scene) if d.calendar is not None else None
    calendar = sampling.calendar(scene) if sampling is not None else None
    scored_scene = sampling.default_scene(scene) if sampling is not None else scene
    if sampling is not None:
        normalisation = per_band(normalisation, scene.spec.n_bands)

    _set_seeds(cfg.seed)
    module = build_inference_module(
        cfg.model.name, cfg.model.options, scored_scene.spec, normalisation, k, calendar
    )
    optim = torch.optim.AdamW(module.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    steps_per_epoch = math.ceil(d.chips_per_epoch / cfg.train.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        optim, max_lr=cfg.train.lr, total_steps=cfg.train.epochs * steps_per_epoch, pct_start=0.15
    )
    loss_fn = SegmentationLoss(
        cfg.train.loss,
        class_weights(counts, cfg.train.class_weight_power),
        cfg.train.focal_gamma,
        cfg.train.label_smoothing,
    )
    weights = (
        chip_weights(scene.labels, windows, d.chip_size, k) if cfg.train.sampling == "balanced" else None
    )
    aug = AugmentConfig(**asdict(cfg.augment), n_bands=scene.spec.n_bands)

    ckpt_path = out_dir / CHECKPOINT_NAME
    history: list[dict[str, Any]] = []
    best_state: dict[str, torch.Tensor] | None = None
    best_miou = -1.0
    start_epoch = 0
    train_seconds = 0.0
    saved_ema: dict[str, Any] | None = None
    if resume and ckpt_path.is_file():
        state = load_checkpoint(ckpt_path)
        if state["model_name"] != cfg.model.name or state["model_options"] != cfg.model.options:
            raise InputError(
                str(ckpt_path), "checkpoint is of another model; use a new out_dir or --no-resume"
            )
        module.load_state_dict(state["model_state"])
        optim.load_state_dict(state["optim_state"])
        sched.load_state_dict(state["sched_state"])
        history = list(state["history"])
        best_state, best_miou = state["best_state"], float(state["best_miou"])
        start_epoch = int(state["epoch"]) + 1
        train_seconds = float(state.get("train_seconds", 0.0))
        saved_ema = state.get("ema_state")
        log.info("resuming %s at epoch %d", ckpt_path, start_epoch + 1)

    ema = _weight_average(module, cfg.train.ema_decay, saved_ema)
    stop = cfg.train.epochs if max_epochs is None else min(cfg.train.epochs, start_epoch + max_epochs)
    for epoch in range(start_epoch, stop):
        t0 = time.perf_counter()
        rng = np.random.default_rng([cfg.seed, epoch])
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        torch.manual_seed(cfg.seed * 7919 + epoch)
        module.train()
        total, seen = 0.0, 0
        batches = chip_batches(
            scene, windows, d.chip_size, cfg.train.batch_size, d.chips_per_epoch, rng, weights
        )
        bar = tqdm(
            batches,
            total=steps_per_epoch,
            desc=f"epoch {epoch + 1}/{cfg.train.epochs}",
            disable=not cfg.train.progress,
            leave=False,
        )
        for x, y in bar:
            doy = None
            if sampling is not None:
                x, doy = sampling.sample(x, rng)
            x, y = augment_batch(x, y, aug, gen)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.train.bf16):
                logits = module(x) if doy is None else module(x, doy)
            loss = loss_fn(logits, y)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(module)
            total += float(loss.detach()) * len(x)
            seen += len(x)
            bar.set_postfix(loss=f"{total / seen:.3f}")
        train_seconds += time.perf_counter() - t0
        scored: nn.Module = module if ema is None else ema.module
        val = region_metrics(scored, scored_scene, split, "val", k)["pixel"]
        row = {
            "epoch": epoch + 1,
            "loss": total / max(seen, 1),
            "lr": sched.get_last_lr()[0],
            **{f"val_{n}": v for n, v in _short(val).items()},
            "train_seconds": train_seconds,
        }
        history.append(row)
        if val.miou > best_miou:
            best_miou = val.miou
            best_state = {n: t.detach().clone() for n, t in scored.state_dict().items()}
        save_checkpoint(
            {
                "epoch": epoch,
                "model_name": cfg.model.name,
                "model_options": cfg.model.options,
                "spec": scored_scene.spec.to_dict(),
                "calendar": calendar.to_dict() if calendar is not None else None,
                "normalisation": normalisation,
                "model_state": module.state_dict(),
                "optim_state": optim.state_dict(),
                "sched_state": sched.state_dict(),
                "history": history,
                "best_state": best_state,
                "ema_state": ema.state_dict() if ema is not None else None,
                "best_miou": best_miou,
                "train_seconds": train_seconds,
                "config": cfg.to_dict(),
                "summary": _summary(cfg, scene, split, counts, train_seconds, epoch + 1),
            },
            ckpt_path,
        )
        _write_metrics_csv(history, out_dir / METRICS_NAME)
        log.info("epoch %d: %s", epoch + 1, row)

    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    test = region_metrics(module, scored_scene, split, "test", k, vote=True)
    summary = _summary(cfg, scene, split, counts, train_seconds, cfg.train.epochs)
    if ckpt_path.is_file():  # record the final test scores so that `cropcube export` can carry them
        from cropcube.trainers.export import test_metrics_dict

        state = load_checkpoint(ckpt_path)
        state["test_metrics"] = test_metrics_dict(test)
        save_checkpoint(
            {k2: v for k2, v in state.items() if k2 not in ("format", "format_version")}, ckpt_path
        )
    return TrainResult(
        module,
        scored_scene.spec,
        normalisation,
        history,
        test,
        summary,
        out_dir,
        cfg.model.name,
        dict(cfg.model.options),
        calendar,
    )


def _summary(
    cfg: TrainConfig,
    scene: SceneData,
    split: BlockSplit,
    counts: npt.NDArray[np.int64],
    seconds: float,
    epochs: int,
) -> dict[str, Any]:
    return {
        "data": scene.name,
        "synthetic": cfg.data.synthetic is not None,
        "grid": list(scene.shape),
        "dates": [dt.isoformat() for dt in scene.spec.dates],
        "split": {
            "kind": "spatially blocked",
            "block_size": split.block_size,
            "buffer": split.buffer,
            "fractions": [round(float((split.assignment == i).mean()), 3) for i in range(3)],
            "blocks": {n: int((split.assignment == i).sum()) for i, n in enumerate(("train", "val", "test"))},
        },
        "train_pixels_per_class": {str(i): int(c) for i, c in enumerate(counts.tolist()) if i and c},
        "seed": cfg.seed,
        "epochs": epochs,
        "chips_per_epoch": cfg.data.chips_per_epoch,
        "chip_size": cfg.data.chip_size,
        "batch_size": cfg.train.batch_size,
        "lr": cfg.train.lr,
        "loss": cfg.train.loss,
        "class_weight_power": cfg.train.class_weight_power,
        "label_smoothing": cfg.train.label_smoothing,
        "sampling": cfg.train.sampling,
        "ema_decay": cfg.train.ema_decay,
        "augment": asdict(cfg.augment),
        "train_seconds": round(seconds, 1),
    }

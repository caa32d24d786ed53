"""Training configuration: typed dataclasses loaded from YAML or TOML, with clear errors on bad keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib
import yaml

from cropcube.errors import InputError

LOSSES = ("ce", "weighted_ce", "focal")
SAMPLINGS = ("uniform", "balanced")
NORMALISATIONS = ("standardize", "max")


DEFAULT_CLOUD_BLUE_THRESHOLD = 0.2
"""B02 reflectance above which a date of a pixel is masked as cloudy (clear land stays below)."""


@dataclass
class DataConfig:
    """Where the chips come from and how the scene is split.

    Attributes:
        cube: cube GeoTIFF (relative paths are relative to the config file).
        labels: label GeoTIFF on the cube's grid.
        parcel_ids: optional parcel-id GeoTIFF (parcel-level metrics).
        label_codes: ``"worldcereal"`` (Flanders sample codes -> BRP classes), a mapping raw value ->
            class index, or None when the labels already are class indices.
        synthetic: instead of files, the options of :class:`cropcube.synthetic.SceneConfig`.
        block_size: edge of the split blocks in pixels.
        buffer: pixels at each block edge left out of every chip.
        split: train/val/test fractions of the blocks.
        chip_size: training chip edge in pixels (multiple of 4).
        chip_stride: distance between candidate chips inside a block (default: chip_size // 2).
        chips_per_epoch: chips drawn per epoch.
        calendar: learn calendars (:mod:`cropcube.trainers.calendars`): every batch a subset of the
            scene's dates, ``{n_dates: [min, max], shift_days, default_dates}``; needs a calendar-free
            model (``model.options.calendar_free: true``) and exports bundle format 2. None: the
            scene's own fixed dates (format 1).
    """

    cube: str | None = None
    labels: str | None = None
    parcel_ids: str | None = None
    label_codes: str | dict[int, int] | None = None
    synthetic: dict[str, Any] | None = None
    block_size: int = 64
    buffer: int = 0
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    chip_size: int = 32
    chip_stride: int | None = None
    chips_per_epoch: int = 256
    calendar: dict[str, Any] | None = None


@dataclass
class ModelConfig:
    """Which architecture and how its input is normalised.

    Attributes:
        name: a name from :func:`cropcube.models.list_models`.
        options: extra constructor arguments.
        normalisation: ``"standardize"`` (mean/std of the training pixels) or ``"max"`` (the
            reference's DN / per-band maximum); default: ``"max"`` for reference_segnet, else standardize.
        version: version string written into the bundle.
        cloud_blue_threshold: B02 reflectance above which a pixel's date counts as cloudy and is
            masked like a missing date (0 = off); default 0.2, and 0 for reference_segnet (as published).
    """

    name: str = "tae_fpn"
    options: dict[str, Any] = field(default_factory=dict)
    normalisation: str | None = None
    version: str = "0.1.0"
    cloud_blue_threshold: float | None = None

    def cloud_threshold(self) -> float:
        """The cloud threshold in force (see ``cloud_blue_threshold``)."""
        if self.cloud_blue_threshold is not None:
            return float(self.cloud_blue_threshold)
        return 0.0 if self.name == "reference_segnet" else DEFAULT_CLOUD_BLUE_THRESHOLD


@dataclass
class OptimConfig:
    """The training recipe.

    Attributes:
        epochs: passes of ``chips_per_epoch`` chips.
        batch_size: chips per step.
        lr: Adam learning rate.
        weight_decay: AdamW weight decay.
        loss: ``ce``, ``weighted_ce`` (inverse class frequency to ``class_weight_power``) or ``focal``.
        class_weight_power: exponent of the inverse class frequency in ``weighted_ce`` (0.5 = inverse
            square root, 1 = fully balanced).
        focal_gamma: focusing parameter of the focal loss.
        label_smoothing: cross-entropy label smoothing in [0, 1) (``ce``/``weighted_ce``).
        sampling: ``uniform`` or ``balanced`` (rare-class chips drawn more often).
        ema_decay: decay of an exponential moving average of the weights (and batch-norm
            statistics), updated every step; validated, selected and exported instead of the raw
            weights (0 = off).
        bf16: bf16 autocast in the forward pass (helps only on CPUs with bf16 units).
        threads: torch CPU threads (0 = torch's default).
        progress: show progress bars.
    """

    epochs: int = 10
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-4
    loss: str = "weighted_ce"
    class_weight_power: float = 0.5
    focal_gamma: float = 2.0
    label_smoothing: float = 0.0
    sampling: str = "uniform"
    ema_decay: float = 0.0
    bf16: bool = False
    threads: int = 0
    progress: bool = True


@dataclass
class AugmentSettings:
    """Augmentation (see :class:`cropcube.datasets.AugmentConfig`)."""

    d4: bool = True
    date_dropout: float = 0.1
    cloud: float = 0.2
    gain: float = 0.0


@dataclass
class TrainConfig:
    """A whole training run.

    Attributes:
        seed: seeds the split, chip sampling, augmentation and weight initialisation.
        out_dir: where checkpoints, metrics and the exported bundle go.
        data: data settings.
        model: model settings.
        train: optimisation settings.
        augment: augmentation settings.
    """

    seed: int = 0
    out_dir: str = "runs/train"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentSettings = field(default_factory=AugmentSettings)

    def validate(self) -> None:
        """Check values that the dataclass types do not.

        Raises:
            InputError: naming the key and the problem.
        """
        if self.train.loss not in LOSSES:
            raise InputError("train.loss", f"{self.train.loss!r} is not one of {LOSSES}")
        if self.train.sampling not in SAMPLINGS:
            raise InputError("train.sampling", f"{self.train.sampling!r} is not one of {SAMPLINGS}")
        if self.model.normalisation is not None and self.model.normalisation not in NORMALISATIONS:
            raise InputError(
                "model.normalisation", f"{self.model.normalisation!r} is not one of {NORMALISATIONS}"
            )
        if not 0.0 <= self.model.cloud_threshold() < 1.0:
            value = self.model.cloud_blue_threshold
            raise InputError("model.cloud_blue_threshold", f"{value} is not in [0, 1)")
        if self.data.chip_size % 4 or self.data.chip_size < 4:
            raise InputError("data.chip_size", f"{self.data.chip_size} must be a positive multiple of 4")
        if self.data.calendar is not None and not self.model.options.get("calendar_free"):
            problem = "needs a calendar-free model (model.options.calendar_free: true)"
            raise InputError("data.calendar", problem)
        if (self.data.cube is None or self.data.labels is None) and self.data.synthetic is None:
            raise InputError("data", "give either cube and labels, or synthetic")
        for name in ("epochs", "batch_size", "chips_per_epoch"):
            obj = self.data if name == "chips_per_epoch" else self.train
            if getattr(obj, name) < 1:
                raise InputError(f"{name}", "must be >= 1")
        for name in ("date_dropout", "cloud", "gain"):
            value = getattr(self.augment, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"augment.{name}", f"{value} is not in [0, 1]")
        if not 0.0 <= self.train.class_weight_power <= 2.0:
            raise InputError("train.class_weight_power", f"{self.train.class_weight_power} is not in [0, 2]")
        if not 0.0 <= self.train.ema_decay < 1.0:
            raise InputError("train.ema_decay", f"{self.train.ema_decay} is not in [0, 1)")
        if not 0.0 <= self.train.label_smoothing < 1.0:
            raise InputError("train.label_smoothing", f"{self.train.label_smoothing} is not in [0, 1)")
        if not self.train.lr > 0:
            raise InputError("train.lr", "must be positive")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for checkpoints and bundle metadata)."""
        return dataclasses.asdict(self)


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    if not isinstance(values, dict):
        raise InputError(where, f"must be a mapping, got {type(values).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(where, f"unknown keys {unknown}; allowed: {sorted(known)}")
    for f in dataclasses.fields(cls):
        if f.name in values:
            _check_type(values[f.name], f.default, f"{where}.{f.name}")
    return cls(**values)


def _check_type(value: Any, default: Any, what: str) -> None:
    """A scalar key must have its default's type (``epochs: "ten"`` is an error, not a TypeError later)."""
    if value is None or default is None or isinstance(default, dict | list | tuple):
        return
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, kind = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    else:
        return
    if not ok:
        raise InputError(what, f"{value!r} is not {kind}")


def _iso_dates(value: Any) -> Any:
    """Dates as ISO text: YAML reads unquoted dates as ``datetime.date``.

    A config (and the checkpoint holding it) must stay plain data that ``torch.load(weights_only=True)``
    reads back.
    """
    if isinstance(value, dict):
        return {k: _iso_dates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso_dates(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def config_from_dict(d: dict[str, Any], base_dir: Path | None = None, where: str = "config") -> TrainConfig:
    """Build and validate a :class:`TrainConfig`; relative data paths are resolved against ``base_dir``.

    Raises:
        InputError: unknown keys or bad values.
    """
    if not isinstance(d, dict):
        raise InputError(where, "must be a mapping at the top level")
    d = _iso_dates(d)
    sections = {"data": DataConfig, "model": ModelConfig, "train": OptimConfig, "augment": AugmentSettings}
    parts = {k: _build(cls, d.pop(k, {}) or {}, f"{where}: {k}") for k, cls in sections.items()}
    cfg: TrainConfig = _build(TrainConfig, {**d, **parts}, where)
    try:
        cfg.data.split = tuple(float(v) for v in cfg.data.split)  # type: ignore[assignment]
    except (TypeError, ValueError):
        raise InputError(f"{where}: data.split", f"{cfg.data.split!r} is not three fractions") from None
    if len(cfg.data.split) != 3 or cfg.data.split[0] <= 0 or cfg.data.split[1] <= 0:
        # Without validation blocks every epoch scores 0.0 and the first one would be exported.
        raise InputError(
            f"{where}: data.split",
            f"{list(cfg.data.split)} needs a training and a validation share (the exported epoch is the "
            "best on the validation blocks), e.g. [0.8, 0.2, 0.0]",
        )
    if isinstance(cfg.data.label_codes, dict):
        try:
            cfg.data.label_codes = {int(k): int(v) for k, v in cfg.data.label_codes.items()}
        except (TypeError, ValueError):
            bad = "must map integer codes to class indices"
            raise InputError(f"{where}: data.label_codes", bad) from None
    if base_dir is not None:
        for key in ("cube", "labels", "parcel_ids"):
            value = getattr(cfg.data, key)
            if value is not None and not Path(value).is_absolute():
                setattr(cfg.data, key, str((base_dir / value).resolve()))
    cfg.validate()
    return cfg


def load_config(path: str | Path) -> TrainConfig:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) training config.

    Relative data paths inside it are relative to the config file's folder; ``out_dir`` is relative
    to the working directory.

    Raises:
        InputError: missing file, syntax error, unknown keys or bad values.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "config file does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise InputError(str(path), "config must be .yaml, .yml or .toml")
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise InputError(str(path), f"cannot parse config: {exc}") from None
    return config_from_dict(data or {}, base_dir=path.parent.resolve(), where=str(path))

"""Bundle metadata: everything inference needs, stored as JSON inside the TorchScript file."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from cropcube import __version__
from cropcube.calendar import Calendar
from cropcube.classes import ClassTable
from cropcube.cube_spec import CubeSpec
from cropcube.errors import InputError

FORMAT_NAME = "cropcube-bundle"
FORMAT_VERSION = 2
"""Written for bundles that declare a calendar (any dates within a range and season)."""
FIXED_CALENDAR_VERSION = 1
"""Bundles tied to the dates of their input layout (per-date normalisation, no calendar block)."""
READABLE_VERSIONS = (FIXED_CALENDAR_VERSION, FORMAT_VERSION)
METADATA_FILE = "cropcube/metadata.json"
"""Name of the extra file in the TorchScript archive (``torch.jit.save(..., _extra_files=...)``)."""


@dataclass
class BundleMetadata:
    """Typed view of the metadata JSON.

    Attributes:
        model_name: architecture name (e.g. ``"tae_fpn"``).
        model_version: version of the trained weights (free text, e.g. ``"0.1.0-synthetic"``).
        spec: cube layout the model expects.
        classes: class table (index 1..K).
        receptive_field: network receptive field in pixels (full width).
        downsampling_factor: tile sizes and offsets must be multiples of this.
        halo: tile halo in pixels (>= receptive_field / 2, multiple of downsampling_factor).
        normalisation: how DN become network input (kind, mean, std; informational, applied inside).
        parameters: number of trainable parameters.
        flops_per_pixel: forward FLOPs per output pixel (multiply-add = 2).
        training: free-form training-data summary (data, sizes, seed, epochs, ...).
        metrics: free-form evaluation metrics (oa, miou, ...).
        content_hash: ``sha256:<hex>`` over weights and metadata (filled in by :func:`save_bundle`).
        created: ISO timestamp.
        cropcube_version: package version that wrote the bundle.
        calendar: the calendars a format-2 bundle accepts; None for format 1 (fixed to
            ``spec.dates``, normalisation per date and band).
    """

    model_name: str
    model_version: str
    spec: CubeSpec
    classes: ClassTable
    receptive_field: int
    downsampling_factor: int
    halo: int
    normalisation: dict[str, Any]
    parameters: int = 0
    flops_per_pixel: float = 0.0
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )
    cropcube_version: str = __version__
    calendar: Calendar | None = None

    def __post_init__(self) -> None:
        if self.calendar is None:
            return
        if tuple(self.calendar.default_dates) != tuple(self.spec.dates):
            raise InputError("bundle metadata", "input dates must be the calendar's default_dates")
        for key in ("mean", "std"):
            values = self.normalisation.get(key)
            if values is not None and len(values) != self.spec.n_bands:
                raise InputError(
                    f"normalisation {key}", f"format 2 needs one value per band ({self.spec.n_bands})"
                )

    @property
    def format_version(self) -> int:
        """2 when the bundle declares a calendar, else 1."""
        return FIXED_CALENDAR_VERSION if self.calendar is None else FORMAT_VERSION

    def accepted_calendar(self) -> Calendar:
        """The declared calendar, or for format 1 exactly the input layout's dates."""
        from cropcube.calendar import fixed_calendar

        return self.calendar if self.calendar is not None else fixed_calendar(self.spec.dates)

    def to_dict(self, with_hash: bool = True) -> dict[str, Any]:
        """JSON-ready dict; ``with_hash=False`` gives the form the hash is computed over."""
        d: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "model": {
                "name": self.model_name,
                "version": self.model_version,
                "parameters": self.parameters,
                "flops_per_pixel": self.flops_per_pixel,
                "receptive_field": self.receptive_field,
                "downsampling_factor": self.downsampling_factor,
                "halo": self.halo,
            },
            "input": {
                **self.spec.to_dict(),
                "n_channels": self.spec.n_channels,
                "tensor": "float32 (B, T*C, H, W) raw digital numbers, date-major",
            },
            **({"calendar": self.calendar.to_dict()} if self.calendar is not None else {}),
            "normalisation": self.normalisation,
            "output": {
                "kind": "logits",
                "channels": self.classes.num_classes,
                "class_offset": 1,
                "nodata_class": 0,
            },
            "classes": self.classes.to_records(),
            "training": self.training,
            "metrics": self.metrics,
            "created": self.created,
            "cropcube_version": self.cropcube_version,
        }
        if with_hash:
            d["content_hash"] = self.content_hash
        return d

    def to_json(self, with_hash: bool = True) -> str:
        """Canonical JSON (sorted keys) of :meth:`to_dict`."""
        return json.dumps(self.to_dict(with_hash), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "bundle") -> BundleMetadata:
        """Parse and validate metadata JSON.

        Raises:
            InputError: not JSON, not a cropcube bundle, an unsupported format version or missing keys.
        """
        try:
            d = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(where, f"metadata is not valid JSON ({exc})") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT_NAME:
            raise InputError(where, "not a cropcube bundle (metadata has no 'format': 'cropcube-bundle')")
        version = d.get("format_version")
        if version not in READABLE_VERSIONS:
            raise InputError(
                where,
                f"bundle format version {version!r} is not one of {list(READABLE_VERSIONS)} "
                "(a newer cropcube wrote it?)",
            )
        if version == FORMAT_VERSION and not isinstance(d.get("calendar"), dict):
            raise InputError(where, "bundle format 2 metadata has no 'calendar' block")
        try:
            m = d["model"]
            return cls(
                model_name=str(m["name"]),
                model_version=str(m["version"]),
                spec=CubeSpec.from_dict(d["input"]),
                classes=ClassTable.from_records(d["classes"]),
                receptive_field=int(m["receptive_field"]),
                downsampling_factor=int(m["downsampling_factor"]),
                halo=int(m["halo"]),
                normalisation=dict(d["normalisation"]),
                parameters=int(m.get("parameters", 0)),
                flops_per_pixel=float(m.get("flops_per_pixel", 0.0)),
                training=dict(d.get("training", {})),
                metrics=dict(d.get("metrics", {})),
                content_hash=str(d.get("content_hash", "")),
                created=str(d.get("created", "")),
                cropcube_version=str(d.get("cropcube_version", "")),
                calendar=Calendar.from_dict(d["calendar"], where) if version == FORMAT_VERSION else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(where, f"bundle metadata is incomplete or malformed: {exc!r}") from None

"""The one inference options object: built once (CLI over config file over defaults), passed unchanged.

Every run mode (``cropcube classify``, ``cropcube demo``, the rasdaman write-back job, the Python UDF)
builds an :class:`InferenceOptions` once and hands it to :class:`~cropcube.inference.Classifier`, which
hands it to the backend (the C++ kernel's ``cropcube_options``, or the Python runner) without
re-reading anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from cropcube.errors import InputError
from cropcube.inference.config import DEVICES, PRECISIONS, Settings, read_settings

Backend = Literal["auto", "native", "python"]
BACKENDS = ("auto", "native", "python")
NONFINITE = ("error", "nodata")
_CHOICES: dict[str, tuple[str, ...]] = {
    "backend": BACKENDS,
    "device": DEVICES,
    "precision": PRECISIONS,
    "nonfinite": NONFINITE,
}
_LIMITS = {"threads": 4096, "tile_size": 16384, "batch_size": 1024}  # the kernel's check_options ranges
_FROM_SETTINGS = ("device", "threads", "precision", "tile_size", "batch_size")


@dataclass(frozen=True)
class InferenceOptions:
    """How to run a bundle. 0 / ``"auto"`` = the default, resolved by the backend (see ``Classifier.info``).

    Attributes:
        backend: ``"native"`` (C++ kernel), ``"python"`` (torch in this process) or ``"auto"``
            (native when the kernel library is built, else python with a WARNING).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        threads: CPU intra-op threads (0 = sized per batch to the free CPUs).
        precision: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"`` (reduced: native only).
        tile_size: core tile edge in pixels (0 = 512), rounded up to the downsampling factor.
        batch_size: tiles per forward pass (0 = 1 on CPU, 4 on CUDA).
        nonfinite: NaN/inf in float input: ``"error"`` or ``"nodata"``.

    Raises:
        InputError: a value out of its choices or range, naming the option.
    """

    backend: Backend = "auto"
    device: str = "auto"
    threads: int = 0
    precision: str = "auto"
    tile_size: int = 0
    batch_size: int = 0
    nonfinite: str = "error"

    def __post_init__(self) -> None:
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise InputError(name, f"{value!r} is not one of {', '.join(choices)}")
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
                raise InputError(name, f"{value!r} is not an integer in 0..{limit} (0 = default)")

    def replace(self, **changes: Any) -> InferenceOptions:
        """A copy with ``changes`` (None values are ignored: "not given")."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InputError("inference options", f"unknown option(s) {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def build(cls, settings: Settings | None = None, **given: Any) -> InferenceOptions:
        """The options of a run: what the caller gave (CLI), else the config file/environment, else defaults.

        Args:
            settings: the configuration (default: :func:`~cropcube.inference.config.read_settings`).
            **given: options the caller set; None = not given.

        Raises:
            InputError: a bad option, or an invalid configuration (naming the file/variable).
        """
        s = settings if settings is not None else read_settings()
        configured = {k: getattr(s, k) for k in _FROM_SETTINGS}
        return cls().replace(**configured).replace(**given)

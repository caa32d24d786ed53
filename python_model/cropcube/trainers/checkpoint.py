"""Training checkpoints: written atomically, read back with a clear error for foreign or damaged files."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from cropcube.errors import InputError
from cropcube.io import atomic_output

CHECKPOINT_FORMAT = "cropcube-checkpoint"
CHECKPOINT_VERSION = 1
_REQUIRED = (
    "epoch",
    "model_name",
    "model_options",
    "spec",
    "normalisation",
    "model_state",
    "optim_state",
    "history",
)


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` (tensors and plain Python values) to ``path``; it appears only when complete."""
    path = Path(path)
    payload = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, **state}
    buf = io.BytesIO()
    torch.save(payload, buf)
    with atomic_output(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return path


def _is_torchscript(path: Path) -> bool:
    """True for TorchScript archives (they have compiled code inside), e.g. an exported bundle."""
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.split("/", 1)[-1].startswith("code/") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Only tensors and plain values are unpickled (``weights_only=True``), so a hostile file cannot run
    code.

    Raises:
        InputError: missing, corrupt or foreign file, or a checkpoint of another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "checkpoint file does not exist")
    if _is_torchscript(path):
        raise InputError(str(path), "is a TorchScript model bundle, not a cropcube training checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        EOFError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        ValueError,
        OSError,
        IndexError,
    ) as exc:
        # (torch.load of a text file raises IndexError)
        raise InputError(str(path), f"not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputError(
            str(path), "not a cropcube training checkpoint (a bundle? use it with classify/evaluate)"
        )
    if state.get("format_version") != CHECKPOINT_VERSION:
        raise InputError(
            str(path), f"checkpoint format {state.get('format_version')!r} is not {CHECKPOINT_VERSION}"
        )
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise InputError(str(path), f"checkpoint lacks {missing}")
    return state

"""Writing and reading bundles: atomic save with a content hash, verified load."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from cropcube.bundle.metadata import METADATA_FILE, BundleMetadata
from cropcube.errors import InputError
from cropcube.io.atomic import atomic_output


def content_hash(module: torch.nn.Module, metadata: BundleMetadata) -> str:
    """``sha256:<hex>`` over every parameter/buffer (name, dtype, shape, bytes) and the metadata."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(
            t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        )  # reshape: 0-dim buffers
    h.update(metadata.to_json(with_hash=False).encode())
    return "sha256:" + h.hexdigest()


def save_bundle(module: torch.jit.ScriptModule, metadata: BundleMetadata, path: str | Path) -> BundleMetadata:
    """Write the bundle atomically (temporary file in the same folder, fsync, rename).

    Args:
        module: the scripted :class:`~cropcube.bundle.module.InferenceModule`.
        metadata: its metadata; ``content_hash`` is filled in here.
        path: destination ``.pt`` file.

    Returns:
        The metadata with its content hash.
    """
    path = Path(path)
    metadata.content_hash = content_hash(module, metadata)
    extra = {METADATA_FILE: metadata.to_json()}
    buf = io.BytesIO()
    torch.jit.save(module, buf, _extra_files=extra)
    with atomic_output(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return metadata


@dataclass
class Bundle:
    """A loaded bundle.

    Attributes:
        path: file it came from.
        module: the TorchScript inference module (raw DN in, logits out).
        metadata: its metadata.
    """

    path: Path
    module: torch.jit.ScriptModule
    metadata: BundleMetadata


def read_metadata(path: str | Path) -> BundleMetadata:
    """Read only the metadata of a bundle (no weights are loaded)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("extra/" + METADATA_FILE)]
            if not names:
                raise InputError(str(path), "not a cropcube bundle (no embedded cropcube metadata)")
            return BundleMetadata.from_json(zf.read(names[0]), where=str(path))
    except FileNotFoundError:
        raise InputError(str(path), "bundle file does not exist") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(str(path), f"not a TorchScript bundle ({exc})") from None


def load_bundle(path: str | Path, device: str | torch.device = "cpu", verify: bool = True) -> Bundle:
    """Load and check a bundle.

    Args:
        path: the ``.pt`` file.
        device: where to map the weights.
        verify: recompute the content hash and compare it with the stored one.

    Raises:
        InputError: missing, corrupt or foreign file, or a content hash mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "bundle file does not exist")
    extra = {METADATA_FILE: ""}
    try:
        # One read: the hash is checked on exactly the bytes the module comes from, even if the file is
        # replaced or rewritten meanwhile.
        data = io.BytesIO(path.read_bytes())
        module = torch.jit.load(data, map_location=device, _extra_files=extra)
    except Exception as exc:  # torch raises RuntimeError/ValueError/... for foreign files
        raise InputError(str(path), f"not a loadable TorchScript file ({type(exc).__name__})") from None
    if not extra[METADATA_FILE]:
        raise InputError(str(path), "not a cropcube bundle (no embedded cropcube metadata)")
    metadata = BundleMetadata.from_json(extra[METADATA_FILE], where=str(path))
    if verify:
        actual = content_hash(module, metadata)
        if actual != metadata.content_hash:
            raise InputError(str(path), "content hash mismatch: the bundle was modified or damaged")
    module.eval()
    return Bundle(path=path, module=module, metadata=metadata)

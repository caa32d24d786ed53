"""File argument checks, done before any work starts: kind, readability, writability, no clobbering.

Every check raises :class:`~cropcube.errors.InputError` naming the path and the problem in words a
user can act on ("is a directory, expected a file", not "does not exist").
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cropcube.errors import InputError


def _is_remote(path: str | Path) -> bool:
    return str(path).startswith(("/vsi", "http://", "https://", "s3://"))


def require_file(path: str | Path, what: str = "file") -> Path:
    """``path`` is an existing, readable regular file (GDAL ``/vsi`` paths pass unchecked).

    Args:
        path: the file.
        what: what the file is, for the message (``"cube"``, ``"bundle"``).
    """
    p = Path(path)
    if _is_remote(path):
        return p
    if p.is_dir():
        raise InputError(str(path), f"is a directory, expected a file ({what})")
    if not p.exists():
        if p.is_symlink():
            raise InputError(str(path), f"is a broken symbolic link, expected a file ({what})")
        raise InputError(str(path), f"{what} does not exist")
    if not p.is_file():
        raise InputError(str(path), f"is not a regular file, expected a file ({what})")
    if not os.access(p, os.R_OK):
        raise InputError(str(path), f"{what} is not readable (permission denied)")
    return p


def require_dir(path: str | Path, what: str = "folder") -> Path:
    """``path`` is an existing, readable directory."""
    p = Path(path)
    if not p.exists():
        raise InputError(str(path), f"{what} does not exist")
    if not p.is_dir():
        raise InputError(str(path), f"is a file, expected a folder ({what})")
    if not os.access(p, os.R_OK | os.X_OK):
        raise InputError(str(path), f"{what} is not readable (permission denied)")
    return p


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _writable_folder(folder: Path, what: str, shown: str) -> None:
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise InputError(shown, f"cannot create {what}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(shown, f"{what} is not writable ({existing}: permission denied)")


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when both paths name the same file: through symbolic links, ``..`` or hard links."""
    pa, pb = Path(a), Path(b)
    try:
        return pa.samefile(pb)  # same device and inode: also catches hard links
    except OSError:
        return pa.resolve() == pb.resolve()  # one of them does not exist yet


def require_output_file(
    path: str | Path, inputs: Iterable[str | Path | None] = (), what: str = "output"
) -> Path:
    """``path`` can be written as a file and is none of ``inputs``.

    Checks: not a directory; its folder exists or can be created, and is writable; it is not the
    same file as any input (symbolic links, hard links and relative spellings resolved), so that no
    command ever overwrites what it reads.

    Args:
        path: the output file.
        inputs: the command's input files (None entries are skipped).
        what: what the output is, for the message.
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(str(path), f"is a directory, expected the {what} file to write")
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(str(path), f"{what} exists and is not writable (permission denied)")
    _writable_folder(p.parent, f"the {what} folder", str(path))
    for source in inputs:
        if source is not None and not _is_remote(source) and same_file(p, source):
            raise InputError(
                str(path), f"{what} is the input {source}: refusing to overwrite an input (choose another -o)"
            )
    return p


def require_output_dir(path: str | Path, what: str = "output folder") -> Path:
    """``path`` is a folder that exists or can be created, and is writable."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(str(path), f"is a file, expected the {what}")
    _writable_folder(p, what, str(path))
    return p

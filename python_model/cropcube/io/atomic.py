"""Write to a temporary name in the destination folder, then rename: no half-written outputs."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file keeps the destination's suffix (GDAL picks drivers by it). On any exception,
    including KeyboardInterrupt, the temporary file is removed and ``path`` is left as it was.

    Args:
        path: final destination.
        suffix: suffix of the temporary file (default: the destination's).

    Yields:
        The temporary path to write to.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=(suffix or path.suffix) + ".part", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    # The final temp name must end in the real suffix for GDAL driver detection.
    tmp_final = tmp.with_name(tmp.name[: -len(".part")])
    tmp.unlink()
    try:
        yield tmp_final
        with tmp_final.open("rb+") as f:  # flush to disk before the rename makes it visible
            os.fsync(f.fileno())
        tmp_final.replace(path)
    finally:
        tmp_final.unlink(missing_ok=True)
        for aux in tmp_final.parent.glob(tmp_final.name + ".*"):  # GDAL side files (.aux.xml, .ovr)
            aux.unlink(missing_ok=True)

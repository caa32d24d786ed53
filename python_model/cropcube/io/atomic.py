"""The one atomic publish: outputs appear at their destination only when every one is complete.

Outputs are written under temporary names beside their destination and renamed into place together.
Temporary names are recognisable as cropcube's and say who wrote them::

    .<dest name>.cctmp.<host>.<pid>.<random><suffix>      e.g. .crops.tif.cctmp.1a2b3c4d.4242.k3j9x2.tif

so that a later run on the same destination removes what a killed run left (the temporary file and
GDAL's side files such as ``.ovr.tmp`` and ``.aux.xml``, which start with the same name) without touching
the files of a job that is still running: a file is an orphan when its writer ran on this host and that
process is gone (or the pid now belongs to a process started after the file was last written). Files
written by another host (a shared file system) are left alone for a day.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from cropcube.errors import InputError

TEMP_MARK = ".cctmp."
"""Marker in every temporary name cropcube writes."""
FOREIGN_ORPHAN_AGE_S = 24 * 3600.0
"""Temporary files of another host are removed only when older than this."""

_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"


def temp_path(dest: str | Path, suffix: str | None = None) -> Path:
    """A fresh temporary path beside ``dest`` (same folder, so the final rename is atomic).

    Args:
        dest: the destination.
        suffix: suffix of the temporary name (default: the destination's; GDAL picks drivers by it).
    """
    dest = Path(dest)
    name = f".{dest.name}{TEMP_MARK}{_HOST}.{os.getpid()}.{secrets.token_hex(4)}{suffix or dest.suffix}"
    return dest.with_name(name)


def _started_after(pid: int, when: float) -> bool:
    """True when process ``pid`` started after time ``when`` (so it cannot have written then)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat: start time in clock ticks after boot
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )  # fmt: skip
    except (OSError, IndexError, ValueError, StopIteration):
        return False  # cannot tell: treat as the writer, keep the file
    return boot + start_ticks / os.sysconf("SC_CLK_TCK") > when + 1.0


def _writer_gone(host: str, pid: int, mtime: float) -> bool:
    if host != _HOST:
        return time.time() - mtime > FOREIGN_ORPHAN_AGE_S
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    return _started_after(pid, mtime)


def remove_orphans(dest: str | Path) -> list[Path]:
    """Remove the temporary files that killed runs left beside ``dest``; return what was removed."""
    dest = Path(dest)
    removed: list[Path] = []
    prefix = f".{dest.name}{TEMP_MARK}"
    try:
        candidates = [p for p in dest.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for p in candidates:
        parts = p.name[len(prefix) :].split(".")
        try:
            host, pid = parts[0], int(parts[1])
            mtime = p.lstat().st_mtime
        except (IndexError, ValueError, OSError):
            continue
        if _writer_gone(host, pid, mtime):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    for side in tmp.parent.glob(tmp.name + ".*"):  # GDAL side files (.aux.xml, .ovr.tmp, .msk)
        side.unlink(missing_ok=True)


class Publication:
    """Several outputs staged under temporary names and renamed into place together.

    Stage every output, write each temporary file, then :meth:`publish`: nothing appears at a
    destination until all of them are complete. Outputs staged with ``last=True`` (the main output)
    are renamed after the others, so that its presence means its siblings are there too. Side files
    that GDAL wrote beside a temporary file (``<tmp>.aux.xml``: a raster attribute table, statistics)
    move with it to ``<dest>.aux.xml``; GDAL's own ``*.tmp`` leftovers are removed.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path, bool]] = []

    def stage(self, dest: str | Path, suffix: str | None = None, *, last: bool = False) -> Path:
        """The temporary path to write ``dest`` to (removing orphans of earlier killed runs first)."""
        dest = Path(dest)
        if dest.is_dir():
            raise InputError(str(dest), "is a directory, expected a file to write")
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_orphans(dest)
        tmp = temp_path(dest, suffix)
        self._staged.append((tmp, dest, last))
        return tmp

    @property
    def destinations(self) -> list[Path]:
        """The staged destinations, in the order they will be renamed into place."""
        return [dest for _, dest in self._order()]

    def _order(self) -> list[tuple[Path, Path]]:
        return [(t, d) for t, d, last in self._staged if not last] + [
            (t, d) for t, d, last in self._staged if last
        ]

    def publish(self) -> None:
        """Flush every temporary file to disk, then rename each onto its destination."""
        order = self._order()
        for tmp, _ in order:
            if not tmp.is_file():
                raise InputError(str(tmp), "internal: a staged output was never written")
            _fsync(tmp)
        for tmp, dest in order:
            sides = [p for p in tmp.parent.glob(tmp.name + ".*") if p.is_file()]
            for side in sides:
                if side.name.endswith(".tmp"):
                    side.unlink(missing_ok=True)
                else:
                    side.replace(dest.with_name(dest.name + side.name[len(tmp.name) :]))
            tmp.replace(dest)
        for folder in {dest.parent for _, dest in order}:
            with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
                _fsync(folder)
        self._staged.clear()

    def discard(self) -> None:
        """Remove every temporary file (and GDAL side file) staged so far."""
        for tmp, _, _ in self._staged:
            _discard(tmp)
        self._staged.clear()


@contextlib.contextmanager
def publication() -> Iterator[Publication]:
    """A :class:`Publication` published when the block succeeds and discarded on any exception."""
    pub = Publication()
    try:
        yield pub
        pub.publish()
    finally:
        pub.discard()


@contextlib.contextmanager
def atomic_output(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    On any exception, including KeyboardInterrupt, the temporary file is removed and ``path`` is left
    as it was. Temporary files of earlier killed runs on ``path`` are removed first.

    Args:
        path: final destination.
        suffix: suffix of the temporary file (default: the destination's).

    Yields:
        The temporary path to write to.
    """
    with publication() as pub:
        yield pub.stage(path, suffix)


@contextlib.contextmanager
def exclusive_output(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a job that keeps work files beside it) for the block.

    A second job on the same output fails at once with a clear error instead of sharing (and
    corrupting) the first job's work files. The lock is a ``.<name>.lock`` file locked with
    ``flock``, removed again when the block ends; the kernel drops the lock of a killed job.

    Raises:
        InputError: another process holds the lock.
    """
    path = Path(path)
    lock = path.with_name(f".{path.name}.lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                busy = "another cropcube job is writing this output now; wait for it or use another -o"
                raise InputError(str(path), busy) from None
            raise
        # The holder before us may have removed the lock file after we opened it: lock the live file.
        try:
            same = os.fstat(fd).st_ino == lock.stat().st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)

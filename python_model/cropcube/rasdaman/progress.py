"""The progress record of a resumable job: a JSON file of finished step keys and the job's hash.

The file is rewritten atomically after every finished step, so a kill leaves either the old or the new
record, never a broken one. A record written by a different job (other parameters) is refused unless
the caller asks to restart.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cropcube.errors import InputError
from cropcube.io import atomic_output

FORMAT = "cropcube-rasdaman-progress"


def job_hash(params: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the job parameters (canonical JSON)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class ProgressRecord:
    """Finished steps of one job, persisted at ``path``.

    Args:
        path: the JSON file.
        params: the job's parameters (anything JSON-able); their hash ties the record to the job.
        restart: discard a record of another job (or of this one) instead of failing/resuming.

    Raises:
        InputError: the file belongs to a different job and ``restart`` is false, or is unreadable.
    """

    def __init__(self, path: str | Path, params: dict[str, Any], restart: bool = False) -> None:
        self.path = Path(path)
        self.params = params
        self.hash = job_hash(params)
        self.finished: list[str] = []
        self.extra: dict[str, Any] = {}
        if self.path.exists() and not restart:
            try:
                data = json.loads(self.path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(
                    str(self.path), f"progress record is unreadable ({exc}); use --restart"
                ) from None
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise InputError(
                    str(self.path), "is not a cropcube progress record; use another path or --restart"
                )
            if data.get("job_hash") != self.hash:
                raise InputError(
                    str(self.path),
                    "progress record belongs to a different job (parameters changed); "
                    "pass --restart to start over or restore the original parameters",
                )
            self.finished = [str(k) for k in data.get("finished", [])]
            self.extra = dict(data.get("extra", {}))
        self._done = set(self.finished)

    @property
    def resumed(self) -> bool:
        """Whether steps were already finished when the record was opened."""
        return bool(self.finished)

    def is_done(self, key: str) -> bool:
        """Whether step ``key`` is finished."""
        return key in self._done

    def mark(self, key: str) -> None:
        """Record step ``key`` as finished (written to disk before returning)."""
        if key not in self._done:
            self._done.add(key)
            self.finished.append(key)
        self.save()

    def set(self, name: str, value: Any) -> None:
        """Store an extra value (e.g. "coverage created") and save."""
        self.extra[name] = value
        self.save()

    def save(self) -> None:
        """Write the record atomically."""
        doc = {
            "format": FORMAT,
            "job_hash": self.hash,
            "job": self.params,
            "finished": self.finished,
            "extra": self.extra,
        }
        with atomic_output(self.path) as tmp:
            tmp.write_text(json.dumps(doc, indent=1, default=str), "utf-8")

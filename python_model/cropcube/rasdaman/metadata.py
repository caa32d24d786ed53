"""The cropcube part of a coverage's global metadata: kind, layout, class table, provenance, data hash.

Stored as ``{"cropcube": "<JSON text>"}`` in the coverage metadata, the same through WCS-T and through
wcst_import (whose global metadata values are strings), and read back from DescribeCoverage.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.errors import InputError

KEY = "cropcube"


def data_hash(array: npt.NDArray[Any]) -> str:
    """``sha256:<hex>`` of an array's dtype, shape and bytes (C order)."""
    arr = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{arr.dtype.str}|{arr.shape}|".encode())
    h.update(arr.tobytes())
    return "sha256:" + h.hexdigest()


def encode(info: dict[str, Any]) -> str:
    """The coverage's global metadata JSON text for ``info``."""
    return json.dumps(
        {KEY: json.dumps(info, sort_keys=True, ensure_ascii=False, separators=(",", ":"))}, ensure_ascii=False
    )


def decode(text: str) -> dict[str, Any] | None:
    """The cropcube info in a coverage's metadata text, or None when it holds none.

    Accepts the JSON written by :func:`encode`, possibly wrapped in other text (petascope may return it
    inside an XML extension element).
    """
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        outer = json.loads(text[start : end + 1])
    except ValueError:
        return None
    inner = outer.get(KEY) if isinstance(outer, dict) else None
    if isinstance(inner, str):
        try:
            parsed = json.loads(inner)
        except ValueError:
            raise InputError("coverage metadata", "the cropcube entry is not valid JSON") from None
        return parsed if isinstance(parsed, dict) else None
    return inner if isinstance(inner, dict) else None

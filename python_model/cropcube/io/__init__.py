"""File input/output shared by every part of cropcube.

The one atomic publish (:mod:`~cropcube.io.atomic`), the one GeoTIFF/COG writer
(:mod:`~cropcube.io.geotiff`) and the checks of file arguments done before any work starts
(:mod:`~cropcube.io.checks`). Names are loaded on first use, so that ``cropcube.io.atomic`` (used by
the bundle writer and the UDF deployment) does not pull in rasterio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cropcube.io.atomic import atomic_output, exclusive_output, publication, remove_orphans
    from cropcube.io.checks import require_dir, require_file, require_output_dir, require_output_file
    from cropcube.io.geotiff import copy_to_cog, tiled_profile, write_geotiff

_HOMES = {
    "atomic_output": "atomic",
    "exclusive_output": "atomic",
    "publication": "atomic",
    "remove_orphans": "atomic",
    "require_dir": "checks",
    "require_file": "checks",
    "require_output_dir": "checks",
    "require_output_file": "checks",
    "copy_to_cog": "geotiff",
    "tiled_profile": "geotiff",
    "write_geotiff": "geotiff",
}
__all__ = [
    "atomic_output",
    "copy_to_cog",
    "exclusive_output",
    "publication",
    "remove_orphans",
    "require_dir",
    "require_file",
    "require_output_dir",
    "require_output_file",
    "tiled_profile",
    "write_geotiff",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)

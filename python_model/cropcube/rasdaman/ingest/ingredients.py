"""wcst_import ingredient files for the cropcube coverages, and a validator of what wcst_import accepts.

The validator encodes, from rasdaman community's sources at commit
d38e5efa612192f79e1c8716a7de00d65f12db93 (2023-03-02):

- ``applications/wcst_import/ingredients/ingredients_schema.json`` (the JSON schema ``wcst_import.py``
  checks every ingredient file against: allowed keys per section, value types, required
  ``config.service_url``, ``input.coverage_id``, ``recipe.name``);
- ``applications/wcst_import/recipes/general_coverage/recipe.py: Recipe.validate`` and
  ``master/recipe/base_recipe.py: validate_base`` (``options.coverage`` with ``crs`` and ``slicer``,
  slicer ``type`` and ``axes``, a ``min`` per axis, axis ``type`` date/number, metadata ``type``
  json/xml, band names ``^[a-zA-Z_0-9]+$`` from ``util/string_util.py``, ``import_order``
  ascending/descending/none, irregular axes with resolution 1, one axis per CRS axis);
- ``session.py`` (``coverage_id`` not empty, hook ``when`` values).

Global metadata values are Python expressions to wcst_import (``master/evaluator/sentence_evaluator.py``),
so literal text is written as a quoted Python string literal.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cropcube.errors import InputError
from cropcube.io import atomic_output
from cropcube.rasdaman import ids

SOURCE_COMMIT = "d38e5efa612192f79e1c8716a7de00d65f12db93"

_CONFIG_KEYS = {
    "service_url": str,
    "service_is_local": (bool, str),
    "mock": (bool, str),
    "automated": (bool, str),
    "blocking": (bool, str),
    "default_null_values": list,
    "tmp_directory": str,
    "crs_resolver": str,
    "url_root": str,
    "skip": (bool, str),
    "retry": (bool, str),
    "retries": (int, float),
    "retry_sleep": (int, float),
    "track_files": (bool, str),
    "resumer_dir_path": str,
    "slice_restriction": list,
    "description_max_no_slices": (int, float),
    "insitu": (bool, str),
    "black_listed": (bool, str),
    "subset_correction": (bool, str),
    "default_crs": str,
    "__comment__": str,
}
_INPUT_KEYS = {"coverage_id": str, "paths": list, "inspire": dict}
_OPTION_KEYS = {
    "import_order": str,
    "tiling": object,
    "wms_import": object,
    "scale_levels": object,
    "scale_factors": object,
    "import_overviews": list,
    "import_all_overviews": (bool, str),
    "import_overviews_only": (bool, str),
    "pyramid_members": list,
    "pyramid_harvesting": (bool, str),
    "pyramid_bases": list,
    "band_names": object,
    "__comment__": str,
    "coverage_id": str,
    "partitioning_scheme": list,
    "time_crs": str,
    "time_format": str,
    "time_parameter": dict,
    "time_start": str,
    "time_step": str,
    "time_tag": str,
    "wcs_endpoint": str,
    "envelope": object,
    "coverage": dict,
}
_COVERAGE_KEYS = {
    "crs": object,
    "metadata": dict,
    "grid_coverage": (bool, str),
    "slicer": dict,
    "__comment__": str,
}
_SLICER_KEYS = {"type": str, "subtype": str, "pixelIsPoint": (bool, str), "bands": list, "axes": dict}
_AXIS_KEYS = {
    "min": str,
    "max": str,
    "resolution": (int, float, str),
    "gridOrder": (int, float),
    "crsOrder": (int, float),
    "irregular": (bool, str),
    "regular": (bool, str),
    "statements": str,
    "directPositions": str,
    "dataBound": (bool, str),
    "sliceGroupSize": (int, float),
    "type": str,
    "crs_origin": str,
}
_KEY_PATTERN = re.compile(r"^[a-zA-Z_]+[a-zA-Z_0-9]+$")  # the schema's patternProperties (>= 2 chars)
_BAND_NAME = re.compile(r"^[a-zA-Z_0-9]+$")
_SLICERS = ("gdal", "netcdf", "grib")
_DATE_FROM_FILE_NAME = (
    r"datetime(regex_extract('${file:name}', '(\\d\\d\\d\\d-\\d\\d-\\d\\d)', 1), 'YYYY-MM-DD')"
)


def _check_keys(section: dict[str, Any], allowed: dict[str, Any], where: str, errors: list[str]) -> None:
    for key, value in section.items():
        if key not in allowed:
            errors.append(f"{where}: unknown option {key!r} (wcst_import rejects it)")
            continue
        kind = allowed[key]
        if kind is object:
            continue
        if isinstance(value, bool) and kind in ((int, float), (int, float, str)):
            errors.append(f"{where}.{key}: {value!r} must be a number")
        elif not isinstance(value, kind):
            errors.append(f"{where}.{key}: {value!r} has the wrong type")


def ingredient_errors(doc: Any) -> list[str]:
    """Every reason wcst_import (schema + general_coverage recipe validation) would reject ``doc``."""
    errors: list[str] = []
    if not isinstance(doc, dict):
        return ["ingredients: must be a JSON object"]
    for key in doc:
        if key not in ("config", "input", "recipe", "hooks"):
            errors.append(f"ingredients: unknown section {key!r}")
    config, inp, recipe = doc.get("config"), doc.get("input"), doc.get("recipe")
    if not isinstance(config, dict) or "service_url" not in config:
        errors.append("config: missing (needs at least service_url)")
    else:
        _check_keys(config, _CONFIG_KEYS, "config", errors)
    if not isinstance(inp, dict) or not str(inp.get("coverage_id", "")).strip():
        errors.append("input.coverage_id: missing or empty")
    else:
        _check_keys(inp, _INPUT_KEYS, "input", errors)
        if not all(isinstance(p, str) for p in inp.get("paths", [])):
            errors.append("input.paths: must be a list of strings")
    for hook in doc.get("hooks", []) or []:
        if not isinstance(hook, dict) or hook.get("when") not in (
            "before_import",
            "before_ingestion",
            "after_import",
            "after_ingestion",
        ):
            errors.append(f"hooks: {hook!r} needs 'when' before_import/after_import")
    if not isinstance(recipe, dict) or not isinstance(recipe.get("name"), str):
        errors.append("recipe.name: missing")
        return errors
    for key in recipe:
        if key not in ("name", "options"):
            errors.append(f"recipe: unknown option {key!r}")
    options = recipe.get("options", {})
    if not isinstance(options, dict):
        return [*errors, "recipe.options: must be an object"]
    _check_keys(options, _OPTION_KEYS, "recipe.options", errors)
    if options.get("import_order", "ascending") not in ("ascending", "descending", "none"):
        errors.append(
            f"recipe.options.import_order: {options['import_order']!r} is not ascending/descending/none"
        )
    if recipe["name"] == "general_coverage":
        errors += _general_coverage_errors(options)
    return errors


def _general_coverage_errors(options: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    coverage = options.get("coverage")
    if not isinstance(coverage, dict):
        return ["recipe.options.coverage: missing (general_coverage needs it)"]
    _check_keys(coverage, _COVERAGE_KEYS, "coverage", errors)
    if "crs" not in coverage:
        errors.append("coverage.crs: missing")
    meta = coverage.get("metadata")
    if meta is not None:
        if meta.get("type") not in ("json", "xml"):
            errors.append("coverage.metadata.type: must be 'json' or 'xml'")
        for part in ("global", "local"):
            if part in meta and not isinstance(meta[part], (dict, str)):
                errors.append(f"coverage.metadata.{part}: must be an object or a string")
            if isinstance(meta.get(part), str) and meta[part] != "auto":
                errors.append(f"coverage.metadata.{part}: a string value must be 'auto'")
    slicer = coverage.get("slicer")
    if not isinstance(slicer, dict):
        return [*errors, "coverage.slicer: missing"]
    _check_keys(slicer, _SLICER_KEYS, "coverage.slicer", errors)
    if slicer.get("type") not in _SLICERS:
        errors.append(f"coverage.slicer.type: {slicer.get('type')!r} is not one of {_SLICERS}")
    if slicer.get("type") in ("netcdf", "grib") and "bands" not in slicer:
        errors.append("coverage.slicer.bands: required by the netcdf/grib slicers")
    for i, band in enumerate(slicer.get("bands", []) or []):
        if not isinstance(band, dict):
            errors.append(f"coverage.slicer.bands[{i}]: must be an object")
            continue
        for key in band:
            if not _KEY_PATTERN.match(key):
                errors.append(f"coverage.slicer.bands[{i}]: key {key!r} is not allowed")
        name = str(band.get("name", ""))
        if name and not _BAND_NAME.match(name):
            errors.append(f"coverage.slicer.bands[{i}].name: {name!r} must match ^[a-zA-Z_0-9]+$")
    axes = slicer.get("axes")
    if not isinstance(axes, dict) or not axes:
        return [*errors, "coverage.slicer.axes: missing"]
    orders = []
    for name, axis in axes.items():
        where = f"coverage.slicer.axes.{name}"
        if not isinstance(axis, dict):
            errors.append(f"{where}: must be an object")
            continue
        if _KEY_PATTERN.match(name):  # the schema checks only names it matches (>= 2 chars)
            _check_keys(axis, _AXIS_KEYS, where, errors)
        if "min" not in axis:
            errors.append(f"{where}: no min value")
        if axis.get("type", "number") not in ("date", "ansidate", "number"):
            errors.append(f"{where}.type: {axis['type']!r} is not date or number")
        irregular = axis.get("irregular") in (True, "true")
        if axis.get("irregular") is False and "resolution" not in axis:
            errors.append(f"{where}: a regular axis needs a resolution")
        if irregular and "resolution" in axis and str(axis["resolution"]).strip() not in ("1", "1.0"):
            errors.append(f"{where}: an irregular axis must not set a resolution other than 1")
        if "sliceGroupSize" in axis and not irregular:
            errors.append(f"{where}: sliceGroupSize needs an irregular axis")
        if "gridOrder" in axis:
            orders.append(axis["gridOrder"])
    crs = coverage.get("crs")
    if isinstance(crs, str) and _crs_axes(crs) is not None and _crs_axes(crs) != len(axes):
        errors.append(
            f"coverage.crs: {crs!r} has {_crs_axes(crs)} axes but {len(axes)} are configured "
            "(recipe._read_axes needs one entry per CRS axis)"
        )
    if orders and sorted(orders) != list(range(len(orders))):
        errors.append(f"coverage.slicer.axes: gridOrder values {orders} are not 0..{len(orders) - 1}")
    if "tiling" in options and not isinstance(options["tiling"], str):
        errors.append("recipe.options.tiling: must be a string such as 'ALIGNED [0:499, 0:499]'")
    return errors


def _crs_axes(crs: str) -> int | None:
    """Number of axes of a compound ``A@B`` CRS of EPSG (2-D), AnsiDate/UnixTime (1) and IndexND parts."""
    total = 0
    for part in crs.split("@"):
        index = re.search(r"Index(\d)D", part)
        if index:
            total += int(index.group(1))
        elif "AnsiDate" in part or "UnixTime" in part:
            total += 1
        elif "EPSG" in part:
            total += 2
        else:
            return None
    return total


def check_ingredients(doc: dict[str, Any], where: str = "ingredients") -> None:
    """Raise if wcst_import would reject ``doc``.

    Raises:
        InputError: with every problem found.
    """
    errors = ingredient_errors(doc)
    if errors:
        raise InputError(where, "; ".join(errors))


def tiling_for(bytes_per_cell: int, time_steps: int = 0, target_bytes: int = 4 * 1024 * 1024) -> str:
    """Rasdaman ``ALIGNED`` tiling of about ``target_bytes`` per tile (square, edge a multiple of 16).

    A 3-D cube keeps all ``time_steps`` in one tile so that a time series is read in one go.
    """
    per_plane = bytes_per_cell * max(time_steps, 1)
    edge = max(16, min(1024, int(math.sqrt(target_bytes / per_plane)) // 16 * 16))
    size = edge * edge * per_plane
    if time_steps:
        return f"ALIGNED [0:{time_steps - 1}, 0:{edge - 1}, 0:{edge - 1}] TILE SIZE {size}"
    return f"ALIGNED [0:{edge - 1}, 0:{edge - 1}] TILE SIZE {size}"


def _python_literal(text: str) -> str:
    # wcst_import eval()s metadata values: a quoted literal keeps the text as it is.
    return repr(text)


def _config(service_url: str, resume_dir: Path) -> dict[str, Any]:
    return {
        "service_url": ids.endpoint(service_url),
        "tmp_directory": "/tmp/",
        "automated": True,
        "mock": False,
        "track_files": True,
        "resumer_dir_path": str(resume_dir),
        "retry": True,
        "retries": 5,
        "retry_sleep": 2,
        "subset_correction": False,
    }


def _en_axes(first_order: int) -> dict[str, Any]:
    return {
        "E": {
            "min": "${gdal:minX}",
            "max": "${gdal:maxX}",
            "gridOrder": first_order,
            "resolution": "${gdal:resolutionX}",
        },
        "N": {
            "min": "${gdal:minY}",
            "max": "${gdal:maxY}",
            "gridOrder": first_order + 1,
            "resolution": "${gdal:resolutionY}",
        },
    }


def coverage_ingredients(
    coverage_id: str,
    paths: Sequence[str | Path],
    service_url: str,
    bands: Sequence[tuple[str, str]],
    *,
    epsg: int,
    metadata_json: str,
    tiling: str,
    nil_value: int = 0,
    time_axis: bool = False,
    resume_dir: str | Path = ".",
) -> dict[str, Any]:
    """A ``general_coverage`` ingredient document with the GDAL slicer.

    Args:
        coverage_id: the coverage to create or extend.
        paths: the GeoTIFFs to import (one per date with ``time_axis``).
        service_url: petascope endpoint.
        bands: ``(name, description)`` per band, in file order.
        epsg: EPSG code of the files.
        metadata_json: the cropcube metadata text (see :mod:`cropcube.rasdaman.metadata`).
        tiling: rasdaman tiling clause.
        nil_value: nil value of every band.
        time_axis: add an irregular ``ansi`` axis whose date is the ``YYYY-MM-DD`` in each file name.
        resume_dir: where wcst_import keeps its ``<coverage>.resume.json``.
    """
    ids.coverage_id(coverage_id)
    if time_axis:
        axes: dict[str, Any] = {
            "ansi": {
                "min": _DATE_FROM_FILE_NAME,
                "gridOrder": 0,
                "type": "date",
                "irregular": True,
                "dataBound": False,
            },
            **_en_axes(1),
        }
        crs = f"OGC/0/AnsiDate@EPSG/0/{int(epsg)}"
    else:
        axes, crs = _en_axes(0), f"EPSG/0/{int(epsg)}"
    doc = {
        "config": _config(service_url, Path(resume_dir)),
        "input": {"coverage_id": coverage_id, "paths": [str(p) for p in paths]},
        "recipe": {
            "name": "general_coverage",
            "options": {
                "coverage": {
                    "crs": crs,
                    "metadata": {
                        "type": "json",
                        "global": {"cropcube": _python_literal(json.loads(metadata_json)["cropcube"])},
                    },
                    "slicer": {
                        "type": "gdal",
                        "bands": [
                            {
                                "name": name,
                                "identifier": str(i),
                                "nilValue": str(nil_value),
                                "description": desc,
                            }
                            for i, (name, desc) in enumerate(bands)
                        ],
                        "axes": axes,
                    },
                },
                "tiling": tiling,
                "import_order": "ascending",
                "wms_import": False,
            },
        },
    }
    check_ingredients(doc, f"ingredients for {coverage_id}")
    return doc


def write_ingredients(doc: dict[str, Any], path: str | Path) -> Path:
    """Write an ingredient file atomically (after validating it)."""
    check_ingredients(doc, str(path))
    path = Path(path)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False), "utf-8")
    return path

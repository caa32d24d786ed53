"""Validate STAC documents offline: STAC core 1.1.0 (from pystac) plus the vendored extension schemas."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

HERE = Path(__file__).parent / "stac_schemas"
EXTENSIONS = {
    "https://stac-extensions.github.io/mlm/v1.4.0/schema.json": "mlm-v1.4.0.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json": "projection-v2.0.0.json",
    "https://stac-extensions.github.io/classification/v1.1.0/schema.json": "classification-v1.1.0.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json": "raster-v1.1.0.json",
    "https://stac-extensions.github.io/processing/v1.1.0/schema.json": "processing-v1.1.0.json",
    "https://stac-extensions.github.io/processing/v1.0.0/schema.json": "processing-v1.1.0.json",
}
CORE = "https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json"


@lru_cache(maxsize=1)
def _registry() -> Registry:
    pystac_schemas = resources.files("pystac.validation").joinpath("jsonschemas")
    docs: dict[str, Any] = {}
    for name in (
        "item",
        "basics",
        "datetime",
        "instrument",
        "licensing",
        "provider",
        "common",
        "bands",
        "data-values",
    ):
        docs[f"https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/{name}.json"] = json.loads(
            pystac_schemas.joinpath(f"stac-spec/v1.1.0/{name}.json").read_text()
        )
    for name in ("Feature", "Geometry"):
        docs[f"https://geojson.org/schema/{name}.json"] = json.loads(
            pystac_schemas.joinpath(f"geojson/{name}.json").read_text()
        )
    docs["https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/commonjson"] = docs[  # sic, upstream $id
        "https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/common.json"
    ]
    for uri, file in EXTENSIONS.items():
        docs[uri] = json.loads((HERE / file).read_text())
    return Registry().with_resources(
        (uri, Resource.from_contents(doc, default_specification=DRAFT7)) for uri, doc in docs.items()
    )


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The innermost errors (a oneOf/anyOf failure says little; its sub-errors say what is wrong)."""
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def validate_stac(document: dict[str, Any]) -> list[str]:
    """Validate an Item against the core schema and each of its ``stac_extensions``; raise on error.

    Returns:
        The schema URIs it was validated against.
    """
    uris = [CORE, *document.get("stac_extensions", [])]
    registry = _registry()
    for uri in uris:
        if uri not in registry:
            raise AssertionError(f"no offline schema for {uri}")
        schema = registry.contents(uri)
        cls = jsonschema.validators.validator_for(schema)
        errors = list(cls(schema, registry=registry).iter_errors(document))
        if errors:
            leaves = [e for err in errors for e in _leaves(err)]
            detail = "; ".join(
                f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in leaves[:8]
            )
            raise AssertionError(f"invalid against {uri}: {detail}")
    return uris

"""Run wcst_import's own ``general_coverage`` Recipe.validate() on an ingredient file (subprocess helper).

Usage: python wcst_import_recipe_check.py WCST_IMPORT_DIR INGREDIENTS.json SCRATCH_DIR
Prints VALID, or exits non-zero with wcst_import's RecipeValidationException. GDAL/netCDF/lxml bindings
are stubbed (validation does not open files); every input path is replaced by an empty scratch file.
"""

from __future__ import annotations

import json
import os
import sys
import types


def main() -> None:
    src, ingredients, scratch = sys.argv[1:4]
    doc = json.load(open(ingredients))  # noqa: SIM115, PTH123
    sys.path.insert(0, src)
    for name in ("osgeo", "osgeo.gdal", "osgeo.ogr", "osgeo.osr", "lxml", "lxml.etree", "netCDF4", "pygrib"):
        sys.modules[name] = types.ModuleType(name)
    for sub in ("gdal", "ogr", "osr"):
        setattr(sys.modules["osgeo"], sub, sys.modules[f"osgeo.{sub}"])
    from config_manager import ConfigManager  # type: ignore[import-not-found]
    from recipes.general_coverage.recipe import Recipe  # type: ignore[import-not-found]
    from util.file_util import File  # type: ignore[import-not-found]

    class Session:
        def __init__(self) -> None:
            self.files: list[object] = []

        def get_recipe(self) -> dict:  # type: ignore[type-arg]
            return doc["recipe"]

        def get_coverage_id(self) -> str:
            return str(doc["input"]["coverage_id"])

        def get_wcs_service(self) -> str:
            return str(doc["config"]["service_url"])

        def get_crs_resolver(self) -> str:
            return "http://localhost:8080/def/"

        def get_recipe_name(self) -> str:
            return str(doc["recipe"]["name"])

        def get_files(self) -> list[object]:
            return self.files

    session = Session()
    for i, _ in enumerate(doc["input"]["paths"]):
        path = os.path.join(scratch, f"input_{i}.tif")  # noqa: PTH118
        open(path, "wb").close()  # noqa: PTH123
        session.files.append(File(path))
    ConfigManager.tmp_directory = scratch + "/"
    Recipe(session).validate()
    print("VALID")


if __name__ == "__main__":
    main()

"""Generated ingredient files against our encoding of wcst_import's rules, and against its real schema."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cropcube.errors import InputError
from cropcube.rasdaman import metadata
from cropcube.rasdaman.ingest.ingredients import (
    SOURCE_COMMIT,
    check_ingredients,
    coverage_ingredients,
    ingredient_errors,
    tiling_for,
)

MIRROR = Path("/work/.mirror/kalxas+rasdaman/repo")
SCHEMA_PATH = "applications/wcst_import/ingredients/ingredients_schema.json"


def _features(**kw: Any) -> dict[str, Any]:
    bands = [(f"Band_{i}", f"2018-01-08_B0{i}") for i in range(1, 29)]
    args: dict[str, Any] = dict(
        epsg=32631, metadata_json=metadata.encode({"kind": "features", "x": "a'b\"c"}), tiling=tiling_for(56)
    )
    args.update(kw)
    return coverage_ingredients(
        "S2_2018", ["/data/cube.tif"], "http://localhost:8080/rasdaman/ows", bands, **args
    )


def _three_d() -> dict[str, Any]:
    return _features(time_axis=True, tiling=tiling_for(8, 7))


def test_generated_documents_are_valid() -> None:
    for doc in (_features(), _three_d()):
        assert ingredient_errors(doc) == []
    doc = _three_d()
    axes = doc["recipe"]["options"]["coverage"]["slicer"]["axes"]
    assert [axes[a]["gridOrder"] for a in ("ansi", "E", "N")] == [0, 1, 2]
    assert axes["ansi"]["irregular"] is True and "resolution" not in axes["ansi"]
    assert tiling_for(56) == "ALIGNED [0:271, 0:271] TILE SIZE 4143104"


def test_metadata_literal_evaluates_back_to_the_json() -> None:
    # wcst_import eval()s global metadata values (sentence_evaluator.py): the literal must give our text back
    doc = _features()
    literal = doc["recipe"]["options"]["coverage"]["metadata"]["global"]["cropcube"]
    assert json.loads(eval(literal, {"__builtins__": {}}, {})) == {"kind": "features", "x": "a'b\"c"}


MUTATIONS = [
    (lambda d: d["config"].pop("service_url"), "service_url"),
    (lambda d: d["config"].__setitem__("serviceurl", "x"), "unknown option 'serviceurl'"),
    (lambda d: d["input"].__setitem__("coverage_id", " "), "coverage_id"),
    (lambda d: d["recipe"]["options"].__setitem__("tilling", "x"), "unknown option 'tilling'"),
    (lambda d: d["recipe"]["options"]["coverage"].pop("crs"), "coverage.crs"),
    (lambda d: d["recipe"]["options"]["coverage"]["slicer"].__setitem__("type", "tiff"), "slicer.type"),
    (
        lambda d: d["recipe"]["options"]["coverage"]["slicer"]["bands"][0].__setitem__("name", "Band 1"),
        "name",
    ),
    (lambda d: d["recipe"]["options"]["coverage"]["slicer"]["axes"]["N"].pop("min"), "no min"),
    (lambda d: d["recipe"]["options"]["coverage"]["slicer"]["axes"].pop("N"), "axes"),
    (lambda d: d["recipe"]["options"].__setitem__("import_order", "random"), "import_order"),
    (lambda d: d["recipe"]["options"]["coverage"]["metadata"].__setitem__("type", "yaml"), "metadata.type"),
    (lambda d: d["recipe"]["options"]["coverage"].__setitem__("tiling", "x"), "unknown option 'tiling'"),
    (lambda d: d["config"].__setitem__("retries", "5"), "retries"),
]


@pytest.mark.parametrize("mutate,needle", MUTATIONS)
def test_validator_rejects_what_wcst_import_rejects(mutate: Any, needle: str) -> None:
    doc = _features()
    mutate(doc)
    errors = ingredient_errors(doc)
    assert any(needle in e for e in errors), errors
    with pytest.raises(InputError):
        check_ingredients(doc)


def test_unknown_axis_option_is_rejected_where_the_schema_checks_it() -> None:
    # the schema's axis pattern needs >= 2 characters: "ansi" is checked, single-letter "E"/"N" are not
    doc = _three_d()
    doc["recipe"]["options"]["coverage"]["slicer"]["axes"]["ansi"]["gridorder"] = 0
    assert any("gridorder" in e for e in ingredient_errors(doc))
    doc = _three_d()
    doc["recipe"]["options"]["coverage"]["slicer"]["axes"]["N"]["gridorder"] = 2
    assert ingredient_errors(doc) == []


def test_irregular_axis_with_resolution_is_rejected() -> None:
    doc = _three_d()
    doc["recipe"]["options"]["coverage"]["slicer"]["axes"]["ansi"]["resolution"] = 2
    assert any("irregular" in e for e in ingredient_errors(doc))


def _schema(tmp_path: Path) -> dict[str, Any]:
    if not MIRROR.is_dir() or shutil.which("git") is None:
        pytest.skip(
            f"rasdaman source mirror not found at {MIRROR} (optional cross-check with the real schema)"
        )
    out = subprocess.run(
        ["git", f"--git-dir={MIRROR}", "show", f"{SOURCE_COMMIT}:{SCHEMA_PATH}"],
        capture_output=True,
        check=False,
    )
    if out.returncode != 0:
        pytest.skip(f"commit {SOURCE_COMMIT[:8]} not in the mirror")
    return json.loads(out.stdout)


def test_generated_documents_pass_wcst_imports_own_schema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema (dev extra) validates like wcst_import.py"
    )
    schema = _schema(tmp_path)
    for doc in (_features(), _three_d()):
        jsonschema.validate(doc, schema)


@pytest.mark.parametrize(
    "mutate,needle", [m for m in MUTATIONS if "unknown option" in m[1] or "retries" in m[1]]
)
def test_schema_level_mutations_agree_with_wcst_imports_schema(
    tmp_path: Path, mutate: Any, needle: str
) -> None:
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema (dev extra) validates like wcst_import.py"
    )
    schema = _schema(tmp_path)
    doc = copy.deepcopy(_features())
    mutate(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


@pytest.fixture(scope="module")
def wcst_import_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MIRROR.is_dir() or shutil.which("git") is None or shutil.which("tar") is None:
        pytest.skip(
            f"rasdaman source mirror not found at {MIRROR} (optional check with wcst_import's own code)"
        )
    out = tmp_path_factory.mktemp("rasdaman_src")
    archive = subprocess.run(
        ["git", f"--git-dir={MIRROR}", "archive", SOURCE_COMMIT, "applications/wcst_import"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {SOURCE_COMMIT[:8]} not in the mirror")
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out / "applications" / "wcst_import"


def _recipe_check(src: Path, doc: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "ingredients.json"
    path.write_text(json.dumps(doc))
    helper = Path(__file__).with_name("wcst_import_recipe_check.py")
    return subprocess.run(
        [sys.executable, str(helper), str(src), str(path), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_wcst_imports_own_recipe_validation_accepts_ours(wcst_import_src: Path, tmp_path: Path) -> None:
    for doc in (_features(), _three_d()):
        result = _recipe_check(wcst_import_src, doc, tmp_path)
        assert result.returncode == 0 and "VALID" in result.stdout, result.stderr[-2000:]


def test_wcst_imports_own_recipe_validation_rejects_a_bad_axis_type(
    wcst_import_src: Path, tmp_path: Path
) -> None:
    doc = _three_d()
    doc["recipe"]["options"]["coverage"]["slicer"]["axes"]["ansi"]["type"] = "time"
    assert any("ansi.type" in e for e in ingredient_errors(doc))  # ours says so too
    result = _recipe_check(wcst_import_src, doc, tmp_path)
    assert result.returncode != 0 and "Invalid axis type" in result.stderr

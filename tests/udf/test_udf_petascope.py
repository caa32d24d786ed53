"""The WCPS class crop.Classify, compiled and run against stand-ins: it calls what deploy registers."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cropcube.rasdaman.udf import deploy

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "udf" / "petascope" / "src" / "main" / "java" / "crop" / "Classify.java"
STUBS = Path(__file__).resolve().parent / "java_stubs"


@pytest.mark.slow
def test_class_compiles_and_describes_the_result(tmp_path: Path) -> None:
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK (javac/java) on this machine")
    stubs = [str(p) for p in STUBS.rglob("*.java")]
    subprocess.run(
        ["javac", "-d", str(tmp_path), str(SOURCE), *stubs], check=True, capture_output=True, text=True
    )
    out = subprocess.run(
        ["java", "-cp", str(tmp_path), "ClassifyCheck"], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    # petascope finds the class of a WCPS call ns.fn as <ns>.<Fn>, and the class must call the rasql
    # function that deploy registers: both taken from the statement deploy really sends.
    registered = re.match(r"create function (\w+)\.(\w+) ", deploy.create_statement("cpp"))
    assert registered is not None
    namespace, function = registered.groups()
    assert (tmp_path / namespace / f"{function.capitalize()}.class").is_file()  # package + class name
    assert out[0] == f"rasql={namespace}.{function}(c[250:499, 1000:1249])"
    assert out[1] == "ranges=1"
    assert out[2] == "field=crop_class unsignedByte nil=0 nilValues=0"
    assert out[3] == "grid_kept=true crs=http://localhost:8080/def/crs/EPSG/0/32631"
    assert out[4].startswith("3d=InvalidRequest: crop.classify in WCPS takes a 2-D (E, N) coverage")

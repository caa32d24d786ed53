"""The C++ UDF path (the adapter crop.so uses, driven by cropcube_udf_run) on a coverage made from a GeoTIFF.

rasdaman hands a coverage cutout as cells [E index][N index] (last axis fastest) with the cutout's
grid domain, not re-based to 0. These tests build exactly those bytes for every layout the adapter
accepts and check the map pixel for pixel against classifying the same pixels as a GeoTIFF, and that
the output domain puts the map on the same grid (same georeferencing).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import rasterio
from udf_scene import ROOT, S2_TIF, WINDOW

from cropcube.inference.classifier import Classifier

pytestmark = pytest.mark.cpp
T, C = 7, 4


@pytest.fixture(scope="module")
def udf_run() -> Path:
    exe = Path(os.environ.get("CROPCUBE_UDF_RUN", ROOT / "udf" / "build" / "rasdaman" / "cropcube_udf_run"))
    if not exe.is_file():
        pytest.skip(f"{exe} not built (scripts/test_cpp.sh builds it; or set CROPCUBE_UDF_RUN)")
    return exe


def rasdaman_cells(data: npt.NDArray[np.uint16], three_d: bool, layout: str) -> npt.NDArray[np.uint16]:
    """The bytes rasdaman holds for (28, H, W) image data: [E][N] cells, last axis fastest."""
    h, w = data.shape[1:]
    if not three_d:  # [e][n][k] or [k][e][n]
        cells = data.transpose(2, 1, 0) if layout == "pixel" else data.transpose(0, 2, 1)
    else:  # [t][e][n][c] or [c][t][e][n]
        tc = data.reshape(T, C, h, w)
        cells = tc.transpose(0, 3, 2, 1) if layout == "pixel" else tc.transpose(1, 0, 3, 2)
    return np.ascontiguousarray(cells)


def run_udf(
    exe: Path, model: Path, domain: str, type_name: str, bands: int, layout: str, cells: np.ndarray, tmp: Path
) -> subprocess.CompletedProcess[str]:
    src, out = tmp / "cells.raw", tmp / "classes.raw"
    cells.tofile(src)
    env = os.environ | {"CROPCUBE_MODEL": str(model)}
    cmd = [
        str(exe),
        "--domain",
        domain,
        "--type",
        type_name,
        "--bands",
        str(bands),
        "--layout",
        layout,
        str(src),
        str(out),
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("three_d", [False, True], ids=["2d_28band", "3d_4band"])
@pytest.mark.parametrize("layout", ["pixel", "channel"])
def test_udf_map_equals_geotiff_map_and_grid(
    udf_run: Path,
    udf_bundle: Path,
    shared_data: Path,
    s2_window: tuple[Path, npt.NDArray[np.uint16]],
    tmp_path: Path,
    three_d: bool,
    layout: str,
) -> None:
    window_tif, data = s2_window
    with rasterio.open(window_tif) as src:
        reference = Classifier(model=udf_bundle, backend="python").classify_array(src.read())
        window_transform = src.transform
    # The coverage is the whole scene imported with grid order E (0) = col, N (1) = row; the cutout
    # of WINDOW therefore has grid domain [col_off : col_off+W-1, row_off : row_off+H-1].
    e0, n0 = WINDOW.col_off, WINDOW.row_off
    e1, n1 = e0 + WINDOW.width - 1, n0 + WINDOW.height - 1
    domain = f"{e0}:{e1},{n0}:{n1}"
    if three_d:
        domain = f"0:{T - 1}," + domain
    done = run_udf(
        udf_run,
        udf_bundle,
        domain,
        "ushort",
        C if three_d else T * C,
        layout,
        rasdaman_cells(data, three_d, layout),
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"[{e0}:{e1},{n0}:{n1}]"  # same spatial domain, not re-based

    classes = np.fromfile(tmp_path / "classes.raw", dtype=np.uint8).reshape(WINDOW.width, WINDOW.height)
    np.testing.assert_array_equal(classes.T, reference)  # [E][N] -> [row][col]

    # Georeferencing: the output's grid domain on the coverage grid is where the GeoTIFF map lies.
    with rasterio.open(shared_data / S2_TIF) as scene:
        coverage_transform = scene.transform
    assert coverage_transform @ (e0, n0) == (window_transform.c, window_transform.f)
    assert (coverage_transform.a, coverage_transform.e) == (window_transform.a, window_transform.e)


GOOD = np.full((4, 3, 28), 1500, dtype=np.uint16)


@pytest.mark.parametrize(
    ("domain", "type_name", "bands", "cells", "message"),
    [
        ("0:3,0:2", "char", 28, GOOD.astype(np.uint8), "(char bands) is not supported"),
        ("0:3,0:2", "double", 28, GOOD.astype(np.float64), "(double bands) is not supported"),
        ("0:3,0:2", "ushort", 27, GOOD[..., :27], "2-D input cells have 27 bands; this model needs 28"),
        ("0:11", "ushort", 28, GOOD, "input is 1-D"),
        ("0:0,0:3,0:2,0:0", "ushort", 28, GOOD, "input is 4-D"),
        ("5:4,0:2", "ushort", 28, GOOD[:0], "is empty on axis 0"),
        ("0:3,0:3", "ushort", 28, GOOD, "needs 896"),
    ],
)
def test_bad_input_gives_a_clean_error(
    udf_run: Path,
    udf_bundle: Path,
    tmp_path: Path,
    domain: str,
    type_name: str,
    bands: int,
    cells: np.ndarray,
    message: str,
) -> None:
    done = run_udf(udf_run, udf_bundle, domain, type_name, bands, "pixel", cells, tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("crop.classify: ")
    assert message in done.stderr
    assert not (tmp_path / "classes.raw").exists()  # nothing half-written


def test_missing_bundle_gives_a_clean_error(udf_run: Path, tmp_path: Path) -> None:
    done = run_udf(udf_run, tmp_path / "no_such_bundle.pt", "0:3,0:2", "ushort", 28, "pixel", GOOD, tmp_path)
    assert done.returncode == 1
    assert "crop.classify: cannot open model bundle" in done.stderr
    assert "no_such_bundle.pt" in done.stderr

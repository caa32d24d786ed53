"""classify_file's phases: nothing published before every product is complete, the bundle named when it is
at fault, grid facts checked, NaN handled as the message advises, orphans of a SIGKILLed run removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.cube_spec import REFERENCE_2018_SPEC
from cropcube.errors import InputError
from cropcube.inference import Classifier, classify_file, files
from cropcube.io import write_geotiff
from cropcube.maps.cropland import not_cropland
from cropcube.readers.grid import Grid, require_model_grid

PUBLISHED = [  # every product of a run with confidence and quicklook, no parcels
    "crops.json",
    "crops.png",
    "crops.qml",
    "crops.stac.json",
    "crops.tif",
    "crops.tif.aux.xml",
    "crops_confidence.tif",
]

UTM = Affine(10, 0, 677400, 0, -10, 5836760)


def _cube(path: Path, data: np.ndarray, crs: str = "EPSG:32631", transform: Affine = UTM) -> Path:
    return write_geotiff(
        path, data, transform, crs, descriptions=REFERENCE_2018_SPEC.descriptions(), cog=False
    )


@pytest.fixture
def cube_file(cube: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The realistic 150 x 130 field cube of conftest.py as a GeoTIFF on a 10 m UTM grid."""
    return _cube(tmp_path_factory.mktemp("cube") / "cube.tif", cube)


def _published(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_failing_product_publishes_nothing_and_the_rerun_resumes(
    cube, cube_file, bundle_path, tmp_path, monkeypatch
):
    out = tmp_path / "crops.tif"
    clf = Classifier(bundle_path, tile_size=64)
    kw = {"classifier": clf, "block_size": 64, "progress": False, "confidence": True, "checkpoint_seconds": 0}

    def broken_quicklook(run: files.MapRun, pub: object) -> None:
        assert run.class_map.is_file()  # the class map is complete, but not yet published
        raise InputError("quicklook", "the legend cannot be drawn")

    products = list(files.PRODUCTS)
    at = products.index(files.write_quicklook_png)
    monkeypatch.setattr(files, "PRODUCTS", [*products[:at], broken_quicklook, *products[at + 1 :]])
    with pytest.raises(InputError, match="legend"):
        classify_file(cube_file, out, **kw)
    # Nothing published, no temporary file; the work files stay for a resume (a checkpoint exists).
    assert _published(tmp_path) == [
        ".crops.tif.work.json",
        ".crops.tif.work.tif",
        ".crops.tif.work_confidence.tif",
    ]

    monkeypatch.setattr(files, "PRODUCTS", products)
    calls = []
    monkeypatch.setattr(clf, "run", lambda *a, **k: calls.append(1))  # every block was done before
    summary = classify_file(cube_file, out, **kw)
    assert calls == []
    assert _published(tmp_path) == PUBLISHED
    expected = Classifier(bundle_path, backend="python", tile_size=4096).classify_array(cube)
    expected[not_cropland(cube, REFERENCE_2018_SPEC)] = 0
    with rasterio.open(out) as ds:
        np.testing.assert_array_equal(ds.read(1), expected)
    assert sum(summary.class_counts.values()) + summary.nodata_pixels == 150 * 130


class _WritesClass87:
    """A classifier whose module writes a class its metadata does not declare (76 classes)."""

    def __init__(self, clf: Classifier) -> None:
        self.clf, self.metadata, self.model_path = clf, clf.metadata, clf.model_path
        self.backend, self.device, self.tile_size = clf.backend, clf.device, clf.tile_size

    def run(self, *args, **kwargs):
        maps = self.clf.run(*args, **kwargs)
        maps.classes[0, :3] = 87
        return maps


def test_classes_beyond_the_bundle_name_the_bundle_and_publish_nothing(cube_file, bundle_path, tmp_path):
    out = tmp_path / "crops.tif"
    wrong = _WritesClass87(Classifier(bundle_path))
    with pytest.raises(InputError) as err:
        classify_file(cube_file, out, classifier=wrong, progress=False)
    assert err.value.what == str(bundle_path) and "class index 87" in err.value.problem
    assert "declares 76 classes" in err.value.problem
    assert _published(tmp_path) == []  # and no work files: a rerun must not resume a wrong map


@pytest.mark.parametrize(
    ("crs", "transform", "ok"),
    [
        ("EPSG:32631", UTM, True),
        ("EPSG:32632", Affine(10, 0, 300000, 0, -10, 5600000), True),  # another UTM zone: same pixels
        ("EPSG:32631", Affine(10.05, 0, 677400, 0, -10.05, 5836760), True),  # within 1 %
        ("EPSG:32631", Affine(20, 0, 677400, 0, -20, 5836760), False),
        ("EPSG:32631", Affine(10, 0, 677400, 0, -20, 5836760), False),
        ("EPSG:4326", Affine(1e-4, 0, 5.7, 0, -1e-4, 52.8), False),
        ("EPSG:2263", Affine(10, 0, 980000, 0, -10, 200000), False),  # feet
    ],
)
def test_the_grid_facts_rule(crs: str, transform: Affine, ok: bool) -> None:
    grid = Grid(crs, transform, 100, 100)
    if ok:
        require_model_grid(grid, REFERENCE_2018_SPEC, "cube.tif", "model.pt")
    else:
        with pytest.raises(InputError) as err:
            require_model_grid(grid, REFERENCE_2018_SPEC, "cube.tif", "model.pt")
        assert err.value.what == "cube.tif" and "model.pt" in err.value.problem


def test_nonfinite_nodata_does_what_the_error_advises(cube, bundle_path, tmp_path):
    data = cube[:, :40, :40].astype(np.float32)
    data[:, 5, 7] = np.nan
    cube = _cube(tmp_path / "nan.tif", data)
    args = [
        "classify",
        str(cube),
        "-o",
        str(tmp_path / "c.tif"),
        "--model",
        str(bundle_path),
        "--no-progress",
    ]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "nonfinite" in refused.output
    done = CliRunner().invoke(app, [*args, "--nonfinite", "nodata"])
    assert done.exit_code == 0, done.output
    with rasterio.open(tmp_path / "c.tif") as ds:
        classes = ds.read(1)
    assert classes[5, 7] == 0 and (classes > 0).sum() == 40 * 40 - 1


_KILLED_IN_PUBLISH = textwrap.dedent(
    """
    import sys, time
    from cropcube.inference import files

    def stall(run, pub):
        print("publishing", flush=True)  # the class-map COG and the confidence COG are written
        time.sleep(120)

    files.PRODUCTS.insert(files.PRODUCTS.index(files.write_confidence_map) + 1, stall)
    files.classify_file(sys.argv[1], sys.argv[2], model=sys.argv[3], confidence=True, progress=False)
    """
)


def test_a_run_killed_while_publishing_leaves_nothing_the_next_run_keeps(cube_file, bundle_path, tmp_path):
    out = tmp_path / "crops.tif"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_IN_PUBLISH, str(cube_file), str(out), str(bundle_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "publishing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    left = _published(tmp_path)
    assert "crops.tif" not in left and any(".crops.tif.cctmp." in n for n in left)  # orphans of the kill
    assert any(".crops_confidence.tif.cctmp." in n for n in left)
    classify_file(cube_file, out, model=bundle_path, confidence=True, progress=False)
    assert _published(tmp_path) == PUBLISHED

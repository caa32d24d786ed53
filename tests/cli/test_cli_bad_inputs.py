"""The user-facing table of bad inputs: every CLI entry point, each bad input with the outcome it must give.

Each row is one distinct bad input: the command line, the exit status (2: a usage error or a bad
input; the message names the option or the file) and words the message must contain. Every case
also checks that nothing was lost or half-written: the case's output folder holds no new file, and
no input file changed (byte for byte).

Cheap by construction: tiny inputs (a 64 x 64 scene), run in-process, and the checks in the commands
come before any heavy work, which the rows also prove (a run that got as far as classifying would
take longer and leave work files, which the output-folder check would see).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shlex
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cropcube.cli.main import app

Setup = Callable[[dict[str, Path], Path], dict[str, str]]


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv`` (``{name}`` = a file of the fixture, ``{out}`` = the case's empty folder)."""

    id: str
    argv: str
    says: tuple[str, ...]
    code: int = 2
    setup: Setup | None = None
    env: dict[str, str] = field(default_factory=dict)


def _dir_at(rel: str) -> Setup:
    def setup(files: dict[str, Path], out: Path) -> dict[str, str]:
        (out / rel).mkdir(parents=True)
        return {}

    return setup


def _link_to(name: str, kind: str) -> Setup:
    """``{link}``: a symbolic link, hard link or ``..`` spelling of fixture file ``name``."""

    def setup(files: dict[str, Path], out: Path) -> dict[str, str]:
        target = files[name]
        if kind == "symlink":
            link = out.parent / f"{out.name}_link{target.suffix}"
            link.symlink_to(target)
        elif kind == "hardlink":
            link = out.parent / f"{out.name}_hard{target.suffix}"
            os.link(target, link)
        else:
            link = target.parent / ".." / target.parent.name / target.name
        return {"link": str(link)}

    return setup


_HELD: list[int] = []


def _locked(rel: str) -> Setup:
    """Another job holds the output's lock (a flock on another open file description)."""

    def setup(files: dict[str, Path], out: Path) -> dict[str, str]:
        fd = os.open(out / f".{rel}.lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _HELD.append(fd)
        return {}

    return setup


def C(id: str, argv: str, *says: str, **kw: object) -> Case:  # noqa: N802
    return Case(id, argv, says, **kw)  # type: ignore[arg-type]


CLASSIFY = "classify {cube} -o {out}/crops.tif --model {bundle} --no-progress"
CASES: list[Case] = [
    # -- cropcube classify: the cube -------------------------------------------------------------
    C("classify-cube-missing", "classify {missing} -o {out}/c.tif", "missing.tif", "does not exist"),
    C("classify-cube-dir", "classify {empty_dir} -o {out}/c.tif", "empty_dir", "is a directory"),
    C(
        "classify-cube-broken-link",
        "classify {broken_link} -o {out}/c.tif",
        "broken_link.tif",
        "broken symbolic link",
    ),
    C("classify-cube-text", "classify {text} -o {out}/c.tif --model {bundle}", "notes.txt", "not a raster"),
    C(
        "classify-cube-text-tif",
        "classify {text_tif} -o {out}/c.tif --model {bundle}",
        "text.tif",
        "not a raster",
    ),
    C(
        "classify-cube-empty",
        "classify {empty_tif} -o {out}/c.tif --model {bundle}",
        "empty.tif",
        "not a raster",
    ),
    C(
        "classify-cube-truncated",
        "classify {cube_truncated} -o {out}/c.tif --model {bundle} --no-progress",
        "cube_truncated.tif",
        "truncated or corrupt",
    ),
    C(
        "classify-cube-cut-header",
        "classify {cube_cut_header} -o {out}/c.tif --model {bundle} --no-progress",
        "cube_cut_header.tif",
        "not a raster, or corrupt",
    ),
    C(
        "classify-cube-4326",
        "classify {cube_4326} -o {out}/c.tif --model {bundle}",
        "cube_4326.tif",
        "geographic",
    ),
    C(
        "classify-cube-20m",
        "classify {cube_20m} -o {out}/c.tif --model {bundle}",
        "cube_20m.tif",
        "pixel size 20 x 20 m",
    ),
    C(
        "classify-cube-feet",
        "classify {cube_feet} -o {out}/c.tif --model {bundle}",
        "cube_feet.tif",
        "expects metres",
    ),
    C(
        "classify-cube-nocrs",
        "classify {cube_nocrs} -o {out}/c.tif --model {bundle}",
        "cube_nocrs.tif",
        "no coordinate reference",
    ),
    C(
        "classify-cube-rotated",
        "classify {cube_rotated} -o {out}/c.tif --model {bundle}",
        "cube_rotated.tif",
        "rotated",
    ),
    C(
        "classify-cube-27-bands",
        "classify {cube_27} -o {out}/c.tif --model {bundle}",
        "cube_27.tif",
        "27 bands",
    ),
    C(
        "classify-cube-uint8",
        "classify {cube_uint8} -o {out}/c.tif --model {bundle}",
        "cube_uint8.tif",
        "uint8",
    ),
    C(
        "classify-cube-partial-descriptions",
        "classify {cube_partial_desc} -o {out}/c.tif --model {bundle}",
        "cube_partial_desc.tif",
        "not a full grid",
    ),
    C(
        "classify-cube-nan",
        "classify {cube_nan} -o {out}/c.tif --model {bundle} --no-progress --backend python",
        "cube_nan.tif",
        "NaN",
        "nonfinite",
    ),
    C(
        "classify-cube-nan-native",
        "classify {cube_nan} -o {out}/c.tif --model {bundle} --no-progress --backend native",
        "cube_nan.tif",
        "nonfinite",
    ),
    C(
        "classify-cube-labels-raster",
        "classify {labels} -o {out}/c.tif --model {bundle}",
        "labels.tif",
        "uint8 is not a cube dtype",
    ),
    C(
        "classify-cube-gpkg",
        "classify {parcels} -o {out}/c.tif --model {bundle}",
        "parcels.gpkg",
        "not a raster",
    ),
    # -- classify: the cube's dates (issue 13; a format-2 bundle takes 3..12 dates in day 1..335) ----
    C(
        "classify-descriptions-without-dates",
        "classify {cube_undated_desc} -o {out}/c.tif --model {bundle2}",
        "cube_undated_desc.tif",
        "band 1 description 'B02' has no date",
        "--dates",
    ),
    C(
        "classify-dates-duplicate",
        "classify {cube} -o {out}/c.tif --model {bundle2} --dates "
        "2018-01-08,2018-03-19,2018-03-19,2018-06-30,2018-08-06,2018-09-18,2018-11-17",
        "'--dates'",
        "2018-03-19 appears twice",
    ),
    C(
        "classify-dates-unsorted",
        "classify {cube} -o {out}/c.tif --model {bundle2} --dates "
        "2018-01-08,2018-05-08,2018-03-19,2018-06-30,2018-08-06,2018-09-18,2018-11-17",
        "'--dates'",
        "2018-03-19 comes after 2018-05-08",
    ),
    C(
        "classify-dates-not-a-date",
        "classify {cube} -o {out}/c.tif --model {bundle2} --dates 2018-01-08,spring",
        "'--dates'",
        "'spring' is not a date",
    ),
    C(
        "classify-dates-wrong-length",
        "classify {cube} -o {out}/c.tif --model {bundle2} --dates 2018-01-08,2018-03-19",
        "--dates",
        "2 dates given",
        "28 bands",
    ),
    C(
        "classify-dates-disagree-with-descriptions",
        "classify {cube} -o {out}/c.tif --model {bundle2} --dates "
        "2019-01-08,2019-03-19,2019-05-08,2019-06-30,2019-08-06,2019-09-18,2019-11-17",
        "cube.tif",
        "band descriptions give dates",
    ),
    C(
        "classify-descriptions-repeat-a-date",
        "classify {cube_repeated_date} -o {out}/c.tif --model {bundle2}",
        "cube_repeated_date.tif",
        "band descriptions repeat a date/band pair",
    ),
    C(
        "classify-dates-outside-season",
        "classify {cube_december} -o {out}/c.tif --model {bundle2}",
        "cube_december.tif",
        "day of year 354 (date 7) is outside the bundle's season 1..335",
    ),
    C(
        "classify-dates-too-few",
        "classify {cube_2dates} -o {out}/c.tif --model {bundle2}",
        "cube_2dates.tif",
        "2 dates is outside the bundle's range of 3..12 dates",
    ),
    # -- classify: the outputs -------------------------------------------------------------------
    C("classify-out-missing", "classify {cube}", "'--output'"),
    C("classify-out-is-dir", "classify {cube} -o {out}", "is a directory"),
    C("classify-out-under-file", "classify {cube} -o {text}/c.tif", "notes.txt", "is a file, not a folder"),
    C(
        "classify-out-is-cube",
        "classify {cube} -o {cube} --model {bundle}",
        "cube.tif",
        "refusing to overwrite an input",
    ),
    C(
        "classify-out-is-cube-symlink",
        "classify {cube} -o {link} --model {bundle}",
        "refusing to overwrite",
        setup=_link_to("cube", "symlink"),
    ),
    C(
        "classify-out-is-cube-hardlink",
        "classify {cube} -o {link} --model {bundle}",
        "refusing to overwrite",
        setup=_link_to("cube", "hardlink"),
    ),
    C(
        "classify-out-is-cube-dotdot",
        "classify {cube} -o {link} --model {bundle}",
        "refusing to overwrite",
        setup=_link_to("cube", "dotdot"),
    ),
    C(
        "classify-out-is-model",
        "classify {cube} -o {link} --model {link}",
        "refusing to overwrite",
        setup=_link_to("cube", "symlink"),
    ),
    C("classify-out-png", "classify {cube} -o {out}/crops.png --model {bundle}", "crops.png", ".tif"),
    C("classify-out-json", "classify {cube} -o {out}/crops.json --model {bundle}", "crops.json", ".tif"),
    C(
        "classify-confidence-is-dir",
        CLASSIFY + " --confidence",
        "crops_confidence.tif",
        "is a directory",
        setup=_dir_at("crops_confidence.tif"),
    ),
    C("classify-quicklook-is-dir", CLASSIFY, "crops.png", "is a directory", setup=_dir_at("crops.png")),
    C("classify-summary-is-dir", CLASSIFY, "crops.json", "is a directory", setup=_dir_at("crops.json")),
    C("classify-output-locked", CLASSIFY, "crops.tif", "another cropcube job", setup=_locked("crops.tif")),
    # -- classify: parcels and model --------------------------------------------------------------
    C("classify-parcels-missing", CLASSIFY + " --parcels {missing}", "'--parcels'", "does not exist"),
    C("classify-parcels-dir", CLASSIFY + " --parcels {empty_dir}", "'--parcels'", "is a directory"),
    C("classify-parcels-text", CLASSIFY + " --parcels {text}", "notes.txt", "GeoPackage"),
    C("classify-parcels-far", CLASSIFY + " --parcels {gpkg_far}", "far.gpkg", "no parcel covers a pixel"),
    C("classify-parcels-no-code", CLASSIFY + " --parcels {gpkg_nocode}", "nocode.gpkg", "'gewascode'"),
    C("classify-parcels-points", CLASSIFY + " --parcels {gpkg_points}", "points.gpkg", "expected polygons"),
    C("classify-parcels-empty", CLASSIFY + " --parcels {gpkg_empty}", "empty.gpkg", "empty"),
    C("classify-parcels-nocrs", CLASSIFY + " --parcels {gpkg_nocrs}", "nocrs.gpkg", "no CRS"),
    C("classify-parcels-two-layers", CLASSIFY + " --parcels {gpkg_layers}", "layers.gpkg", "--layer"),
    C("classify-parcels-raster", CLASSIFY + " --parcels {labels}", "labels.tif", "GeoPackage"),
    C(
        "classify-parcels-format",
        CLASSIFY + " --parcels {parcels} --parcels-format shp",
        "'--parcels-format'",
    ),
    C(
        "classify-parcel-table-dir",
        CLASSIFY + " --parcels {parcels}",
        "crops_parcels.gpkg",
        "is a directory",
        setup=_dir_at("crops_parcels.gpkg"),
    ),
    C(
        "classify-parcel-parquet-dir",
        CLASSIFY + " --parcels {parcels} --parcels-format parquet",
        "crops_parcels.parquet",
        "is a directory",
        setup=_dir_at("crops_parcels.parquet"),
    ),
    # -- classify: the map products beside the class map (GDAL metadata, QGIS style, STAC) ----------
    C("classify-stac-dir", CLASSIFY, "crops.stac.json", "is a directory", setup=_dir_at("crops.stac.json")),
    C("classify-qml-dir", CLASSIFY, "crops.qml", "is a directory", setup=_dir_at("crops.qml")),
    C(
        "classify-aux-dir",
        CLASSIFY,
        "crops.tif.aux.xml",
        "is a directory",
        setup=_dir_at("crops.tif.aux.xml"),
    ),
    # -- classify: the cropland mask ---------------------------------------------------------------
    C("classify-mask-missing", CLASSIFY + " --mask {missing}", "'--mask'", "does not exist"),
    C("classify-mask-dir", CLASSIFY + " --mask {empty_dir}", "'--mask'", "is a directory"),
    C("classify-mask-text", CLASSIFY + " --mask {text}", "notes.txt", "cannot read"),
    C("classify-mask-far", CLASSIFY + " --mask {gpkg_far}", "far.gpkg", "covers no pixel"),
    C("classify-mask-points", CLASSIFY + " --mask {gpkg_points}", "points.gpkg", "no polygons"),
    C("classify-mask-nocrs", CLASSIFY + " --mask {gpkg_nocrs}", "nocrs.gpkg", "no CRS"),
    C(
        "classify-model-missing",
        "classify {cube} -o {out}/c.tif --model {missing}",
        "'--model'",
        "does not exist",
    ),
    C(
        "classify-model-dir",
        "classify {cube} -o {out}/c.tif --model {empty_dir}",
        "'--model'",
        "is a directory",
    ),
    C("classify-model-text", "classify {cube} -o {out}/c.tif --model {text}", "notes.txt"),
    C("classify-model-zip", "classify {cube} -o {out}/c.tif --model {zip}", "not_a_bundle.pt"),
    C(
        "classify-model-truncated",
        "classify {cube} -o {out}/c.tif --model {bundle_truncated}",
        "bundle_truncated.pt",
    ),
    C(
        "classify-model-env-missing",
        "classify {cube} -o {out}/c.tif",
        "gone.pt",
        env={"CROPCUBE_MODEL": "/nonexistent/gone.pt"},
    ),
    # -- classify: numbers and choices ------------------------------------------------------------
    C("classify-tile-size-0", CLASSIFY + " --tile-size 0", "'--tile-size'"),
    C("classify-tile-size-negative", CLASSIFY + " --tile-size -64", "'--tile-size'"),
    C("classify-tile-size-tiny", CLASSIFY + " --tile-size 8", "'--tile-size'"),
    C("classify-tile-size-huge", CLASSIFY + " --tile-size 100000", "'--tile-size'"),
    C("classify-tile-size-float", CLASSIFY + " --tile-size 1.5", "'--tile-size'"),
    C("classify-tile-size-text", CLASSIFY + " --tile-size big", "'--tile-size'"),
    C("classify-threads-negative", CLASSIFY + " --threads -1", "'--threads'"),
    C("classify-threads-huge", CLASSIFY + " --threads 5000", "'--threads'"),
    C("classify-threads-text", CLASSIFY + " --threads all", "'--threads'"),
    C("classify-backend", CLASSIFY + " --backend gpu", "'--backend'", "'gpu'"),
    C("classify-device", CLASSIFY + " --device tpu", "'--device'", "'tpu'"),
    C("classify-nonfinite", CLASSIFY + " --nonfinite zero", "'--nonfinite'", "'zero'"),
    # The one options object: a requested backend that is not there is an error, never a fallback;
    # a bad configured value is refused by its variable before any work.
    C(
        "classify-backend-native-not-built",
        CLASSIFY + " --backend native",
        "gone.so",
        "kernel library not found",
        env={"CROPCUBE_KERNEL_LIB": "/nonexistent/gone.so"},
    ),
    C("classify-config-precision", CLASSIFY, "CROPCUBE_PRECISION", env={"CROPCUBE_PRECISION": "int8"}),
    C(
        "classify-config-reduced-precision-python",
        CLASSIFY + " --backend python",
        "precision",
        "native backend",
        env={"CROPCUBE_PRECISION": "bfloat16"},
    ),
    C("classify-unknown-option", CLASSIFY + " --voting", "--voting"),
    C("classify-extra-argument", CLASSIFY + " {cube}", "unexpected extra argument"),
    # -- cropcube demo ----------------------------------------------------------------------------
    C("demo-size-small", "demo -o {out}/d --size 8", "'--size'", "64"),
    C("demo-size-63", "demo -o {out}/d --size 63", "'--size'", "64"),
    C("demo-size-negative", "demo -o {out}/d --size -5", "'--size'"),
    C("demo-size-huge", "demo -o {out}/d --size 99999", "'--size'"),
    C("demo-size-text", "demo -o {out}/d --size big", "'--size'"),
    C("demo-seed-negative", "demo -o {out}/d --seed -1", "'--seed'"),
    C("demo-seed-text", "demo -o {out}/d --seed x", "'--seed'"),
    C("demo-out-is-file", "demo -o {text}", "notes.txt", "is a file"),
    C("demo-out-under-file", "demo -o {text}/d", "notes.txt", "is a file, not a folder"),
    C("demo-model-missing", "demo -o {out}/d --model {missing}", "'--model'", "does not exist"),
    C("demo-model-text", "demo -o {out}/d --size 64 --model {text}", "notes.txt"),
    C("demo-backend", "demo -o {out}/d --backend fast", "'--backend'"),
    C("demo-device", "demo -o {out}/d --device gpu", "'--device'"),
    C(
        "demo-crops-is-dir",
        "demo -o {out}/d --size 64",
        "crops.tif",
        "is a directory",
        setup=_dir_at("d/crops.tif"),
    ),
    C(
        "demo-summary-is-dir",
        "demo -o {out}/d --size 64",
        "summary.json",
        "is a directory",
        setup=_dir_at("d/summary.json"),
    ),
    C(
        "demo-scene-cube-is-dir",
        "demo -o {out}/d --size 64",
        "cube.tif",
        "is a directory",
        setup=_dir_at("d/scene/cube.tif"),
    ),
    # -- cropcube synth ---------------------------------------------------------------------------
    C("synth-out-is-file", "synth {text}", "notes.txt", "is a file"),
    C("synth-out-under-file", "synth {text}/scene", "notes.txt", "is a file, not a folder"),
    C("synth-size-0", "synth {out}/s --size 0", "'--size'"),
    C("synth-size-7", "synth {out}/s --size 7", "'--size'"),
    C("synth-size-huge", "synth {out}/s --size 20001", "'--size'"),
    C("synth-size-text", "synth {out}/s --size ten", "'--size'"),
    C("synth-height-0", "synth {out}/s --height 0", "'--height'"),
    C("synth-width-huge", "synth {out}/s --width 100000", "'--width'"),
    C("synth-seed-negative", "synth {out}/s --seed -1", "'--seed'"),
    C("synth-cloud-above-1", "synth {out}/s --cloud-fraction 1.5", "'--cloud-fraction'", "1.5"),
    C("synth-cloud-negative", "synth {out}/s --cloud-fraction -0.1", "'--cloud-fraction'"),
    C("synth-cloud-text", "synth {out}/s --cloud-fraction lots", "'--cloud-fraction'", "'lots'"),
    C(
        "synth-cloud-two-values",
        "synth {out}/s --size 16 --cloud-fraction 0.1,0.2",
        "cloud_fraction",
        "2 values for 7 dates",
    ),
    C("synth-haze-2", "synth {out}/s --haze 2", "'--haze'"),
    C("synth-shift-400", "synth {out}/s --phenology-shift 400", "'--phenology-shift'"),
    C("synth-shift-nan", "synth {out}/s --phenology-shift nan", "'--phenology-shift'"),
    C("synth-drought-2", "synth {out}/s --drought 2", "'--drought'"),
    C("synth-drought-negative", "synth {out}/s --drought -1", "'--drought'"),
    C("synth-noise-negative", "synth {out}/s --noise -1", "'--noise'"),
    C("synth-noise-inf", "synth {out}/s --noise inf", "'--noise'"),
    C("synth-dates-bad", "synth {out}/s --dates 2018-13-01", "'--dates'", "'2018-13-01'"),
    C("synth-dates-decreasing", "synth {out}/s --dates 2018-05-01,2018-03-01", "'--dates'", "increasing"),
    C("synth-dates-duplicate", "synth {out}/s --dates 2018-05-01,2018-05-01", "'--dates'", "increasing"),
    C("synth-dates-empty", "synth {out}/s --dates ,", "'--dates'"),
    # -- cropcube cube build ----------------------------------------------------------------------
    C(
        "build-no-source",
        "cube build -o {out}/c.tif --dates 2018-01-08",
        "--bands-dir/--safe",
        "exactly one source",
    ),
    C(
        "build-two-sources",
        "cube build -o {out}/c.tif --dates 2018-01-08 --bands-dir {bands} --safe {zip}",
        "exactly one source",
    ),
    C(
        "build-bands-dir-missing",
        "cube build -o {out}/c.tif --dates 2018-01-08 --bands-dir {missing}",
        "'--bands-dir'",
        "does not exist",
    ),
    C(
        "build-bands-dir-file",
        "cube build -o {out}/c.tif --dates 2018-01-08 --bands-dir {text}",
        "'--bands-dir'",
        "is a file",
    ),
    C(
        "build-bands-dir-empty",
        "cube build -o {out}/c.tif --dates 2018-01-08 --bands-dir {empty_dir}",
        "empty_dir",
        "no Sentinel-2 band files",
    ),
    C(
        "build-safe-missing",
        "cube build -o {out}/c.tif --dates 2018-01-08 --safe {missing}",
        "'--safe'",
        "does not exist",
    ),
    C("build-safe-text", "cube build -o {out}/c.tif --dates 2018-01-08 --safe {text}", "notes.txt", "SAFE"),
    C(
        "build-safe-empty-dir",
        "cube build -o {out}/c.tif --dates 2018-01-08 --safe {empty_dir}",
        "empty_dir",
        "SAFE",
    ),
    C(
        "build-safe-zip-without-bands",
        "cube build -o {out}/c.tif --dates 2018-01-08 --safe {zip}",
        "not_a_bundle.pt",
        "no band files",
    ),
    C("build-dates-missing", "cube build -o {out}/c.tif --bands-dir {bands}", "'--dates'"),
    C(
        "build-dates-bad",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-02-30",
        "'--dates'",
        "'2018-02-30'",
    ),
    C(
        "build-dates-decreasing",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-03-19,2018-01-08",
        "'--dates'",
        "increasing",
    ),
    C(
        "build-date-unavailable",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-20",
        "bands",
        "2018-01-20 missing",
    ),
    C(
        "build-bbox-three",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --bbox 1,2,3 --crs EPSG:32631",
        "'--bbox'",
        "'1,2,3'",
    ),
    C(
        "build-bbox-text",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --bbox a,b,c,d --crs EPSG:32631",
        "'--bbox'",
    ),
    C(
        "build-bbox-inverted",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --bbox 5,5,1,1 --crs EPSG:32631",
        "'--bbox'",
        "minx < maxx",
    ),
    C(
        "build-bbox-inf",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --bbox 0,0,inf,1 --crs EPSG:32631",
        "'--bbox'",
        "finite",
    ),
    C(
        "build-bbox-outside",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --bbox 0,0,1000,1000 "
        "--crs EPSG:32631",
        "does not overlap",
    ),
    C(
        "build-bbox-no-crs",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --bbox 0,0,10,10",
        "--bbox",
        "needs --crs",
    ),
    C(
        "build-crs-no-bbox",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --crs EPSG:32631",
        "--crs",
        "needs --bbox",
    ),
    C(
        "build-crs-bad",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --bbox 0,0,10,10 --crs EPSG:99999",
        "'--crs'",
        "EPSG:99999",
    ),
    C(
        "build-like-and-bbox",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --like {cube} --bbox 0,0,10,10",
        "--like",
        "not both",
    ),
    C(
        "build-like-missing",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --like {missing}",
        "'--like'",
        "does not exist",
    ),
    C(
        "build-like-text",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --like {text}",
        "notes.txt",
        "not a raster",
    ),
    C(
        "build-resolution-0",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --resolution 0",
        "'--resolution'",
    ),
    C(
        "build-resolution-negative",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --resolution -10",
        "'--resolution'",
    ),
    C(
        "build-max-days-negative",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --max-days -1",
        "'--max-days'",
    ),
    C(
        "build-max-days-huge",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --max-days 400",
        "'--max-days'",
    ),
    C(
        "build-resampling",
        "cube build -o {out}/c.tif --bands-dir {bands} --dates 2018-01-08 --resampling lanczos",
        "'--resampling'",
        "'lanczos'",
    ),
    C("build-out-is-dir", "cube build -o {out} --bands-dir {bands} --dates 2018-01-08", "is a directory"),
    C(
        "build-out-is-like",
        "cube build -o {link} --bands-dir {bands} --dates 2018-01-08 --like {cube}",
        "refusing to overwrite",
        setup=_link_to("cube", "symlink"),
    ),
    C(
        "build-out-is-band-file",
        "cube build -o {bands}/2018-01-08/S2_L2A_B02.tif --bands-dir {bands} --dates 2018-01-08",
        "S2_L2A_B02.tif",
        "refusing to overwrite",
    ),
    # -- cropcube cube from-netcdf ----------------------------------------------------------------
    C(
        "netcdf-stack-missing",
        "cube from-netcdf {missing} --scl {text} --dates 2019-03-20 -o {out}/c.tif",
        "missing.tif",
        "does not exist",
    ),
    C(
        "netcdf-stack-dir",
        "cube from-netcdf {empty_dir} --scl {text} --dates 2019-03-20 -o {out}/c.tif",
        "empty_dir",
        "is a directory",
    ),
    C(
        "netcdf-stack-text",
        "cube from-netcdf {text} --scl {text_tif} --dates 2019-03-20 -o {out}/c.tif",
        "notes.txt",
        "netCDF",
    ),
    C(
        "netcdf-stack-geotiff",
        "cube from-netcdf {cube} --scl {cube} --dates 2019-03-20 -o {out}/c.tif",
        "cube.tif",
        "netCDF",
    ),
    C(
        "netcdf-scl-missing",
        "cube from-netcdf {text} --scl {missing} --dates 2019-03-20 -o {out}/c.tif",
        "'--scl'",
        "does not exist",
    ),
    C(
        "netcdf-dates-bad",
        "cube from-netcdf {text} --scl {text} --dates 2019-3-20 -o {out}/c.tif",
        "'--dates'",
    ),
    C(
        "netcdf-max-days-negative",
        "cube from-netcdf {text} --scl {text} --dates 2019-03-20 --max-days -2 -o {out}/c.tif",
        "'--max-days'",
    ),
    C(
        "netcdf-out-is-stack",
        "cube from-netcdf {text} --scl {text_tif} --dates 2019-03-20 -o {text}",
        "notes.txt",
        "refusing to overwrite",
    ),
    C(
        "netcdf-bbox-no-crs",
        "cube from-netcdf {text} --scl {text} --dates 2019-03-20 --bbox 0,0,1,1 -o {out}/c.tif",
        "needs --crs",
    ),
    # -- cropcube cube info -----------------------------------------------------------------------
    C("info-missing", "cube info {missing}", "missing.tif", "does not exist"),
    C("info-dir", "cube info {empty_dir}", "empty_dir", "is a directory"),
    C("info-text", "cube info {text}", "notes.txt", "not a raster"),
    C("info-empty", "cube info {empty_tif}", "empty.tif", "not a raster"),
    C("info-nocrs", "cube info {cube_nocrs}", "cube_nocrs.tif", "no coordinate reference"),
    C("info-rotated", "cube info {cube_rotated}", "cube_rotated.tif", "rotated"),
    C("info-27-bands", "cube info {cube_27}", "cube_27.tif", "27 bands"),
    C("info-uint8", "cube info {cube_uint8}", "cube_uint8.tif", "uint8"),
    C(
        "info-partial-descriptions",
        "cube info {cube_partial_desc}",
        "cube_partial_desc.tif",
        "not a full grid",
    ),
    C("info-label-raster", "cube info {labels}", "labels.tif", "uint8 is not a cube dtype"),
    C("info-no-argument", "cube info", "Missing argument 'cube'"),
    # -- cropcube labels brp ----------------------------------------------------------------------
    C(
        "brp-gpkg-missing",
        "labels brp {missing} --like {cube} -o {out}/l.tif",
        "missing.tif",
        "does not exist",
    ),
    C("brp-gpkg-dir", "labels brp {empty_dir} --like {cube} -o {out}/l.tif", "empty_dir", "is a directory"),
    C("brp-gpkg-text", "labels brp {text} --like {cube} -o {out}/l.tif", "notes.txt", "GeoPackage"),
    C(
        "brp-gpkg-no-code",
        "labels brp {gpkg_nocode} --like {cube} -o {out}/l.tif",
        "nocode.gpkg",
        "'gewascode'",
    ),
    C(
        "brp-gpkg-points",
        "labels brp {gpkg_points} --like {cube} -o {out}/l.tif",
        "points.gpkg",
        "expected polygons",
    ),
    C("brp-gpkg-empty", "labels brp {gpkg_empty} --like {cube} -o {out}/l.tif", "empty.gpkg", "empty"),
    C("brp-gpkg-nocrs", "labels brp {gpkg_nocrs} --like {cube} -o {out}/l.tif", "nocrs.gpkg", "no CRS"),
    C(
        "brp-gpkg-two-layers",
        "labels brp {gpkg_layers} --like {cube} -o {out}/l.tif",
        "layers.gpkg",
        "--layer",
    ),
    C(
        "brp-layer-unknown",
        "labels brp {parcels} --like {cube} -o {out}/l.tif --layer fields",
        "parcels.gpkg",
        "no layer 'fields'",
    ),
    C(
        "brp-no-overlap",
        "labels brp {gpkg_far} --like {cube} -o {out}/l.tif",
        "far.gpkg",
        "no parcel overlaps",
    ),
    C(
        "brp-like-missing",
        "labels brp {parcels} --like {missing} -o {out}/l.tif",
        "'--like'",
        "does not exist",
    ),
    C("brp-like-text", "labels brp {parcels} --like {text} -o {out}/l.tif", "notes.txt", "not a raster"),
    C(
        "brp-like-nocrs",
        "labels brp {parcels} --like {cube_nocrs} -o {out}/l.tif",
        "cube_nocrs.tif",
        "no coordinate",
    ),
    C("brp-out-is-like", "labels brp {parcels} --like {cube} -o {cube}", "cube.tif", "refusing to overwrite"),
    C(
        "brp-out-is-like-symlink",
        "labels brp {parcels} --like {cube} -o {link}",
        "refusing to overwrite",
        setup=_link_to("cube", "symlink"),
    ),
    C(
        "brp-out-is-like-hardlink",
        "labels brp {parcels} --like {cube} -o {link}",
        "refusing to overwrite",
        setup=_link_to("cube", "hardlink"),
    ),
    C(
        "brp-out-is-gpkg",
        "labels brp {parcels} --like {cube} -o {parcels}",
        "parcels.gpkg",
        "refusing to overwrite",
    ),
    C(
        "brp-ids-is-like",
        "labels brp {parcels} --like {cube} -o {out}/l.tif --parcel-ids {cube}",
        "cube.tif",
        "refusing to overwrite",
    ),
    C(
        "brp-ids-is-output",
        "labels brp {parcels} --like {cube} -o {out}/l.tif --parcel-ids {out}/l.tif",
        "l.tif",
        "two different outputs",
    ),
    C(
        "brp-ids-is-dir",
        "labels brp {parcels} --like {cube} -o {out}/l.tif --parcel-ids {out}",
        "'--parcel-ids'",
        "is a directory",
    ),
    C("brp-out-is-dir", "labels brp {parcels} --like {cube} -o {out}", "is a directory"),
    C(
        "brp-unknown-index-negative",
        "labels brp {parcels} --like {cube} -o {out}/l.tif --unknown-index -1",
        "'--unknown-index'",
    ),
    C(
        "brp-unknown-index-256",
        "labels brp {parcels} --like {cube} -o {out}/l.tif --unknown-index 256",
        "'--unknown-index'",
    ),
    C("brp-like-missing-option", "labels brp {parcels} -o {out}/l.tif", "'--like'"),
    # -- cropcube labels flanders -----------------------------------------------------------------
    C(
        "flanders-ct-missing",
        "labels flanders {missing} --like {cube} -o {out}/l.tif",
        "missing.tif",
        "does not exist",
    ),
    C(
        "flanders-ct-dir",
        "labels flanders {empty_dir} --like {cube} -o {out}/l.tif",
        "empty_dir",
        "is a directory",
    ),
    C("flanders-ct-text", "labels flanders {text} --like {cube} -o {out}/l.tif", "notes.txt", "not a raster"),
    C(
        "flanders-ct-float",
        "labels flanders {ct_float} --like {cube} -o {out}/l.tif",
        "ct_float.tif",
        "float32",
        "truncated",
    ),
    C(
        "flanders-ct-2band",
        "labels flanders {ct_2band} --like {cube} -o {out}/l.tif",
        "ct_2band.tif",
        "has 1 band, this one has 2",
    ),
    C(
        "flanders-ct-shifted",
        "labels flanders {ct_shifted} --like {cube} -o {out}/l.tif",
        "ct_shifted.tif",
        "origin",
    ),
    C(
        "flanders-like-missing",
        "labels flanders {ct} --like {missing} -o {out}/l.tif",
        "'--like'",
        "does not exist",
    ),
    C("flanders-like-4326", "labels flanders {ct} --like {cube_4326} -o {out}/l.tif", "ct.tif", "CRS"),
    C("flanders-out-is-ct", "labels flanders {ct} --like {cube} -o {ct}", "ct.tif", "refusing to overwrite"),
    C(
        "flanders-out-is-like",
        "labels flanders {ct} --like {cube} -o {cube}",
        "cube.tif",
        "refusing to overwrite",
    ),
    C(
        "flanders-out-is-like-dotdot",
        "labels flanders {ct} --like {cube} -o {link}",
        "refusing to overwrite",
        setup=_link_to("cube", "dotdot"),
    ),
    C("flanders-out-is-dir", "labels flanders {ct} --like {cube} -o {out}", "is a directory"),
    C(
        "flanders-barley",
        "labels flanders {ct} --like {cube} -o {out}/l.tif --barley winter",
        "'--barley'",
        "'winter'",
    ),
    # -- cropcube train ---------------------------------------------------------------------------
    C("train-config-missing", "train {missing}", "missing.tif", "does not exist"),
    C("train-config-dir", "train {empty_dir}", "empty_dir", "is a directory"),
    C("train-config-suffix", "train {cfg_suffix}", "cfg.txt", ".yaml"),
    C("train-config-yaml-syntax", "train {cfg_syntax}", "cfg_syntax.yaml", "cannot parse"),
    C("train-config-toml-syntax", "train {cfg_toml_syntax}", "cfg.toml", "cannot parse"),
    C("train-config-list", "train {cfg_list}", "cfg_list.yaml", "mapping"),
    C("train-epochs-text", "train {cfg_epochs_text}", "epochs", "'ten' is not an integer"),
    C("train-epochs-zero", "train {cfg_epochs_zero}", "epochs", ">= 1"),
    C("train-epochs-bool", "train {cfg_bool_as_int}", "epochs", "True is not an integer"),
    C("train-batch-text", "train {cfg_batch_text}", "batch_size", "'8' is not an integer"),
    C("train-lr-negative", "train {cfg_lr_negative}", "train.lr", "positive"),
    C("train-loss", "train {cfg_loss}", "train.loss", "'hinge'"),
    C("train-unknown-key", "train {cfg_unknown_key}", "cfg_unknown_key.yaml", "epochz"),
    C("train-unknown-section", "train {cfg_unknown_section}", "cfg_unknown_section.yaml", "optimiser"),
    C("train-chip-size", "train {cfg_chip}", "data.chip_size", "30"),
    C("train-no-data", "train {cfg_no_data}", "data", "cube and labels"),
    C("train-smoothing", "train {cfg_smoothing}", "label_smoothing", "1.5"),
    C("train-augment", "train {cfg_augment}", "augment.cloud", "2.0"),
    C("train-split-text", "train {cfg_split}", "data.split", "fractions"),
    C("train-epochs-option-0", "train {cfg_epochs_zero} --epochs 0", "'--epochs'"),
    C("train-epochs-option-text", "train {cfg_epochs_zero} --epochs many", "'--epochs'"),
    C("train-out-dir-file", "train {cfg_epochs_zero} --out-dir {text}", "'--out-dir'", "is a file"),
    # -- cropcube evaluate ------------------------------------------------------------------------
    C(
        "evaluate-bundle-missing",
        "evaluate {missing} --cube {cube} --labels {labels} -o {out}/r",
        "'bundle'",
        "does not exist",
    ),
    C(
        "evaluate-bundle-dir",
        "evaluate {empty_dir} --cube {cube} --labels {labels} -o {out}/r",
        "is a directory",
    ),
    C("evaluate-bundle-text", "evaluate {text} --cube {cube} --labels {labels} -o {out}/r", "notes.txt"),
    C("evaluate-bundle-zip", "evaluate {zip} --cube {cube} --labels {labels} -o {out}/r", "not_a_bundle.pt"),
    C(
        "evaluate-bundle-truncated",
        "evaluate {bundle_truncated} --cube {cube} --labels {labels} -o {out}/r",
        "bundle_truncated.pt",
    ),
    C(
        "evaluate-cube-missing",
        "evaluate {bundle} --cube {missing} --labels {labels} -o {out}/r",
        "'--cube'",
        "does not exist",
    ),
    C(
        "evaluate-cube-text",
        "evaluate {bundle} --cube {text} --labels {labels} -o {out}/r",
        "notes.txt",
        "not a raster",
    ),
    C("evaluate-cube-27", "evaluate {bundle} --cube {cube_27} --labels {labels} -o {out}/r", "cube_27.tif"),
    C(
        "evaluate-labels-missing",
        "evaluate {bundle} --cube {cube} --labels {missing} -o {out}/r",
        "'--labels'",
        "does not exist",
    ),
    C(
        "evaluate-labels-float",
        "evaluate {bundle} --cube {cube} --labels {labels_float} -o {out}/r",
        "labels_float.tif",
        "float32",
    ),
    C(
        "evaluate-labels-2band",
        "evaluate {bundle} --cube {cube} --labels {labels_2band} -o {out}/r",
        "labels_2band.tif",
        "has 1 band, this one has 2",
    ),
    C(
        "evaluate-labels-shifted",
        "evaluate {bundle} --cube {cube} --labels {labels_shifted} -o {out}/r",
        "labels_shifted.tif",
        "origin",
    ),
    C(
        "evaluate-labels-codes",
        "evaluate {bundle} --cube {cube} --labels {labels_codes} -o {out}/r",
        "labels_codes.tif",
        "class indices 0..255",
    ),
    C(
        "evaluate-parcel-ids-float",
        "evaluate {bundle} --cube {cube} --labels {labels} --parcel-ids {labels_float} -o {out}/r",
        "labels_float.tif",
        "float32",
    ),
    C(
        "evaluate-parcels-far",
        "evaluate {bundle} --cube {cube} --labels {labels} --parcels {gpkg_far} -o {out}/r",
        "far.gpkg",
    ),
    C(
        "evaluate-label-codes-word",
        "evaluate {bundle} --cube {cube} --labels {labels} --label-codes brp -o {out}/r",
        "'--label-codes'",
        "'brp'",
    ),
    C(
        "evaluate-label-codes-list",
        "evaluate {bundle} --cube {cube} --labels {labels} --label-codes {codes_list} -o {out}/r",
        "'--label-codes'",
        "codes_list.json",
    ),
    C(
        "evaluate-label-codes-not-json",
        "evaluate {bundle} --cube {cube} --labels {labels} --label-codes {codes_not_json} -o {out}/r",
        "'--label-codes'",
        "codes_not.json",
    ),
    C(
        "evaluate-label-codes-index",
        "evaluate {bundle} --cube {cube} --labels {labels} --label-codes {codes_bad_index} -o {out}/r",
        "'--label-codes'",
        "300",
    ),
    C(
        "evaluate-dates-outside-season",
        "evaluate {bundle2} --cube {cube_december} --labels {labels} -o {out}/r",
        "cube_december.tif",
        "outside the bundle's season 1..335",
    ),
    C(
        "evaluate-dates-wrong-length",
        "evaluate {bundle2} --cube {cube} --labels {labels} -o {out}/r "
        "--dates 2018-01-08,2018-03-19,2018-05-08",
        "--dates",
        "3 dates given",
    ),
    C(
        "evaluate-descriptions-without-dates",
        "evaluate {bundle2} --cube {cube_undated_desc} --labels {labels} -o {out}/r",
        "cube_undated_desc.tif",
        "has no date",
    ),
    C(
        "evaluate-format-1-other-dates",
        "evaluate {bundle} --cube {cube_december} --labels {labels} -o {out}/r",
        "cube_december.tif",
        "band descriptions give dates",
    ),
    C("evaluate-tile-0", "evaluate {bundle} --cube {cube} --labels {labels} --tile 0 -o {out}/r", "'--tile'"),
    C(
        "evaluate-tile-negative",
        "evaluate {bundle} --cube {cube} --labels {labels} --tile -1 -o {out}/r",
        "'--tile'",
    ),
    C(
        "evaluate-tile-tiny",
        "evaluate {bundle} --cube {cube} --labels {labels} --tile 8 -o {out}/r",
        "'--tile'",
    ),
    C(
        "evaluate-out-file",
        "evaluate {bundle} --cube {cube} --labels {labels} -o {text}",
        "notes.txt",
        "is a file",
    ),
    # -- cropcube export --------------------------------------------------------------------------
    C("export-checkpoint-missing", "export {missing} -o {out}/m.pt", "missing.tif", "does not exist"),
    C("export-checkpoint-dir", "export {empty_dir} -o {out}/m.pt", "empty_dir", "is a directory"),
    C("export-checkpoint-text", "export {text} -o {out}/m.pt", "notes.txt", "checkpoint"),
    C("export-checkpoint-bundle", "export {zip} -o {out}/m.pt", "not_a_bundle.pt", "checkpoint"),
    C("export-out-dir", "export {text} -o {out}", "is a directory"),
    C("export-out-missing", "export {text}", "'--out'"),
    # -- cropcube kernel --------------------------------------------------------------------------
    C("kernel-build-jobs-negative", "kernel build --jobs -1", "'--jobs'"),
    C("kernel-build-jobs-huge", "kernel build -j 100000", "'--jobs'"),
    C("kernel-build-dir-file", "kernel build --build-dir {text}", "'--build-dir'", "is a file"),
    C("kernel-info-extra", "kernel info now", "unexpected extra argument"),
    C("kernel-unknown", "kernel rebuild", "rebuild"),
    # -- cropcube rasdaman: every input is checked before any connection, probe or credential lookup;
    # the rasql route points at a closed port and no credentials are set (see test_bad_input) --------
    C(
        "rasdaman-query-no-endpoint",
        "rasdaman query x",
        "cannot connect to rasdaman at 127.0.0.1:{closed_port}",
        "no petascope endpoint is set",
        "--endpoint",
        "CROPCUBE_RASDAMAN_URL",
    ),
    C(
        "rasdaman-query-endpoint-silent",
        "rasdaman query x --endpoint {closed}",
        "cannot connect to rasdaman at 127.0.0.1:{closed_port}",
    ),
    C(
        "rasdaman-query-petascope-closed",
        "rasdaman query x --endpoint {closed} --transport petascope",
        "cannot connect",
        "{closed}",
    ),
    C(
        "rasdaman-query-petascope-no-endpoint",
        "rasdaman query x --transport petascope",
        "--endpoint",
        "CROPCUBE_RASDAMAN_URL",
    ),
    C("rasdaman-query-scheme", "rasdaman query x --endpoint ftp://h/ows", "'--endpoint'", "scheme 'ftp'"),
    C("rasdaman-query-no-scheme", "rasdaman query x --endpoint localhost", "'--endpoint'", "scheme ''"),
    C(
        "rasdaman-query-endpoint-password",
        "rasdaman query x --endpoint http://u:pw@h/ows",
        "'--endpoint'",
        "must not contain credentials",
    ),
    C(
        "rasdaman-query-env-endpoint",
        "rasdaman query x",
        "'--endpoint'",
        "scheme 'ftp'",
        "(from $CROPCUBE_RASDAMAN_URL)",
        env={"CROPCUBE_RASDAMAN_URL": "ftp://h/ows"},
    ),
    C("rasdaman-query-transport", "rasdaman query x --transport http", "'--transport'", "'http'"),
    C("rasdaman-query-port-0", "rasdaman query x --rasql-port 0", "'--rasql-port'"),
    C("rasdaman-query-port-huge", "rasdaman query x --rasql-port 70000", "'--rasql-port'"),
    C(
        "rasdaman-query-env-port",
        "rasdaman query x",
        "'--rasql-port'",
        "valid integer",
        env={"CROPCUBE_RASQL_PORT": "seven"},
    ),
    C("rasdaman-query-host", "rasdaman query x --rasql-host http://h", "'--rasql-host'", "'http://h'"),
    C(
        "rasdaman-query-timeout-0",
        "rasdaman query x --timeout 0",
        "'--timeout'",
        "positive number of seconds",
    ),
    C("rasdaman-query-timeout-nan", "rasdaman query x --timeout nan", "'--timeout'", "nan"),
    C("rasdaman-query-timeout-huge", "rasdaman query x --timeout 1e9", "'--timeout'", "more than a day"),
    C("rasdaman-query-retries-negative", "rasdaman query x --retries -1", "'--retries'"),
    C("rasdaman-query-retries-huge", "rasdaman query x --retries 21", "'--retries'"),
    C("rasdaman-query-empty", "rasdaman query ''", "query", "is empty"),
    C("rasdaman-query-out-dir", "rasdaman query x -o {out}", "'--output'", "is a directory"),
    C("rasdaman-query-out-under-file", "rasdaman query x -o {text}/a.tif", "'--output'", "is a file"),
    C("rasdaman-ingest-nothing", "rasdaman ingest --endpoint {closed}", "give a cube, labels, or both"),
    C(
        "rasdaman-ingest-cube-missing",
        "rasdaman ingest --cube {missing} --endpoint {closed}",
        "missing.tif",
        "does not exist",
    ),
    C(
        "rasdaman-ingest-cube-dir",
        "rasdaman ingest --cube {empty_dir} --endpoint {closed}",
        "empty_dir",
        "is a directory",
    ),
    C(
        "rasdaman-ingest-cube-text",
        "rasdaman ingest --cube {text} --endpoint {closed}",
        "notes.txt",
        "not a raster",
    ),
    C("rasdaman-ingest-cube-27", "rasdaman ingest --cube {cube_27}", "cube_27.tif", "description"),
    C("rasdaman-ingest-cube-uint8", "rasdaman ingest --cube {cube_uint8}", "cube_uint8.tif", "uint8"),
    C("rasdaman-ingest-cube-nocrs", "rasdaman ingest --cube {cube_nocrs}", "cube_nocrs.tif", "no CRS"),
    C("rasdaman-ingest-cube-rotated", "rasdaman ingest --cube {cube_rotated}", "cube_rotated.tif", "rotated"),
    C(
        "rasdaman-ingest-labels-dir",
        "rasdaman ingest --labels {empty_dir} --endpoint {closed}",
        "empty_dir",
        "is a directory",
    ),
    C("rasdaman-ingest-labels-float", "rasdaman ingest --labels {labels_float}", "labels_float.tif", "uint8"),
    C(
        "rasdaman-ingest-labels-2band",
        "rasdaman ingest --labels {labels_2band}",
        "labels_2band.tif",
        "one uint8 band",
    ),
    C(
        "rasdaman-ingest-labels-shifted",
        "rasdaman ingest --cube {cube} --labels {labels_shifted}",
        "labels_shifted.tif",
        "does not match",
        "origin",
    ),
    C("rasdaman-ingest-layout", "rasdaman ingest --cube {cube} --layout 4d --endpoint {closed}", "'4d'"),
    C(
        "rasdaman-ingest-3d-rasql",
        "rasdaman ingest --cube {cube} --layout 3d --transport rasql",
        "--layout",
        "needs petascope",
    ),
    C("rasdaman-ingest-method", "rasdaman ingest --cube {cube} --method ftp --endpoint {closed}", "'ftp'"),
    C(
        "rasdaman-ingest-tile-size",
        "rasdaman ingest --cube {cube} --tile-size 0 --endpoint {closed}",
        "'--tile-size'",
    ),
    C("rasdaman-ingest-tile-size-huge", "rasdaman ingest --cube {cube} --tile-size 9000", "'--tile-size'"),
    C(
        "rasdaman-ingest-id",
        "rasdaman ingest --cube {cube} --features-id a;b --endpoint {closed}",
        "'a;b'",
        "not a valid identifier",
    ),
    C("rasdaman-ingest-labels-id", "rasdaman ingest --cube {cube} --labels-id 1x", "'--labels-id'", "'1x'"),
    C(
        "rasdaman-ingest-work-dir-file",
        "rasdaman ingest --cube {cube} --work-dir {text}",
        "'--work-dir'",
        "is a file",
    ),
    C(
        "rasdaman-ingest-no-credentials",
        "rasdaman ingest --cube {cube} --work-dir {out}/w",
        "rasdaman credentials",
        "write-enabled account",
        "CROPCUBE_RASDAMAN_USER",
    ),
    C("rasdaman-classify-input-id", "rasdaman classify in;x out --endpoint {closed}", "'in;x'"),
    C("rasdaman-classify-output-id", "rasdaman classify in 9out --endpoint {closed}", "'9out'"),
    C("rasdaman-classify-same-id", "rasdaman classify crops crops", "output coverage id", "must differ"),
    C(
        "rasdaman-classify-dates-unsorted",
        "rasdaman classify in out --endpoint {closed} --dates 2019-05-01,2019-04-01",
        "'--dates'",
        "2019-04-01 comes after 2019-05-01",
    ),
    C(
        "rasdaman-classify-mode",
        "rasdaman classify in out --mode magic --endpoint {closed}",
        "--mode",
        "'magic'",
    ),
    C(
        "rasdaman-classify-udf-rasql",
        "rasdaman classify in out --mode udf --transport rasql",
        "--mode",
        "needs petascope",
    ),
    C(
        "rasdaman-classify-udf-name",
        "rasdaman classify in out --mode udf --udf drop",
        "'--udf'",
        "namespace.function",
    ),
    C(
        "rasdaman-classify-like-alone",
        "rasdaman classify in out --like {cube} --endpoint {closed}",
        "--like",
        "give --parcels too",
    ),
    C(
        "rasdaman-classify-parcels-missing",
        "rasdaman classify in out --parcels {missing} --endpoint {closed}",
        "missing.tif",
        "does not exist",
    ),
    C(
        "rasdaman-classify-parcels-udf",
        "rasdaman classify in out --parcels {gpkg_far} --mode udf --endpoint {closed}",
        "--parcels",
        "needs client mode",
    ),
    C(
        "rasdaman-classify-writer",
        "rasdaman classify in out --writer pen --endpoint {closed}",
        "--writer",
        "'pen'",
    ),
    C(
        "rasdaman-classify-area-three",
        "rasdaman classify in out --area 1,2,3 --endpoint {closed}",
        "--area",
        "E_MIN,E_MAX,N_MIN,N_MAX",
    ),
    C(
        "rasdaman-classify-area-text",
        "rasdaman classify in out --area 1,2,x,4 --endpoint {closed}",
        "--area",
        "'x'",
    ),
    C(
        "rasdaman-classify-area-inverted",
        "rasdaman classify in out --area 5,1,2,4 --endpoint {closed}",
        "--area E",
        "below",
    ),
    C(
        "rasdaman-classify-area-rasql",
        "rasdaman classify in out --area 1,2,3,4",
        "--area",
        "no CRS",
        "--cells",
    ),
    C(
        "rasdaman-classify-area-and-cells",
        "rasdaman classify in out --area 1,2,3,4 --cells 0:1,0:1",
        "--area",
        "not both",
    ),
    C("rasdaman-classify-cells-text", "rasdaman classify in out --cells 0-9,0-9", "'--cells'", "X0:X1,Y0:Y1"),
    C("rasdaman-classify-cells-empty", "rasdaman classify in out --cells 9:0,0:9", "'--cells'", "empty"),
    C("rasdaman-classify-tile-size", "rasdaman classify in out --tile-size 8", "'--tile-size'"),
    C(
        "rasdaman-classify-progress-dir",
        "rasdaman classify in out --progress {out}",
        "'--progress'",
        "is a directory",
    ),
    C(
        "rasdaman-classify-model-missing",
        "rasdaman classify in out --model {missing} --endpoint {closed}",
        "missing.tif",
    ),
    C("rasdaman-classify-model-text", "rasdaman classify in out --model {text}", "notes.txt"),
    C(
        "rasdaman-classify-closed-port",
        "rasdaman classify in out --endpoint {closed} --transport petascope --retries 0",
        "cannot connect",
        "{closed}",
    ),
    C(
        "rasdaman-classify-fallback-no-credentials",
        "rasdaman classify in out --endpoint {closed} --retries 0",
        "rasdaman credentials",
        "write-enabled account",
    ),
    C(
        "rasdaman-deploy-no-rmanhome",
        "rasdaman deploy",
        "--rmanhome",
        "RMANHOME",
        env={"RMANHOME": ""},
    ),
    C(
        "rasdaman-deploy-rmanhome-missing",
        "rasdaman deploy --rmanhome {missing} --dry-run",
        "'--rmanhome'",
        "missing.tif",
        "does not exist",
    ),
    C(
        "rasdaman-deploy-language",
        "rasdaman deploy --rmanhome {empty_dir} --language rust --dry-run",
        "'rust'",
    ),
    C(
        "rasdaman-deploy-model-missing",
        "rasdaman deploy --rmanhome {empty_dir} --model {missing} --dry-run",
        "missing.tif",
        "does not exist",
    ),
    C(
        "rasdaman-deploy-endpoint",
        "rasdaman deploy --rmanhome {empty_dir} --endpoint file:///x --dry-run",
        "'--endpoint'",
        "scheme 'file'",
    ),
    C(
        "rasdaman-undeploy-rmanhome-file",
        "rasdaman undeploy --rmanhome {text} --dry-run",
        "'--rmanhome'",
        "notes.txt",
        "expected a folder",
    ),
    # -- the command itself -----------------------------------------------------------------------
    C("unknown-command", "classifyy {cube}", "classifyy"),
    C("unknown-global-option", "--quiet classify {cube}", "--quiet"),
    C("labels-unknown-source", "labels lpis {cube}", "lpis"),
]


def _normalised(text: str) -> str:
    return " ".join(text.split())


def _snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _digests(files: dict[str, Path]) -> dict[str, str]:
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in files.items() if p.is_file()}


@pytest.fixture(scope="module")
def closed() -> str:
    """An endpoint on a port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/rasdaman/ows"


@pytest.fixture(scope="module")
def digests(files: dict[str, Path]) -> dict[str, str]:
    return _digests(files)


def test_the_table_is_large_and_distinct() -> None:
    assert len(CASES) >= 200
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.argv for c in CASES if c.setup is None and not c.env}) == len(
        [c for c in CASES if c.setup is None and not c.env]
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(
    case: Case, files: dict[str, Path], digests: dict[str, str], closed: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    extra = case.setup(files, out) if case.setup else {}
    before = _snapshot(out)
    port = closed.split(":")[2].split("/")[0]
    names = {"out": str(out), "closed": closed, "closed_port": port, **{k: str(v) for k, v in files.items()}}
    names.update(extra)
    args = [a.format(**names) for a in shlex.split(case.argv)]
    try:
        env = {
            "CROPCUBE_MODEL": str(files["bundle"]),
            # rasdaman: no endpoint, rasmgr on a closed port, no credentials: the same outcome whether or
            # not a rasdaman server listens on this machine (nothing may reach one)
            "CROPCUBE_RASDAMAN_URL": None,
            "CROPCUBE_RASQL_HOST": "127.0.0.1",
            "CROPCUBE_RASQL_PORT": port,
            "CROPCUBE_RASDAMAN_USER": None,
            "CROPCUBE_RASDAMAN_PASSWORD": None,
            "NETRC": "/nonexistent",
            **case.env,
        }
        result = CliRunner().invoke(app, args, env={k: v or None for k, v in env.items()})
    finally:
        while _HELD:
            os.close(_HELD.pop())
    text = _normalised(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case.id}: raised {result.exception!r} instead of a clear error\n{result.output}"
    )
    assert result.exit_code == case.code, f"{case.id}: exit {result.exit_code}\n{result.output}"
    for words in (w.format(**names) for w in case.says):
        assert _normalised(words) in text, f"{case.id}: {words!r} not in\n{result.output}"
    assert "Traceback" not in result.output
    assert _snapshot(out) == before, f"{case.id}: left {sorted(_snapshot(out) - before)}"
    assert not re.search(r"\.cctmp\.", " ".join(_snapshot(tmp_path))), f"{case.id}: left temporary files"
    assert _digests(files) == digests, f"{case.id}: changed an input file"

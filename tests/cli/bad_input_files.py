"""The files of the bad-input table: one small realistic scene, and variants broken in one way each.

The scene is a 64 x 64 synthetic Noordoostpolder scene (the project's own generator): a 28-band
cube on the reference 10 m UTM grid, its labels, parcel ids and BRP GeoPackage. Every broken input
differs from a good one in exactly the way its name says.
"""

from __future__ import annotations

import json
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import rasterio
import shapely
from rasterio.transform import Affine

from cropcube.io import copy_to_cog, write_geotiff

SIZE = 64


def _write(path: Path, data: np.ndarray, crs: Any, transform: Affine, **kw: Any) -> Path:
    arr = data if data.ndim == 3 else data[None]
    profile = {
        "driver": "GTiff",
        "width": arr.shape[2],
        "height": arr.shape[1],
        "count": arr.shape[0],
        "dtype": arr.dtype.name,
        "transform": transform,
        **({"crs": crs} if crs else {}),
        **kw,
    }
    descriptions = profile.pop("descriptions", None)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)
    return path


def _gpkg(
    path: Path,
    geoms: list[Any],
    crs: str | None,
    fields: dict[str, np.ndarray],
    layer: str,
    kind: str = "Polygon",
) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "crs was not provided": that file is meant so
        _write_gpkg(path, geoms, crs, fields, layer, kind)
    return path


def _write_gpkg(
    path: Path, geoms: list[Any], crs: str | None, fields: dict[str, np.ndarray], layer: str, kind: str
) -> None:
    pyogrio.raw.write(
        str(path),
        np.array(shapely.to_wkb(geoms), dtype=object),
        list(fields.values()),
        fields=list(fields),
        layer=layer,
        driver="GPKG",
        crs=crs,
        geometry_type=kind,
        append=path.exists(),
    )


def _scene(root: Path) -> dict[str, Path]:
    from cropcube.synthetic import SceneConfig, generate_scene, write_scene

    written = write_scene(
        generate_scene(SceneConfig(seed=5, height=SIZE, width=SIZE, supersample=1)), root / "scene"
    )
    return {k: Path(v) for k, v in written.items()}


def _cubes(root: Path, cube: Path) -> dict[str, Path]:
    with rasterio.open(cube) as ds:
        data, t, crs, desc = ds.read(), ds.transform, ds.crs, list(ds.descriptions)
    f: dict[str, Path] = {}
    f["cube_4326"] = _write(
        root / "cube_4326.tif", data, "EPSG:4326", Affine(1e-4, 0, 5.7, 0, -1e-4, 52.8), descriptions=desc
    )
    f["cube_20m"] = _write(
        root / "cube_20m.tif", data, crs, Affine(20, 0, t.c, 0, -20, t.f), descriptions=desc
    )
    f["cube_feet"] = _write(
        root / "cube_feet.tif", data, "EPSG:2263", Affine(10, 0, 980000, 0, -10, 200000), descriptions=desc
    )
    f["cube_nocrs"] = _write(root / "cube_nocrs.tif", data, None, t, descriptions=desc)
    f["cube_rotated"] = _write(
        root / "cube_rotated.tif", data, crs, Affine(10, 1, t.c, 1, -10, t.f), descriptions=desc
    )
    f["cube_27"] = _write(root / "cube_27.tif", data[:27], crs, t)
    f["cube_uint8"] = _write(
        root / "cube_uint8.tif", (data // 64).astype(np.uint8), crs, t, descriptions=desc
    )
    f["cube_partial_desc"] = _write(
        root / "cube_partial_desc.tif", data, crs, t, descriptions=[*desc[:-1], "2018-12-31_B08"]
    )
    nan = data.astype(np.float32)
    nan[:, 3, 4] = np.nan
    f["cube_nan"] = _write(root / "cube_nan.tif", nan, crs, t, descriptions=desc)
    # A cube cut in the middle of its pixel data (a COG: header and tile index first, then the tiles)
    # opens, and fails when blocks are read; a plain GeoTIFF (directory at the end) does not open.
    big = np.tile(data, (1, 4, 4))
    plain = _write(root / "cube_plain.tif", big, crs, t, descriptions=desc, compress="deflate")
    cog = root / "cube_cog.tif"
    with rasterio.open(plain) as src:
        copy_to_cog(src, cog, None)
    f["cube_truncated"] = root / "cube_truncated.tif"
    f["cube_truncated"].write_bytes(cog.read_bytes()[: cog.stat().st_size * 6 // 10])
    f["cube_cut_header"] = root / "cube_cut_header.tif"
    f["cube_cut_header"].write_bytes(plain.read_bytes()[: plain.stat().st_size // 2])
    return f


def _dated_cubes(root: Path, cube: Path) -> dict[str, Path]:
    """Cubes whose dates a calendar-free (format 2) bundle must refuse, each in one way."""
    with rasterio.open(cube) as ds:
        data, t, crs, desc = ds.read(), ds.transform, ds.crs, list(ds.descriptions)
    bands = [d.split("_")[1] for d in desc[:4]]
    flanders = [
        "2019-03-22",
        "2019-04-21",
        "2019-05-16",
        "2019-06-20",
        "2019-07-30",
        "2019-08-24",
        "2019-10-13",
    ]
    late = ["2018-03-19", "2018-05-08", "2018-06-30", "2018-08-06", "2018-09-18", "2018-11-17", "2018-12-20"]
    return {
        "cube_undated_desc": _write(root / "cube_undated_desc.tif", data, crs, t, descriptions=bands * 7),
        "cube_december": _write(
            root / "cube_december.tif", data, crs, t, descriptions=[f"{d}_{b}" for d in late for b in bands]
        ),
        "cube_2dates": _write(root / "cube_2dates.tif", data[:8], crs, t, descriptions=desc[:8]),
        "cube_2019": _write(
            root / "cube_2019.tif", data, crs, t, descriptions=[f"{d}_{b}" for d in flanders for b in bands]
        ),
    }


def _labels(root: Path, labels: Path) -> dict[str, Path]:
    with rasterio.open(labels) as ds:
        data, t, crs = ds.read(1), ds.transform, ds.crs
    codes = np.where(data > 0, 1110, 0).astype(np.uint16)  # WorldCereal winter wheat
    f = {
        "ct": _write(root / "ct.tif", codes, crs, t),
        "ct_float": _write(root / "ct_float.tif", codes.astype(np.float32) + 0.5, crs, t),
        "ct_2band": _write(root / "ct_2band.tif", np.stack([codes, codes]), crs, t),
        "ct_shifted": _write(root / "ct_shifted.tif", codes, crs, t @ Affine.translation(3, 0)),
        "labels_float": _write(root / "labels_float.tif", data.astype(np.float32), crs, t),
        "labels_2band": _write(root / "labels_2band.tif", np.stack([data, data]), crs, t),
        "labels_shifted": _write(root / "labels_shifted.tif", data, crs, t @ Affine.translation(0, 2)),
        "labels_codes": _write(root / "labels_codes.tif", codes, crs, t),
    }
    return f


def _parcels(root: Path, gpkg: Path) -> dict[str, Path]:
    geoms = [shapely.box(0, 0, 100, 100)]
    code = {"gewascode": np.array([233], dtype=np.int32)}
    f = {
        "gpkg_far": _gpkg(
            root / "far.gpkg", [shapely.box(10000, 300000, 10500, 300500)], "EPSG:28992", code, "brp_gewas"
        ),
        "gpkg_nocode": _gpkg(
            root / "nocode.gpkg", geoms, "EPSG:28992", {"gewas": np.array(["x"], dtype=object)}, "brp_gewas"
        ),
        "gpkg_points": _gpkg(
            root / "points.gpkg", [shapely.Point(1, 1)], "EPSG:28992", code, "brp_gewas", "Point"
        ),
        "gpkg_nocrs": _gpkg(root / "nocrs.gpkg", geoms, None, code, "brp_gewas"),
        "gpkg_layers": _gpkg(root / "layers.gpkg", geoms, "EPSG:28992", code, "a"),
    }
    _gpkg(f["gpkg_layers"], geoms, "EPSG:28992", code, "b")
    f["gpkg_empty"] = _gpkg(
        root / "empty.gpkg", [], "EPSG:28992", {"gewascode": np.array([], dtype=np.int32)}, "brp_gewas"
    )
    return f


def _band_dir(root: Path, cube: Path) -> Path:
    """The scene cube as per-date folders of single-band files (``2018-01-08/S2_L2A_B02.tif``)."""
    with rasterio.open(cube) as ds:
        data, t, crs, desc = ds.read(), ds.transform, ds.crs, ds.descriptions
    for i, d in enumerate(desc):
        date, band = d.split("_")
        folder = root / "bands" / date
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / f"S2_L2A_{band}.tif", data[i], crs, t)
    return root / "bands"


def _configs(root: Path, f: dict[str, Path]) -> dict[str, Path]:
    base = f"data:\n  cube: {f['cube']}\n  labels: {f['labels']}\n"
    texts = {
        "cfg_epochs_text": base + "train:\n  epochs: ten\n",
        "cfg_epochs_zero": base + "train:\n  epochs: 0\n",
        "cfg_batch_text": base + "train:\n  batch_size: '8'\n",
        "cfg_lr_negative": base + "train:\n  lr: -0.1\n",
        "cfg_loss": base + "train:\n  loss: hinge\n",
        "cfg_unknown_key": base + "train:\n  epochz: 3\n",
        "cfg_unknown_section": base + "optimiser:\n  lr: 0.1\n",
        "cfg_chip": base.replace("labels:", "chip_size: 30\n  labels:"),
        "cfg_no_data": "train:\n  epochs: 1\n",
        "cfg_syntax": base + "train: [epochs: 1\n",
        "cfg_list": "- a\n- b\n",
        "cfg_bool_as_int": base + "train:\n  epochs: true\n",
        "cfg_smoothing": base + "train:\n  label_smoothing: 1.5\n",
        "cfg_augment": base + "augment:\n  cloud: 2.0\n",
        "cfg_split": base.replace("labels:", "split: [a, b, c]\n  labels:"),
    }
    out = {k: root / f"{k}.yaml" for k in texts}
    for k, text in texts.items():
        out[k].write_text(text)
    out["cfg_toml_syntax"] = root / "cfg.toml"
    out["cfg_toml_syntax"].write_text("[train\nepochs = 1\n")
    out["cfg_suffix"] = root / "cfg.txt"
    out["cfg_suffix"].write_text(texts["cfg_epochs_zero"])
    return out


def make_bad_inputs(root: Path) -> dict[str, Path]:
    """Write every file of the table under ``root``; return them by name."""
    from calendar_bundle import make_calendar_bundle
    from fixture_bundle import make_fixture_bundle

    f: dict[str, Path] = dict(_scene(root))
    f["bundle"] = make_fixture_bundle(root / "bundle.pt")
    f["bundle2"] = make_calendar_bundle(root / "bundle2.pt")  # format 2: a calendar of 3..12 dates
    f.update(_cubes(root, f["cube"]))
    f.update(_dated_cubes(root, f["cube"]))
    f.update(_labels(root, f["labels"]))
    f.update(_parcels(root, f["parcels"]))
    f["bands"] = _band_dir(root, f["cube"])
    f["empty_dir"] = root / "empty_dir"
    f["empty_dir"].mkdir()
    f["text"] = root / "notes.txt"
    f["text"].write_text("these are not pixels\n")
    f["text_tif"] = root / "text.tif"
    f["text_tif"].write_text("GeoTIFF? no.\n")
    f["empty_tif"] = root / "empty.tif"
    f["empty_tif"].write_bytes(b"")
    f["missing"] = root / "missing.tif"
    f["broken_link"] = root / "broken_link.tif"
    f["broken_link"].symlink_to(root / "nowhere.tif")
    f["zip"] = root / "not_a_bundle.pt"
    with zipfile.ZipFile(f["zip"], "w") as zf:
        zf.writestr("archive/data.pkl", b"not a model")
    f["bundle_truncated"] = root / "bundle_truncated.pt"
    f["bundle_truncated"].write_bytes(f["bundle"].read_bytes()[:2000])
    f["codes_json"] = root / "codes.json"
    f["codes_json"].write_text(json.dumps({"1110": 21}))
    f["codes_list"] = root / "codes_list.json"
    f["codes_list"].write_text("[1, 2, 3]")
    f["codes_bad_index"] = root / "codes_bad_index.json"
    f["codes_bad_index"].write_text(json.dumps({"1110": 300}))
    f["codes_not_json"] = root / "codes_not.json"
    f["codes_not_json"].write_text("{1110: 21")
    f.update(_configs(root, f))
    return f


def copy_of(path: Path, dest: Path) -> Path:
    """A private copy of a fixture file (for cases whose input must be writable by the command)."""
    shutil.copy2(path, dest)
    return dest


__all__ = ["SIZE", "copy_of", "make_bad_inputs", "write_geotiff"]

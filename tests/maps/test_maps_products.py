"""The publish-phase writers of the map products, run on a finished map with a stand-in publication."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyogrio
import rasterio
from gdal_readback import band_rat, gdalinfo_json
from stac_validation import validate_stac

from cropcube.classes import load_class_table
from cropcube.evaluation.voting import ParcelVoter
from cropcube.maps.gis import write_class_map
from cropcube.maps.parcels import ParcelRun, ParcelTally
from cropcube.maps.products import write_gis_sidecars, write_parcel_products, write_stac_item
from cropcube.readers import open_cube, read_cube
from cropcube.readers.brp import rasterize_brp, read_brp_parcels


class _Publication:
    """Stages every file at its destination (the real one renames temporary names at the end)."""

    def __init__(self) -> None:
        self.staged: list[Path] = []

    def stage(self, dest: Path, last: bool = False) -> Path:
        self.staged.append(Path(dest))
        return Path(dest)


def test_products_of_a_voted_map(tmp_path):
    from cropcube.inference import Classifier
    from cropcube.synthetic.scene import SceneConfig, generate_scene
    from cropcube.synthetic.writer import write_scene

    scene = write_scene(generate_scene(SceneConfig(seed=3, height=96, width=128, supersample=1)), tmp_path)
    info = open_cube(scene["cube"])
    table = load_class_table()
    clf = Classifier(None, backend="python", tile_size=128)
    maps = clf.run(read_cube(scene["cube"]), probabilities=True)
    parcels = read_brp_parcels(scene["parcels"])
    _, ids, _ = rasterize_brp(parcels, info.grid)
    run_parcels = ParcelRun(
        parcels, info.grid, ids, ParcelVoter(76), ParcelTally(np.unique(ids[ids > 0]), 76)
    )
    everything = ((0, ids.shape[0]), (0, ids.shape[1]))
    run_parcels.add(*everything, maps.probabilities, maps.classes)
    voted = run_parcels.vote(*everything, maps.classes)
    out = tmp_path / "out" / "crops.tif"
    write_class_map(out, voted, info.grid.transform, info.grid.crs, table)
    job = SimpleNamespace(
        output=out, metadata=clf.metadata, info=info, parcel_run=run_parcels, parcel_format="gpkg"
    )
    run = SimpleNamespace(job=job, counts=np.bincount(voted.ravel(), minlength=256), class_map=out,
                          written={"class_map": out}, parcel_result=None)  # fmt: skip
    pub = _Publication()
    for writer in (write_gis_sidecars, write_parcel_products, write_stac_item):
        writer(run, pub)
    assert set(run.written) == {"class_map", "gdal_metadata", "style", "parcels", "parcel_summary", "stac"}
    assert all(p.is_file() for p in pub.staged) and len(pub.staged) == 5
    # The RAT counts are the final map's; the parcel table is the map's; the STAC Item validates.
    rat = band_rat(gdalinfo_json(out))
    names = [f["name"] for f in rat["fieldDefn"]]
    assert [r["f"][names.index("count")] for r in rat["row"]] == np.bincount(
        voted.ravel(), minlength=77
    ).tolist()
    assert pyogrio.read_info(run.written["parcels"])["features"] == len(run.parcel_result)
    with rasterio.open(out) as ds:
        on_map = ds.read(1)
    for r in run.parcel_result:
        if r.valid_pixels:
            assert set(np.unique(on_map[ids == r.parcel_id]).tolist()) == {r.predicted_class}
    item = json.loads(run.written["stac"].read_text())
    validate_stac(item)
    assert {"crops_parcels.gpkg", "crops.json", "crops.qml"} <= {a["href"] for a in item["assets"].values()}

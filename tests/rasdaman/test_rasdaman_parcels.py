"""Parcel voting in the client write-back job: the coverage and the per-parcel table equal what
`cropcube classify --parcels` makes of the same cube, also after a kill and a resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import pytest
import rasterio
from fake_petascope import FakePetascope
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.errors import InputError
from cropcube.inference import Classifier
from cropcube.inference.result import ClassMaps
from cropcube.rasdaman.ingest.job import ingest
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.rasdaman.writeback.job import classify_coverage
from cropcube.rasdaman.writeback.parcels import ParcelRequest

TILE = 64  # several tiles over the 160 x 220 scene, each with the model's halo


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A synthetic scene (cube GeoTIFF + BRP GeoPackage) and `cropcube classify --parcels` of it."""
    from cropcube.synthetic.scene import SceneConfig, generate_scene
    from cropcube.synthetic.writer import write_scene

    folder = tmp_path_factory.mktemp("scene")
    scene = write_scene(generate_scene(SceneConfig(seed=5, height=160, width=220, supersample=1)), folder)
    out = folder / "local" / "crops.tif"
    result = CliRunner().invoke(
        app,
        ["classify", str(scene["cube"]), "-o", str(out), "--parcels", str(scene["parcels"]),
         "--no-progress", "--no-quicklook", "--backend", "python"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with rasterio.open(out) as ds:
        scene["voted"] = ds.read(1)
    scene["table"] = _table(out.with_name("crops_parcels.gpkg"))
    return scene


def _table(path: Path) -> dict[str, list[Any]]:
    fields = list(pyogrio.read_info(path)["fields"])
    _, _, _, values = pyogrio.raw.read(str(path))
    return {name: column.tolist() for name, column in zip(fields, values, strict=True)}


def assert_same_table(got: dict[str, list[Any]], want: dict[str, list[Any]]) -> None:
    """Same rows and values; means of probabilities to float precision (summed in another order)."""
    assert list(got) == list(want)
    for name, values in want.items():
        if name == "mean_confidence":
            np.testing.assert_allclose(np.array(got[name], float), np.array(values, float), rtol=1e-5)
        else:
            assert got[name] == values, name


@pytest.fixture
def classifier() -> Classifier:
    return Classifier(backend="python")


@pytest.fixture
def ingested(client: PetascopeClient, synthetic: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    ingest(client, synthetic["cube"], None, tmp_path / "ingest", layout="2d", method="wcst", tile_size=128)
    return synthetic


class Dies:
    """The real classifier, killed (KeyboardInterrupt) at its ``after``-th call."""

    def __init__(self, clf: Classifier, after: int) -> None:
        self.clf, self.after, self.calls = clf, after, 0
        self.metadata = clf.metadata

    def run(self, cube: np.ndarray, **kwargs: Any) -> ClassMaps:
        if self.calls == self.after:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        return self.clf.run(cube, **kwargs)


def test_coverage_and_table_equal_classify_with_parcels(
    client: PetascopeClient,
    fake: FakePetascope,
    ingested: dict[str, Any],
    classifier: Classifier,
    tmp_path: Path,
) -> None:
    report = classify_coverage(
        client, "S2_features_2d", "crops", classifier.metadata, classifier=classifier, tile_size=TILE,
        progress_path=tmp_path / "job.json", parcels=ParcelRequest(ingested["parcels"]),
    )  # fmt: skip
    np.testing.assert_array_equal(fake.array("crops")[0, 0], ingested["voted"])
    assert report.tiles_written == report.tiles_total == 12  # each tile written once, voted
    assert report.parcels is not None and "parcels:" in "\n".join(report.lines())
    table = _table(tmp_path / "crops_parcels.gpkg")
    assert_same_table(table, ingested["table"])
    assert len(table["parcel_id"]) > 20
    summary = (tmp_path / "crops_parcels_summary.csv").read_text()
    assert summary.startswith("gewascode,class,name,parcels,agree,disagree")
    assert not (tmp_path / "job.parcels.npz").exists() and not (tmp_path / "job.classes.npy").exists()


@pytest.mark.parametrize("after", [1, 7])
def test_killed_job_resumes_without_counting_a_tile_twice(
    client: PetascopeClient,
    fake: FakePetascope,
    ingested: dict[str, Any],
    classifier: Classifier,
    tmp_path: Path,
    after: int,
) -> None:
    request, progress = ParcelRequest(ingested["parcels"]), tmp_path / "job.json"
    with pytest.raises(KeyboardInterrupt):
        classify_coverage(client, "S2_features_2d", "crops", classifier.metadata,
                          classifier=Dies(classifier, after), tile_size=TILE, progress_path=progress,
                          parcels=request)  # fmt: skip
    assert (tmp_path / "job.parcels.npz").is_file() and not (tmp_path / "crops_parcels.gpkg").exists()
    resumed = Dies(classifier, 10**6)
    report = classify_coverage(client, "S2_features_2d", "crops", classifier.metadata, classifier=resumed,
                               tile_size=TILE, progress_path=progress, parcels=request)  # fmt: skip
    assert report.tiles_resumed == after and resumed.calls == 12 - after
    np.testing.assert_array_equal(fake.array("crops")[0, 0], ingested["voted"])
    assert_same_table(_table(tmp_path / "crops_parcels.gpkg"), ingested["table"])
    again = classify_coverage(client, "S2_features_2d", "crops", classifier.metadata, classifier=resumed,
                              tile_size=TILE, progress_path=progress, parcels=request)  # fmt: skip
    assert again.tiles_written == 0 and resumed.calls == 12 - after  # a finished job does nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "crops_parcels.gpkg",
        "crops_parcels_summary.csv",
        "ingest",
        "job.json",
    ]  # no work files left behind


def test_parcel_inputs_are_checked_before_the_output_is_made(
    client: PetascopeClient, ingested: dict[str, Any], classifier: Classifier, tmp_path: Path
) -> None:
    def run(request: ParcelRequest, **kwargs: Any) -> None:
        classify_coverage(
            client, "S2_features_2d", "crops", classifier.metadata, classifier=classifier, tile_size=TILE,
            progress_path=tmp_path / "p.json", parcels=request, **kwargs,
        )  # fmt: skip

    with pytest.raises(InputError, match="--like: S2_features_2d has its own CRS grid"):
        run(ParcelRequest(ingested["parcels"], grid_like=ingested["cube"]))
    with pytest.raises(InputError, match="--parcels: needs client mode"):
        run(ParcelRequest(ingested["parcels"]), mode="udf")
    far = tmp_path / "far.gpkg"
    _shifted_parcels(ingested["parcels"], far, 50_000.0)
    with pytest.raises(InputError, match=r"far.gpkg: no parcel covers a pixel of S2_features_2d's window"):
        run(ParcelRequest(far))
    assert "crops" not in client.coverage_ids()


def _shifted_parcels(src: Path, dest: Path, dx: float) -> None:
    """The same parcels moved ``dx`` metres east (off the cube)."""
    import shapely

    meta, _, geometry, values = pyogrio.raw.read(str(src))
    moved = shapely.to_wkb(shapely.transform(shapely.from_wkb(geometry), lambda xy: xy + np.array([dx, 0.0])))
    fields = list(meta["fields"])
    pyogrio.raw.write(str(dest), np.asarray(moved, dtype=object), list(values), fields, driver="GPKG",
                      geometry_type=meta["geometry_type"], crs=meta["crs"])  # fmt: skip


def test_a_damaged_checkpoint_is_refused_by_name(
    client: PetascopeClient, ingested: dict[str, Any], classifier: Classifier, tmp_path: Path
) -> None:
    request, progress = ParcelRequest(ingested["parcels"]), tmp_path / "job.json"

    def run(clf: Any) -> None:
        classify_coverage(client, "S2_features_2d", "crops", classifier.metadata, classifier=clf,
                          tile_size=TILE, progress_path=progress, parcels=request)  # fmt: skip

    with pytest.raises(KeyboardInterrupt):
        run(Dies(classifier, 3))
    state = tmp_path / "job.parcels.npz"
    state.write_bytes(state.read_bytes()[:100])  # cut short, as by a full disk
    with pytest.raises(InputError, match=r"job.parcels.npz: is not a parcel checkpoint .*--restart"):
        run(classifier)


def test_a_collection_without_crs_needs_the_grid_of_its_raster(
    synthetic: dict[str, Any], classifier: Classifier, tmp_path: Path
) -> None:
    from test_rasdaman_stores import MemoryStore

    with rasterio.open(synthetic["cube"]) as src:
        store = MemoryStore("cube", src.read())  # a rasql-like input: cells, no CRS

    def run(request: ParcelRequest) -> Any:
        return classify_coverage(
            store, "cube", "crops", classifier.metadata, classifier=classifier, tile_size=TILE,
            progress_path=tmp_path / "p.json", parcels=request,
        )  # fmt: skip

    with pytest.raises(InputError, match=r"--parcels: cube has no CRS .* --like"):
        run(ParcelRequest(synthetic["parcels"]))
    small = tmp_path / "small.tif"
    with rasterio.open(synthetic["cube"]) as src:
        profile = {**src.profile, "width": 100, "height": 80}
        with rasterio.open(small, "w", **profile) as dst:
            dst.write(src.read(window=((0, 80), (0, 100))))
    with pytest.raises(InputError, match=r"small.tif: is 100x80 pixels; cube is 220x160: not its grid"):
        run(ParcelRequest(synthetic["parcels"], grid_like=small))
    assert store.outputs == {}
    report = run(ParcelRequest(synthetic["parcels"], grid_like=synthetic["cube"]))
    np.testing.assert_array_equal(store.outputs["crops"], synthetic["voted"])
    assert report.parcels is not None

"""Classify and write back through the fake server: seamless tiles, both modes, metadata, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fake_petascope import FakePetascope
from rasdaman_scene import (
    GRID,
    Scene,
    ToyClassifier,
    box_classes,
    model_classes,
    reference_classes,
    toy_metadata,
)

from cropcube.errors import InputError
from cropcube.rasdaman import metadata
from cropcube.rasdaman.grid import window
from cropcube.rasdaman.ingest.job import ingest
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.rasdaman.writeback.job import classify_coverage, udf_query


@pytest.fixture
def ingested(client: PetascopeClient, scene: Scene, tmp_path: Path) -> Scene:
    ingest(client, scene.cube_path, None, tmp_path / "ingest", layout="2d", method="wcst", tile_size=64)
    return scene


def test_client_mode_is_seamless_and_carries_provenance(
    client: PetascopeClient, fake: FakePetascope, ingested: Scene, tmp_path: Path
) -> None:
    clf = ToyClassifier()
    report = classify_coverage(
        client,
        "S2_features_2d",
        "crops",
        clf.metadata,
        classifier=clf,
        tile_size=16,
        progress_path=tmp_path / "p.json",
    )
    assert report.tiles_total == 9 and report.tiles_written == 9 and report.created
    out = fake.array("crops")[0, 0]
    np.testing.assert_array_equal(out, reference_classes(ingested.cube))
    desc = client.describe_coverage("crops")
    assert desc.grid == GRID and desc.bands == ["class"] and desc.nil_values == [0.0]
    info = metadata.decode(desc.metadata)
    assert info is not None and info["kind"] == "classes" and len(info["classes"]) == 76
    assert info["model"] == {"name": "toy_box3", "version": "0.0-test", "content_hash": "sha256:" + "ab" * 32}
    assert fake.requests("InsertCoverage")[-1].get("pixelDataType") == "Byte"
    # reads carry the halo (2 px) clipped at the coverage border: first tile reads 18 x 18 pixels
    first = fake.requests("GetCoverage")[0]
    assert first.all("subset") == ["E(677405,677575)", "N(5851785,5851955)"]


def test_tiles_without_halo_would_show_seams(scene: Scene) -> None:
    # guards the test above: the toy model does depend on neighbours and on alignment
    cube = scene.cube
    split = np.concatenate([box_classes(cube[:, :, :15]), box_classes(cube[:, :, 15:])], axis=1)
    assert (split != box_classes(cube)).any()


def test_area_subset_makes_a_coverage_on_the_same_grid(
    client: PetascopeClient, fake: FakePetascope, ingested: Scene, tmp_path: Path
) -> None:
    clf = ToyClassifier()
    area = (677400 + 10 * 6 + 1, 677400 + 10 * 30 - 1, 5851960 - 10 * 25 + 1, 5851960 - 10 * 4 - 1)
    report = classify_coverage(
        client,
        "S2_features_2d",
        "crops_area",
        clf.metadata,
        classifier=clf,
        area=area,
        tile_size=8,
        progress_path=tmp_path / "p.json",
    )
    assert report.window == (6, 4, 24, 21)
    desc = client.describe_coverage("crops_area")
    assert desc.grid == window(GRID, 6, 4, 24, 21)
    np.testing.assert_array_equal(
        fake.array("crops_area")[0, 0], reference_classes(ingested.cube)[4:25, 6:30]
    )


def test_udf_mode_sends_exact_wcps_and_crops_halo(
    client: PetascopeClient, fake: FakePetascope, ingested: Scene, tmp_path: Path
) -> None:
    fake.udf = lambda arr: np.where((arr == 0).all(axis=0), 0, box_classes(arr)).astype(np.uint8)
    report = classify_coverage(
        client,
        "S2_features_2d",
        "crops_udf",
        toy_metadata(),
        mode="udf",
        tile_size=32,
        progress_path=tmp_path / "p.json",
    )
    assert report.tiles_written == 4
    queries = [r.get("query") for r in fake.requests("ProcessCoverages")]
    assert queries[0] == (
        "for $c in (S2_features_2d) return encode(crop.classify($c[E(677405:677735),"
        'N(5851625:5851955)]), "image/tiff")'
    )
    assert len(queries) == 4
    # The server's function's classes, halo cropped (the cube is not read here, so no map rule).
    np.testing.assert_array_equal(fake.array("crops_udf")[0, 0], model_classes(ingested.cube))


def test_3d_coverage_in_client_mode_matches_2d(
    client: PetascopeClient, fake: FakePetascope, ingested: Scene, tmp_path: Path
) -> None:
    ingest(client, ingested.cube_path, None, tmp_path / "i3", layout="3d", method="wcst", tile_size=64)
    clf = ToyClassifier()
    classify_coverage(
        client,
        "S2_features_3d",
        "crops3d",
        clf.metadata,
        classifier=clf,
        tile_size=32,
        progress_path=tmp_path / "p.json",
    )
    np.testing.assert_array_equal(fake.array("crops3d")[0, 0], reference_classes(ingested.cube))
    with pytest.raises(InputError, match="udf mode needs the 2-D"):
        classify_coverage(
            client, "S2_features_3d", "x3", clf.metadata, mode="udf", progress_path=tmp_path / "q"
        )


def test_killed_job_resumes_without_redoing_tiles(
    client: PetascopeClient, fake: FakePetascope, ingested: Scene, tmp_path: Path
) -> None:
    progress = tmp_path / "job.json"
    with pytest.raises(KeyboardInterrupt):
        classify_coverage(
            client,
            "S2_features_2d",
            "crops",
            toy_metadata(),
            classifier=ToyClassifier(die_after=4),
            tile_size=16,
            progress_path=progress,
        )
    assert len(json.loads(progress.read_text())["finished"]) == 4
    updates_before = len(fake.requests("UpdateCoverage"))
    clf = ToyClassifier()
    report = classify_coverage(
        client, "S2_features_2d", "crops", clf.metadata, classifier=clf, tile_size=16, progress_path=progress
    )
    assert (report.tiles_resumed, report.tiles_written, report.created) == (4, 5, False)
    assert clf.calls == 5 and len(fake.requests("UpdateCoverage")) == updates_before + 5
    np.testing.assert_array_equal(fake.array("crops")[0, 0], reference_classes(ingested.cube))
    # a finished job run again writes nothing
    again = classify_coverage(
        client, "S2_features_2d", "crops", clf.metadata, classifier=clf, tile_size=16, progress_path=progress
    )
    assert again.tiles_written == 0 and again.tiles_resumed == 9


def test_server_failure_mid_job_then_resume(
    client: PetascopeClient, fake: FakePetascope, ingested: Scene, tmp_path: Path
) -> None:
    from cropcube.rasdaman.transport.errors import RasdamanError

    fake.fail_updates_after = fake.updates_done + 2
    with pytest.raises(RasdamanError):
        classify_coverage(
            client,
            "S2_features_2d",
            "crops",
            toy_metadata(),
            classifier=ToyClassifier(),
            tile_size=16,
            progress_path=tmp_path / "p.json",
        )
    fake.fail_updates_after = None
    fake.fail_next = [503]  # and one transient error on the way
    report = classify_coverage(
        client,
        "S2_features_2d",
        "crops",
        toy_metadata(),
        classifier=ToyClassifier(),
        tile_size=16,
        progress_path=tmp_path / "p.json",
    )
    assert report.tiles_resumed == 2 and report.tiles_written == 7
    np.testing.assert_array_equal(fake.array("crops")[0, 0], reference_classes(ingested.cube))


def test_changed_job_refuses_old_record_unless_restart(
    client: PetascopeClient, fake: FakePetascope, ingested: Scene, tmp_path: Path
) -> None:
    progress = tmp_path / "p.json"
    classify_coverage(
        client,
        "S2_features_2d",
        "crops",
        toy_metadata(),
        classifier=ToyClassifier(),
        tile_size=16,
        progress_path=progress,
    )
    with pytest.raises(InputError, match="different job"):
        classify_coverage(
            client,
            "S2_features_2d",
            "crops",
            toy_metadata(),
            classifier=ToyClassifier(),
            tile_size=32,
            progress_path=progress,
        )
    with pytest.raises(InputError, match="already exists"):  # restart alone does not overwrite the output
        classify_coverage(
            client,
            "S2_features_2d",
            "crops",
            toy_metadata(),
            classifier=ToyClassifier(),
            tile_size=32,
            progress_path=progress,
            restart=True,
        )
    report = classify_coverage(
        client,
        "S2_features_2d",
        "crops",
        toy_metadata(),
        classifier=ToyClassifier(),
        tile_size=32,
        progress_path=progress,
        restart=True,
        replace=True,
    )
    assert report.created and report.tiles_written == 4
    np.testing.assert_array_equal(fake.array("crops")[0, 0], reference_classes(ingested.cube))


def test_bad_arguments(client: PetascopeClient, ingested: Scene, tmp_path: Path) -> None:
    meta = toy_metadata()
    with pytest.raises(InputError, match="output coverage id"):
        classify_coverage(client, "S2_features_2d", "out]; delete", meta, classifier=ToyClassifier())
    with pytest.raises(InputError, match="must differ"):
        classify_coverage(client, "S2_features_2d", "S2_features_2d", meta, classifier=ToyClassifier())
    with pytest.raises(InputError, match="client mode needs"):
        classify_coverage(client, "S2_features_2d", "o", meta)
    with pytest.raises(InputError, match="selects no pixel"):
        classify_coverage(
            client,
            "S2_features_2d",
            "o",
            meta,
            classifier=ToyClassifier(),
            area=(0, 10, 0, 10),
            progress_path=tmp_path / "p",
        )
    with pytest.raises(InputError, match=r"namespace\.function"):
        udf_query("cov", (1, 2), (3, 4), udf="crop.classify($c), delete(")


def test_labels_coverage_is_refused_as_input(client: PetascopeClient, scene: Scene, tmp_path: Path) -> None:
    ingest(client, None, scene.labels_path, tmp_path / "w", method="wcst", tile_size=64)
    with pytest.raises(InputError, match="the model needs 28"):
        classify_coverage(client, "BRP_labels", "o", toy_metadata(), classifier=ToyClassifier())


class RecordingWriter:
    """Stands in for RasqlTileWriter (no rasdaman here): records the tiles it is given."""

    def __init__(self) -> None:
        self.tiles: dict[tuple[int, int], np.ndarray] = {}

    def write(self, col: int, row: int, array: np.ndarray) -> None:
        self.tiles[(col, row)] = array.copy()


def test_custom_writer_gets_every_tile_and_the_grid_is_spanned_first(
    client: PetascopeClient, fake: FakePetascope, ingested: Scene, tmp_path: Path
) -> None:
    writer = RecordingWriter()
    classify_coverage(
        client,
        "S2_features_2d",
        "crops_rasql",
        toy_metadata(),
        classifier=ToyClassifier(),
        tile_size=32,
        progress_path=tmp_path / "p.json",
        writer=writer,
    )
    assert sorted(writer.tiles) == [(0, 0), (0, 32), (32, 0), (32, 32)]
    full = np.zeros((GRID.height, GRID.width), np.uint8)
    for (c, r), tile in writer.tiles.items():
        full[r : r + tile.shape[0], c : c + tile.shape[1]] = tile
    np.testing.assert_array_equal(full, reference_classes(ingested.cube))
    # petascope's grid of the output already spans the whole area (zeros), ready for rasql updates
    assert client.describe_coverage("crops_rasql").grid == GRID
    assert not fake.array("crops_rasql").any()

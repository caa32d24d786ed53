"""Against a REAL rasdaman (community or enterprise): set CROPCUBE_RASDAMAN_URL (and credentials in
CROPCUBE_RASDAMAN_USER/_PASSWORD or ~/.netrc) to run; skipped with a reason otherwise."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from rasdaman_scene import GRID, Scene, ToyClassifier, reference_classes

from cropcube.rasdaman.ingest.job import ingest
from cropcube.rasdaman.transport.coverage_io import read_window
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.rasdaman.writeback.job import classify_coverage

pytestmark = pytest.mark.rasdaman


@pytest.fixture
def real() -> Iterator[tuple[PetascopeClient, str]]:
    url = os.environ.get("CROPCUBE_RASDAMAN_URL")
    if not url:
        pytest.skip("no real rasdaman configured (set CROPCUBE_RASDAMAN_URL=http://host:8080/rasdaman/ows)")
    client = PetascopeClient(url)
    prefix = f"cropcube_test_{uuid.uuid4().hex[:8]}"
    yield client, prefix
    for cid in client.coverage_ids():
        if cid.startswith(prefix):
            client.delete_coverage(cid)


def test_ingest_classify_write_back_on_a_real_server(
    real: tuple[PetascopeClient, str], scene: Scene, tmp_path: Path
) -> None:
    client, prefix = real
    report = ingest(
        client,
        scene.cube_path,
        scene.labels_path,
        tmp_path / "w",
        features_id=f"{prefix}_f2",
        features_3d_id=f"{prefix}_f3",
        labels_id=f"{prefix}_l",
        layout="both",
        method="wcst",
        tile_size=32,
    )
    assert all(c.action == "created" for c in report.coverages)
    desc = client.describe_coverage(f"{prefix}_f2")
    assert desc.grid == GRID
    np.testing.assert_array_equal(read_window(client, desc, 0, 0, GRID.width, GRID.height), scene.cube)
    d3 = client.describe_coverage(f"{prefix}_f3")
    np.testing.assert_array_equal(read_window(client, d3, 3, 5, 20, 10), scene.cube[:, 5:15, 3:23])
    clf = ToyClassifier()
    classify_coverage(
        client,
        f"{prefix}_f2",
        f"{prefix}_classes",
        clf.metadata,
        classifier=clf,
        tile_size=16,
        progress_path=tmp_path / "p.json",
    )
    out = client.describe_coverage(f"{prefix}_classes")
    assert out.grid == GRID
    got = read_window(client, out, 0, 0, GRID.width, GRID.height)[0]
    np.testing.assert_array_equal(got, reference_classes(scene.cube))

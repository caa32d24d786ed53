"""The rasql route against a REAL rasdaman (community core, no petascope needed).

Runs when ``CROPCUBE_RASQL_HOST`` names a rasmgr (``CROPCUBE_RASQL_PORT``, default 7001) and
``CROPCUBE_RASDAMAN_USER`` / ``CROPCUBE_RASDAMAN_PASSWORD`` a write-enabled account; skipped with that
reason otherwise. Collections are named ``$CROPCUBE_TEST_PREFIX`` (default ``cropcube_test``) + a random
suffix and dropped afterwards.

Checked on real Sentinel-2 pixels (the Flevoland sample): ingest over rasql and classify + write-back over
rasql equal ``cropcube classify`` on the GeoTIFF pixel for pixel; a killed job resumes to the same map;
wrong inputs are clear errors and leave the collections intact; and a rasodmg client of our own fetches
arrays from the server and classifies them through crop.so loaded with dlopen(RTLD_NOW | RTLD_LOCAL), as
a server would, equal to the GeoTIFF path, with bad arrays refused cleanly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.errors import InputError
from cropcube.inference.map_rule import clear_non_cropland
from cropcube.inference.result import ClassMaps
from cropcube.rasdaman.transport.errors import RasdamanError
from cropcube.rasdaman.transport.rasql import RasqlConnection
from cropcube.rasdaman.writeback.job import classify_coverage
from cropcube.rasdaman.writeback.stores import RasqlStore

# A keep-alive thread of rasdapy3 that dies on a closed channel prints a traceback at a user's exit.
pytestmark = [
    pytest.mark.rasdaman,
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]
HOST = os.environ.get("CROPCUBE_RASQL_HOST", "")
PORT = int(os.environ.get("CROPCUBE_RASQL_PORT", "7001"))
REPO = Path(__file__).resolve().parents[2]
S2 = "flevoland_2018_s2_100px/s2_flevoland_2018_100x100_7dates_x_4bands_dn.tif"


@pytest.fixture
def server() -> Iterator[tuple[RasqlConnection, str]]:
    """A connection and a fresh name prefix; the test's collections are dropped afterwards.

    rasdaman gives every open connection a server process of its own (the shared server has two), so a
    test closes it before running the CLI, which opens its own.
    """
    if not HOST:
        pytest.skip("no rasdaman server configured (set CROPCUBE_RASQL_HOST, e.g. localhost)")
    if not os.environ.get("CROPCUBE_RASDAMAN_USER") or "CROPCUBE_RASDAMAN_PASSWORD" not in os.environ:
        pytest.skip("no write-enabled rasdaman account (set CROPCUBE_RASDAMAN_USER / _PASSWORD)")
    prefix = f"{os.environ.get('CROPCUBE_TEST_PREFIX', 'cropcube_test')}_{uuid.uuid4().hex[:6]}"
    connection = RasqlConnection(HOST, PORT, write=True, timeout=120)
    yield connection, prefix
    connection.close()
    with RasqlConnection(HOST, PORT, write=True, timeout=120) as cleanup:
        for name in cleanup.collections():
            if name.startswith(prefix):
                cleanup.execute(f"drop collection {name}")


@pytest.fixture(scope="module")
def cube(shared_data: Path) -> Path:
    return shared_data / S2


@pytest.fixture(scope="module")
def udf_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real bundle (a U-Net with a 12-px halo): tiles of 32 px cannot hide seams."""
    sys.path.insert(0, str(REPO / "tests" / "inference"))
    from fixture_bundle import make_fixture_bundle

    return make_fixture_bundle(tmp_path_factory.mktemp("bundle") / "fixture.pt")


def _cli(args: list[str], tmp: Path) -> str:
    env = {"CROPCUBE_RASQL_HOST": HOST, "CROPCUBE_RASQL_PORT": str(PORT), "CROPCUBE_RASDAMAN_URL": ""}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_ingest_and_classify_over_rasql_equal_cropcube_classify(
    server: tuple[RasqlConnection, str], cube: Path, udf_bundle: Path, tmp_path: Path
) -> None:
    connection, prefix = server
    connection.close()  # the CLI opens its own
    features, classes = f"{prefix}_s2", f"{prefix}_crops"
    out = _cli(
        ["rasdaman", "ingest", "--cube", str(cube), "--features-id", features,
         "--work-dir", str(tmp_path / "w"), "--tile-size", "48"],
        tmp_path,
    )  # fmt: skip
    assert f"{features}: created (9 tiles written); domain [0:99,0:99]" in out  # auto: no endpoint -> rasql
    again = _cli(["rasdaman", "ingest", "--cube", str(cube), "--features-id", features,
                  "--work-dir", str(tmp_path / "w"), "--tile-size", "48"], tmp_path)  # fmt: skip
    assert f"{features}: unchanged" in again
    with RasqlConnection(HOST, PORT) as connection, rasterio.open(cube) as src:
        info = connection.describe(features)
        assert info.domain == ((0, 99), (0, 99)) and info.n_bands == 28 and info.dtype == np.uint16
        np.testing.assert_array_equal(connection.read_array(info, 0, 0, 100, 100), src.read())  # bands right
    out = _cli(
        ["rasdaman", "classify", features, classes, "--transport", "rasql", "--model", str(udf_bundle),
         "--tile-size", "32", "--progress", str(tmp_path / "job.json")],
        tmp_path,
    )  # fmt: skip
    assert "tiles: 16 written, 0 resumed, 16 total" in out and "output domain [0:99,0:99]" in out
    _cli(["rasdaman", "query", "--transport", "rasql", "-o", str(tmp_path / "crops.tif"),
          f'select encode(c, "GTiff") from {classes} as c'], tmp_path)  # fmt: skip
    _cli(["classify", str(cube), "-o", str(tmp_path / "local.tif"), "--model", str(udf_bundle),
          "--no-quicklook", "--no-progress"], tmp_path)  # fmt: skip
    with rasterio.open(tmp_path / "crops.tif") as got, rasterio.open(tmp_path / "local.tif") as want:
        written, local = got.read(1), want.read(1)
    assert len(np.unique(local)) > 3
    np.testing.assert_array_equal(written, local)
    # a sub-window keeps the input's domain, and with its origin on the model's downsampling grid
    # (a multiple of 8 here) its classes equal the same part of the whole map
    sub = f"{prefix}_sub"
    _cli(["rasdaman", "classify", features, sub, "--transport", "rasql", "--model", str(udf_bundle),
          "--cells", "16:55,8:39", "--tile-size", "16", "--progress", str(tmp_path / "sub.json")],
         tmp_path)  # fmt: skip
    with RasqlConnection(HOST, PORT) as connection:
        sub_info = connection.describe(sub)
        assert sub_info.domain == ((16, 55), (8, 39))
        np.testing.assert_array_equal(connection.read_array(sub_info, 16, 8, 40, 32)[0], local[8:40, 16:56])


def test_parcels_over_rasql_equal_cropcube_classify_with_parcels(
    server: tuple[RasqlConnection, str], tmp_path: Path
) -> None:
    """`rasdaman classify --parcels --like` on a collection: the voted map and the per-parcel table of
    `cropcube classify --parcels` on the GeoTIFF it was ingested from (shipped model, default options)."""
    import pyogrio.raw

    from cropcube.synthetic.scene import SceneConfig, generate_scene
    from cropcube.synthetic.writer import write_scene

    connection, prefix = server
    connection.close()  # the CLI opens its own
    scene = write_scene(generate_scene(SceneConfig(seed=5, height=120, width=150, supersample=1)), tmp_path)
    features, classes = f"{prefix}_p_s2", f"{prefix}_p_crops"
    _cli(["rasdaman", "ingest", "--cube", str(scene["cube"]), "--features-id", features,
          "--work-dir", str(tmp_path / "w"), "--tile-size", "64"], tmp_path)  # fmt: skip
    out = _cli(["rasdaman", "classify", features, classes, "--transport", "rasql", "--parcels",
                str(scene["parcels"]), "--like", str(scene["cube"]), "--tile-size", "64",
                "--progress", str(tmp_path / "job" / "job.json")], tmp_path)  # fmt: skip
    assert "parcels voted" in out and "tiles: 6 written, 0 resumed, 6 total" in out
    _cli(["classify", str(scene["cube"]), "-o", str(tmp_path / "local" / "crops.tif"), "--parcels",
          str(scene["parcels"]), "--no-quicklook", "--no-progress"], tmp_path)  # fmt: skip
    with rasterio.open(tmp_path / "local" / "crops.tif") as want, RasqlConnection(HOST, PORT) as fresh:
        got = fresh.read_array(fresh.describe(classes), 0, 0, 150, 120)[0]
        np.testing.assert_array_equal(got, want.read(1))
    paths = (tmp_path / "job" / f"{classes}_parcels.gpkg", tmp_path / "local" / "crops_parcels.gpkg")
    tables = [pyogrio.raw.read(str(p))[3] for p in paths]
    fields = list(pyogrio.read_info(paths[1])["fields"])
    for name, a, b in zip(fields, *tables, strict=True):
        if name == "mean_confidence":
            np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=1e-5)
        else:
            assert a.tolist() == b.tolist(), name


def test_killed_job_resumes_and_bad_inputs_leave_collections_intact(
    server: tuple[RasqlConnection, str], cube: Path, udf_bundle: Path, tmp_path: Path
) -> None:
    from cropcube.inference import Classifier
    from cropcube.rasdaman.ingest.rasql import ingest_rasql

    connection, prefix = server
    features, out = f"{prefix}_k_s2", f"{prefix}_k_crops"
    ingest_rasql(connection, cube, None, tmp_path / "w", features_id=features, tile_size=64)
    clf = Classifier(model=udf_bundle)

    class Dies:
        metadata = clf.metadata

        def __init__(self) -> None:
            self.calls = 0

        def run(self, window: np.ndarray, *, core: tuple[int, int, int, int] | None = None) -> ClassMaps:
            if self.calls == 3:
                raise KeyboardInterrupt("simulated kill")
            self.calls += 1
            return clf.run(window, core=core)

    store = RasqlStore(connection)
    with pytest.raises(KeyboardInterrupt):
        classify_coverage(store, features, out, clf.metadata, classifier=Dies(), tile_size=32,
                          progress_path=tmp_path / "p.json")  # fmt: skip
    report = classify_coverage(store, features, out, clf.metadata, classifier=clf, tile_size=32,
                               progress_path=tmp_path / "p.json")  # fmt: skip
    assert (report.tiles_resumed, report.tiles_written, report.created) == (3, 13, False)
    with rasterio.open(cube) as src:
        cells = src.read()
    # The kernel's map after the one map rule `cropcube classify` applies too (non-cropland = 0).
    expected = clear_non_cropland(ClassMaps(clf.classify_array(cells)), cells, clf.metadata.spec).classes
    np.testing.assert_array_equal(
        connection.read_array(connection.describe(out), 0, 0, 100, 100)[0], expected
    )
    # wrong inputs: clear errors naming the collection; nothing written
    labels = f"{prefix}_k_grey"
    connection.execute(f"create collection {labels} GreySet")
    connection.execute(f"insert into {labels} values marray x in [0:9, 0:9] values 1c")
    with pytest.raises(InputError, match=rf"{labels}: has 1 channels .* the model needs 28"):
        classify_coverage(store, labels, f"{prefix}_k_x", clf.metadata, classifier=clf,
                          progress_path=tmp_path / "x.json")  # fmt: skip
    cube3 = f"{prefix}_k_cube3"
    connection.execute(f"create collection {cube3} GreySet3")
    connection.execute(f"insert into {cube3} values marray x in [0:1, 0:3, 0:3] values 1c")
    with pytest.raises(InputError, match="3-D array"):
        classify_coverage(store, cube3, f"{prefix}_k_x", clf.metadata, classifier=clf,
                          progress_path=tmp_path / "y.json")  # fmt: skip
    with pytest.raises(InputError, match=r"exists with domain \[0:9,0:9\] of 1-band char cells"):
        classify_coverage(store, features, labels, clf.metadata, classifier=clf,
                          progress_path=tmp_path / "z.json")  # fmt: skip
    assert f"{prefix}_k_x" not in connection.collections()
    # a call cut off by its deadline ends cleanly; the collection is intact for the next connection
    info = connection.describe(features)
    # The server has two rasserver processes: free this one, or `fresh` below may find both busy (the
    # cut-off call's server may still be sending) and rasmgr answers DEADLINE_EXCEEDED.
    connection.close()
    slow = RasqlConnection(HOST, PORT, timeout=120)
    slow.timeout = 0.001  # far too short for 560 kB: the watchdog ends the call
    with pytest.raises(RasdamanError, match="--timeout"):
        slow.read_array(info, 0, 0, 100, 100)
    with pytest.raises(RasdamanError, match="closed after a timeout"):
        slow.read_array(info, 0, 0, 1, 1)
    with RasqlConnection(HOST, PORT) as fresh:
        assert fresh.read_array(fresh.describe(features), 0, 0, 100, 100).shape == (28, 100, 100)


def _client() -> Path:
    client = REPO / "udf" / "build" / "rasdaman" / "cropcube_udf_client"
    if not client.is_file():
        pytest.skip(f"{client} not built (configure udf/build with RMANHOME set: scripts/test_cpp.sh)")
    return client


def test_rasodmg_client_classifies_server_arrays_through_crop_so(
    server: tuple[RasqlConnection, str], cube: Path, udf_bundle: Path, tmp_path: Path
) -> None:
    from cropcube.inference import Classifier
    from cropcube.rasdaman.ingest.rasql import ingest_rasql

    client = _client()
    crop_so = client.parent / "crop.so"
    connection, prefix = server
    features = f"{prefix}_c_s2"
    ingest_rasql(connection, cube, None, tmp_path / "w", features_id=features, tile_size=100)
    env = {**os.environ, "CROPCUBE_MODEL": str(udf_bundle), "CROPCUBE_CONFIG": ""}

    def run(query: str, out: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(client), str(crop_so), "query", HOST, str(PORT), query, str(out)],
                              capture_output=True, text=True, env=env, timeout=300, check=False)  # fmt: skip

    done = run(f"select c[10:59, 20:49] from {features} as c", tmp_path / "map.raw")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "domain [10:59,20:49]" in done.stdout  # the result keeps the input's domain
    got = np.fromfile(tmp_path / "map.raw", np.uint8).reshape(50, 30)  # [e][n], n fastest
    with rasterio.open(cube) as src:
        window = src.read()[:, 20:50, 10:60]
    expected = Classifier(model=udf_bundle).classify_array(window)
    assert len(np.unique(expected)) > 3
    np.testing.assert_array_equal(got.T, expected)
    # bad arrays from the server: one clean error each, the client (the "server") alive
    for query, needle in [
        (f"select c.Band_1[0:9, 0:9] from {features} as c", "2-D input cells have 1 bands"),
        (f"select (char) c.Band_1[0:9, 0:9] from {features} as c", "input cell type"),
        ("select marray x in [0:3, 0:3, 0:3] values {1us, 2us, 3us, 4us}", "time slices"),
    ]:
        bad = run(query, tmp_path / "bad.raw")
        assert bad.returncode == 4 and needle in bad.stdout, (query, bad.stdout, bad.stderr)
        assert "$errorNo" not in bad.stdout and "$lineNo" not in bad.stdout

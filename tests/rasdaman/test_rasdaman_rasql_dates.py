"""Dates over the rasql route against a REAL rasdaman: a collection has no time axis, --dates names them.

REAL Sentinel-2 pixels of the Flanders 2019 tile at 6 acquisitions picked from its 72 (another year,
calendar and T than the bundle's default) are ingested over rasql as a 24-band array and classified by
the client job with a format-2 bundle (tests/inference/calendar_bundle.py): with ``--dates`` the
written map equals ``cropcube classify`` of the dated GeoTIFF; without, the job refuses to guess.
Runs with the other real-server tests (``-m rasdaman``, ``CROPCUBE_RASQL_HOST`` ...).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from test_rasdaman_rasql_server import HOST, PORT, REPO, _cli
from test_rasdaman_rasql_server import server as real_server
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.rasdaman.transport.rasql import RasqlConnection

pytestmark = pytest.mark.rasdaman
PICK = ("2019-04-01", "2019-04-21", "2019-05-16", "2019-07-05", "2019-07-30", "2019-08-24")


def _dated_flanders(shared_data: Path, out: Path) -> Path:
    folder = shared_data / "flanders_2019_s2_croptype"
    meta = json.loads((folder / "meta.json").read_text())
    (key, info), *_ = ((k, v) for k, v in meta.items() if isinstance(v, dict) and "all_dates" in v)
    stack = np.load(folder / f"{key}_s2_full_T72_C4_dn.npy")[[info["all_dates"].index(d) for d in PICK]]
    t, c, h, w = stack.shape
    profile = {"driver": "GTiff", "width": w, "height": h, "count": t * c, "dtype": "uint16"}
    with rasterio.open(
        out, "w", crs="EPSG:32631", transform=from_origin(*info["ul_corner"], 10, 10), **profile
    ) as dst:
        dst.write(stack.reshape(t * c, h, w).astype(np.uint16))
        for i, desc in enumerate(f"{d}_{b}" for d in PICK for b in info["band_order"]):
            dst.set_band_description(i + 1, desc)
    return out


server = real_server  # the real-server fixture: a connection and a fresh name prefix


def test_rasql_collection_classified_with_the_dates_given(server, shared_data: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "tests" / "inference"))
    from calendar_bundle import make_calendar_bundle

    connection, prefix = server
    connection.close()  # the CLI opens its own
    cube = _dated_flanders(shared_data, tmp_path / "flanders_6dates.tif")
    bundle = make_calendar_bundle(tmp_path / "cal.pt")
    features, classes = f"{prefix}_d_s2", f"{prefix}_d_crops"
    _cli(["rasdaman", "ingest", "--cube", str(cube), "--features-id", features,
          "--work-dir", str(tmp_path / "w"), "--tile-size", "48"], tmp_path)  # fmt: skip
    job = ["rasdaman", "classify", features, classes, "--transport", "rasql", "--model", str(bundle),
           "--tile-size", "32", "--progress", str(tmp_path / "job.json")]  # fmt: skip
    env = {"CROPCUBE_RASQL_HOST": HOST, "CROPCUBE_RASQL_PORT": str(PORT), "CROPCUBE_RASDAMAN_URL": ""}
    refused = CliRunner().invoke(app, job, env=env)
    assert refused.exit_code == 2 and "the cube has 6 dates but no dates are known" in refused.output
    _cli([*job, "--dates", ",".join(PICK)], tmp_path)
    _cli(["rasdaman", "query", "--transport", "rasql", "-o", str(tmp_path / "crops.tif"),
          f'select encode(c, "GTiff") from {classes} as c'], tmp_path)  # fmt: skip
    _cli(["classify", str(cube), "-o", str(tmp_path / "local.tif"), "--model", str(bundle),
          "--no-quicklook", "--no-progress"], tmp_path)  # fmt: skip
    with rasterio.open(tmp_path / "crops.tif") as got, rasterio.open(tmp_path / "local.tif") as want:
        written, local = got.read(1), want.read(1)
    assert len(np.unique(local)) > 3
    np.testing.assert_array_equal(written, local)
    with RasqlConnection(HOST, PORT) as check:
        assert check.describe(features).n_bands == 24  # T = 6 dates x 4 bands, not the default 7

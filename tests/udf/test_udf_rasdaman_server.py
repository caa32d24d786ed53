"""crop.classify on a real rasdaman enterprise server (skipped with a reason when none is configured).

Environment: CROPCUBE_RASDAMAN_URL (petascope OWS endpoint), RMANHOME (the installation, writable),
credentials as for every cropcube rasdaman command (CROPCUBE_RASDAMAN_USER/PASSWORD or ~/.netrc);
optional CROPCUBE_UDF_LANGUAGE (cpp|python), CROPCUBE_RASDAMAN_RESTART (restart command),
CROPCUBE_UDF_COVERAGE (a 28-band E/N coverage to classify through WCPS and compare with local
classification of the same cutout fetched as GeoTIFF).
"""

from __future__ import annotations

import io
import os
import shlex
from pathlib import Path

import numpy as np
import pytest
import rasterio
import requests

from cropcube.inference.classifier import Classifier
from cropcube.rasdaman.transport.credentials import PASSWORD_ENV, USER_ENV
from cropcube.rasdaman.udf import deploy
from cropcube.rasdaman.udf.executor import execute
from cropcube.rasdaman.udf.rasql_http import PetascopeRasql, RasqlError

pytestmark = pytest.mark.rasdaman
URL = os.environ.get("CROPCUBE_RASDAMAN_URL", "")
RMANHOME = os.environ.get("RMANHOME", "")


@pytest.fixture(scope="module")
def deployed(udf_bundle: Path) -> deploy.DeployOptions:
    if not URL or not RMANHOME:
        pytest.skip("no rasdaman server configured (set CROPCUBE_RASDAMAN_URL and RMANHOME)")
    restart = os.environ.get("CROPCUBE_RASDAMAN_RESTART")
    opts = deploy.DeployOptions(
        rmanhome=Path(RMANHOME),
        model=udf_bundle,
        language=os.environ.get("CROPCUBE_UDF_LANGUAGE", "cpp"),
        torch_cmake_prefix=deploy.default_torch_prefix(),
        python_path=deploy.default_python_path(),
        restart=(tuple(shlex.split(restart)),) if restart else (),
    )
    execute(deploy.plan_deploy(opts), PetascopeRasql(URL))  # includes the smoke query
    return opts


def test_rasql_keeps_the_domain_and_reports_errors(deployed: deploy.DeployOptions) -> None:
    run = PetascopeRasql(URL)
    assert deploy.SMOKE_DOMAIN in run(deploy.smoke_statement())
    with pytest.raises(RasqlError, match=r"crop\.classify"):
        run("select crop.classify(marray i in [0:3,0:3] values 7c)")  # char cells: a clean UDF error


def test_wcps_map_equals_local_classification(deployed: deploy.DeployOptions) -> None:
    coverage = os.environ.get("CROPCUBE_UDF_COVERAGE")
    if not coverage:
        pytest.skip("set CROPCUBE_UDF_COVERAGE to a 28-band E/N coverage to compare WCPS with local maps")
    session = requests.Session()
    if os.environ.get(USER_ENV):
        session.auth = (os.environ[USER_ENV], os.environ.get(PASSWORD_ENV, ""))
    describe = session.get(
        URL,
        params={"service": "WCS", "version": "2.0.1", "request": "DescribeCoverage", "coverageId": coverage},
        timeout=60,
    )
    describe.raise_for_status()
    # A 640 m x 400 m cutout at the coverage's lower corner (read from the description's envelope).
    lower = describe.text.split("<gml:lowerCorner>")[1].split("<")[0].split()
    e0, n0 = float(lower[0]) + 5, float(lower[1]) + 5
    subset = f"[E({e0}:{e0 + 640}),N({n0}:{n0 + 400})]"
    wcps = f'for $c in ({coverage}) return encode(crop.classify($c{subset}), "image/tiff")'
    got = session.post(
        URL,
        data={"service": "WCS", "version": "2.0.1", "request": "ProcessCoverages", "query": wcps},
        timeout=600,
    )
    got.raise_for_status()
    cut = f'for $c in ({coverage}) return encode($c{subset}, "image/tiff")'
    src = session.post(
        URL,
        data={"service": "WCS", "version": "2.0.1", "request": "ProcessCoverages", "query": cut},
        timeout=600,
    )
    src.raise_for_status()
    with rasterio.open(io.BytesIO(got.content)) as m, rasterio.open(io.BytesIO(src.content)) as s:
        assert m.dtypes[0] == "uint8" and m.crs == s.crs and m.transform == s.transform
        expected = Classifier(model=deployed.model).classify_array(s.read())
        np.testing.assert_array_equal(m.read(1), expected)

"""The petascope client against the fake server: exact requests, errors, auth, retries, timeouts."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fake_petascope import FakePetascope
from rasdaman_scene import GRID

from cropcube.errors import InputError
from cropcube.rasdaman.transport.coverage_io import CoverageWriter, read_window
from cropcube.rasdaman.transport.errors import NoSuchCoverageError, RasdamanError
from cropcube.rasdaman.transport.gml import Band
from cropcube.rasdaman.transport.petascope import PetascopeClient, RetryPolicy


def _make_coverage(client: PetascopeClient, cid: str = "cov_a") -> np.ndarray:
    arr = (
        np.arange(GRID.height * GRID.width, dtype=np.uint16).reshape(1, GRID.height, GRID.width) % 5000
    ) + 1
    w = CoverageWriter(client, cid, GRID, [Band("b1", 0)], "uint16", '{"cropcube": "{}"}')
    w.create()
    w.write(0, 0, arr)
    return arr


def test_describe_missing_coverage_is_no_such_coverage(client: PetascopeClient) -> None:
    with pytest.raises(NoSuchCoverageError) as err:
        client.describe_coverage("nothere")
    assert err.value.status == 404 and err.value.code == "NoSuchCoverage"
    assert client.exists("nothere") is False


def test_write_then_describe_and_read_back_exact_window(client: PetascopeClient, fake: FakePetascope) -> None:
    arr = _make_coverage(client)
    desc = client.describe_coverage("cov_a")
    assert desc.grid == GRID and desc.bands == ["b1"] and desc.nil_values == [0.0]
    assert client.coverage_ids() == ["cov_a"]
    got = read_window(client, desc, 5, 7, 13, 4)
    np.testing.assert_array_equal(got, arr[:, 7:11, 5:18])
    req = fake.requests("GetCoverage")[-1]
    # pixel centres of the first and last wanted pixels, E ascending, N bottom-up
    assert req.all("subset") == ["E(677455,677575)", "N(5851855,5851885)"]
    assert req.get("format") == "image/tiff" and req.get("coverageId") == "cov_a"
    upd = fake.requests("UpdateCoverage")[-1]
    assert upd.all("subset") == ["E(677400,677860)", "N(5851580,5851960)"]  # outer pixel edges
    assert "file" in upd.files and upd.method == "POST"


def test_single_pixel_window(client: PetascopeClient) -> None:
    arr = _make_coverage(client)
    desc = client.describe_coverage("cov_a")
    np.testing.assert_array_equal(read_window(client, desc, 45, 37, 1, 1), arr[:, 37:38, 45:46])


def test_exception_report_4xx_is_not_retried(client: PetascopeClient, fake: FakePetascope) -> None:
    with pytest.raises(RasdamanError) as err:
        client.process("for $c in (x) return avg($c)")
    assert err.value.status == 400 and err.value.code == "WcpsError"
    assert len(fake.requests("ProcessCoverages")) == 1


def test_503_is_retried_then_succeeds(client: PetascopeClient, fake: FakePetascope) -> None:
    fake.fail_next = [503, 502]
    assert client.coverage_ids() == []
    assert len(fake.requests("GetCapabilities")) == 3


def test_persistent_5xx_gives_up_with_clear_error(client: PetascopeClient, fake: FakePetascope) -> None:
    fake.fail_next = [503] * 10
    with pytest.raises(RasdamanError) as err:
        client.coverage_ids()
    assert err.value.status == 503
    assert len(fake.requests("GetCapabilities")) == 3  # first try + 2 retries


def test_read_timeout_is_retried(fake: FakePetascope) -> None:
    client = PetascopeClient(
        fake.url, RetryPolicy(retries=2, backoff=0.0, connect_timeout=1.0, read_timeout=0.3)
    )
    fake.delay_next = [1.0]
    assert client.coverage_ids() == []
    assert len(fake.requests("GetCapabilities")) == 2


def test_connection_refused_is_reported_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROPCUBE_RASDAMAN_USER", "alice")
    monkeypatch.setenv("CROPCUBE_RASDAMAN_PASSWORD", "s3cret-pw")
    client = PetascopeClient("http://127.0.0.1:9/rasdaman/ows", RetryPolicy(retries=1, backoff=0.0))
    with pytest.raises(RasdamanError) as err:
        client.coverage_ids()
    assert err.value.status == 0 and "s3cret-pw" not in str(err.value) and "127.0.0.1:9" in str(err.value)


def test_basic_auth_from_environment(fake: FakePetascope, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.auth = ("rasadmin", "pw-from-env")
    monkeypatch.setenv("NETRC", "/nonexistent")
    monkeypatch.delenv("CROPCUBE_RASDAMAN_USER", raising=False)
    monkeypatch.delenv("CROPCUBE_RASDAMAN_PASSWORD", raising=False)
    with pytest.raises(RasdamanError) as err:
        PetascopeClient(fake.url, RetryPolicy(retries=0)).coverage_ids()
    assert err.value.status == 401 and "CROPCUBE_RASDAMAN_USER" in str(err.value)
    monkeypatch.setenv("CROPCUBE_RASDAMAN_USER", "rasadmin")
    monkeypatch.setenv("CROPCUBE_RASDAMAN_PASSWORD", "pw-from-env")
    assert PetascopeClient(fake.url, RetryPolicy(retries=0)).coverage_ids() == []
    sent = fake.log[-1].headers["Authorization"]
    assert sent == "Basic " + base64.b64encode(b"rasadmin:pw-from-env").decode()
    assert "pw-from-env" not in repr(PetascopeClient(fake.url))


def test_basic_auth_from_netrc(fake: FakePetascope, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake.auth = ("netrc_user", "netrc-pw")
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login netrc_user password netrc-pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.delenv("CROPCUBE_RASDAMAN_USER", raising=False)
    monkeypatch.delenv("CROPCUBE_RASDAMAN_PASSWORD", raising=False)
    assert PetascopeClient(fake.url, RetryPolicy(retries=0)).coverage_ids() == []


def test_insert_existing_coverage_is_an_error(client: PetascopeClient) -> None:
    _make_coverage(client)
    with pytest.raises(RasdamanError) as err:
        CoverageWriter(client, "cov_a", GRID, [Band("b1", 0)], "uint16", "{}").create()
    assert err.value.code == "CoverageIdExists"


def test_writer_rejects_wrong_tiles(client: PetascopeClient) -> None:
    w = CoverageWriter(client, "cov_b", GRID, [Band("b1", 0)], "uint16", "{}")
    with pytest.raises(InputError, match="dtype"):
        w.write(0, 0, np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match="outside"):
        w.write(40, 0, np.zeros((4, 10), np.uint16))

"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# rasdaman's rasdapy3 stubs only load with the pure-Python protobuf, which must be chosen before the
# process first imports protobuf; the test process also imports onnx (which loads it), so choose it here.
# A `cropcube` command is its own process: rasdaman.transport.rasql chooses it there.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CROPCUBE_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real samples); tests that need it skip with a reason when it is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"real samples not found at {data} (set CROPCUBE_SHARED_DIR to the shared/ folder)")
    return data


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """``../shared/reference``."""
    ref = SHARED / "reference"
    if not ref.is_dir():
        pytest.skip(f"reference material not found at {ref}")
    return ref


@pytest.fixture(scope="session")
def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_real_rasdaman(request: pytest.FixtureRequest, closed_port: int) -> Iterator[None]:
    """Tests not marked ``rasdaman`` reach no real server, whatever the machine runs or the user set.

    rasmgr is pointed at a closed port and no credentials, endpoint or ~/.netrc are visible, so the
    outcome is the same with or without a rasdaman on localhost:7001 (CI has none). Tests that need a
    value set it themselves.
    """
    if request.node.get_closest_marker("rasdaman"):
        yield
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CROPCUBE_RASQL_HOST", "127.0.0.1")
        mp.setenv("CROPCUBE_RASQL_PORT", str(closed_port))
        mp.setenv("NETRC", "/nonexistent")
        for name in ("CROPCUBE_RASDAMAN_URL", "CROPCUBE_RASDAMAN_USER", "CROPCUBE_RASDAMAN_PASSWORD"):
            mp.delenv(name, raising=False)
        yield

"""Nothing unvalidated reaches a query: ids, axis names, numbers, dates, endpoints, UDF and rasql text."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cropcube.errors import InputError
from cropcube.rasdaman import ids
from cropcube.rasdaman.grid import AxisSubset
from cropcube.rasdaman.transport.rasql import update_query
from cropcube.rasdaman.writeback.job import udf_query

INJECTIONS = [
    "cov) return 1; delete from x --",
    'cov"]',
    "cov$c",
    "cov e",
    "1cov",
    "",
    "cov-1",
    "cov.x",
    "cöv",
    "cov\n",
    "a" * 201,
    "cov&request=DeleteCoverage",
]


@pytest.mark.parametrize("bad", INJECTIONS)
def test_injection_strings_are_rejected_everywhere(bad: str) -> None:
    with pytest.raises(InputError):
        ids.coverage_id(bad)
    with pytest.raises(InputError):
        AxisSubset(bad, 0, 1)
    with pytest.raises(InputError):
        udf_query(bad, (0, 1), (0, 1))
    with pytest.raises(InputError):
        update_query(bad, 0, 0, 1, 1)


@given(st.text(min_size=1, max_size=30))
@example("_")  # all underscores: the case the first version of this property got wrong (issue 16)
@example("__")
@example("_9")
def test_accepted_ids_contain_only_identifier_characters(text: str) -> None:
    try:
        cid = ids.coverage_id(text)
    except InputError:
        return
    # every character an ASCII letter, digit or "_", the first not a digit ("_" alone is valid)
    assert all(c.isascii() and (c.isalnum() or c == "_") for c in cid) and not cid[0].isdigit()


@pytest.mark.parametrize(
    "lo,hi", [(1, 1), (2, 1), (math.nan, 1), (0, math.inf), ("1e999", 2), ("x", 2), ("1)", 2)]
)
def test_bad_intervals(lo: object, hi: object) -> None:
    with pytest.raises(InputError):
        AxisSubset("E", lo, hi)  # type: ignore[arg-type]


def test_subset_text_forms() -> None:
    assert AxisSubset("E", 677400, 677500.5).kvp() == "E(677400,677500.5)"
    assert AxisSubset("N", 5851000.25, 5851960).wcps() == "N(5851000.25:5851960)"
    assert AxisSubset("ansi", date="2018-05-08").kvp() == 'ansi("2018-05-08")'
    for bad in ("2018-02-30", '2018-05-08")', "2018-5-8", "yesterday"):
        with pytest.raises(InputError):
            AxisSubset("ansi", date=bad)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://h/rasdaman/ows",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http:///ows",
        "http://u:p@h/ows",
        "https://h/ows?query=x",
        "http://h/ows#frag",
        "localhost:8080/rasdaman/ows",
    ],
)
def test_bad_endpoints(url: str) -> None:
    with pytest.raises(InputError, match="endpoint"):
        ids.endpoint(url)


def test_good_endpoint_and_redaction() -> None:
    assert ids.endpoint(" https://example.org:8443/rasdaman/ows ") == "https://example.org:8443/rasdaman/ows"
    assert ids.redact("http://u:secret@h:8080/rasdaman/ows?x=1") == "http://h:8080/rasdaman/ows"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rasql_update_text_and_rasdapy_import() -> None:
    assert update_query("crops", 512, 0, 256, 128) == (
        "update crops as c set c[512:767, 0:127] assign shift(decode($1), [512, 0])"
    )
    with pytest.raises(InputError):
        update_query("crops", -1, 0, 1, 1)
    # A fresh interpreter: the workaround must work when rasdaman code is the first to load protobuf
    # (in this test process other tests may have loaded protobuf's C implementation already).
    code = (
        "from cropcube.rasdaman.transport.rasql import import_rasdapy; d, q = import_rasdapy(); "
        "print(d.__name__, q.__name__)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["DBConnector", "QueryExecutor"]


def test_rasdapy_import_after_protobuf_c_gives_a_clear_error() -> None:
    code = (
        "import google.protobuf.descriptor_pb2\n"
        "from cropcube.errors import InputError\n"
        "from cropcube.rasdaman.transport.rasql import import_rasdapy\n"
        "try:\n    import_rasdapy()\nexcept InputError as e:\n    print('clear error:', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python" in out.stdout

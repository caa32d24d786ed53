"""`cropcube rasdaman ingest|classify|query` end to end against the fake server, with a real model bundle."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from fake_petascope import FakePetascope
from rasdaman_scene import Scene, published
from typer.testing import CliRunner

from cropcube.cli.main import app
from cropcube.rasdaman import metadata

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from fixture_bundle import make_fixture_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fixture_bundle(tmp_path_factory.mktemp("bundle") / "fixture.pt")


def _run(args: list[str], fake: FakePetascope) -> str:
    result = CliRunner().invoke(
        app, [*args], env={"CROPCUBE_RASDAMAN_URL": fake.url, "NETRC": "/nonexistent"}
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_ingest_classify_query_with_real_classifier(
    fake: FakePetascope, scene: Scene, bundle: Path, tmp_path: Path
) -> None:
    from cropcube.inference import Classifier

    out = _run(
        [
            "rasdaman",
            "ingest",
            "--cube",
            str(scene.cube_path),
            "--labels",
            str(scene.labels_path),
            "--method",
            "wcst",
            "--work-dir",
            str(tmp_path / "w"),
            "--tile-size",
            "32",
        ],
        fake,
    )
    assert "S2_features_2d: created (4 tiles written)" in out and "BRP_labels: created" in out
    out = _run(
        [
            "rasdaman",
            "classify",
            "S2_features_2d",
            "crops",
            "--model",
            str(bundle),
            "--tile-size",
            "16",
            "--progress",
            str(tmp_path / "p.json"),
        ],
        fake,
    )
    assert "tiles: 9 written, 0 resumed, 9 total" in out
    # One pass over the whole image, and the map rule `cropcube classify` applies too.
    whole = published(scene.cube, Classifier(model=bundle).classify_array(scene.cube))
    written = fake.array("crops")[0, 0]
    np.testing.assert_array_equal(written, whole)  # 16-px tiles with a 12-px halo are seamless
    assert 0 < (written == 0).mean() < 0.5  # nodata and bare parcels are 0, crops are not
    assert len(np.unique(written)) > 3
    info = metadata.decode(fake.coverages["crops"].metadata)
    assert info is not None and info["model"]["name"] == "fixture_unet"
    assert info["model"]["content_hash"].startswith("sha256:")
    answer = _run(["rasdaman", "query", "for $c in (crops) return count($c = 0)"], fake)
    assert answer.strip() == str(int((whole == 0).sum()))


def test_udf_mode_with_the_classifier_as_server_function(
    fake: FakePetascope, scene: Scene, bundle: Path, tmp_path: Path
) -> None:
    from cropcube.inference import Classifier

    clf = Classifier(model=bundle)
    fake.udf = clf.classify_array  # what crop.classify computes inside rasdaman enterprise
    _run(
        [
            "rasdaman",
            "ingest",
            "--cube",
            str(scene.cube_path),
            "--method",
            "wcst",
            "--work-dir",
            str(tmp_path / "w"),
        ],
        fake,
    )
    out = _run(
        [
            "rasdaman",
            "classify",
            "S2_features_2d",
            "crops_udf",
            "--model",
            str(bundle),
            "--mode",
            "udf",
            "--tile-size",
            "24",
            "--progress",
            str(tmp_path / "p.json"),
        ],
        fake,
    )
    assert "(udf mode)" in out
    np.testing.assert_array_equal(fake.array("crops_udf")[0, 0], clf.classify_array(scene.cube))


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.lower().startswith("error")]


def test_cli_errors_are_one_clear_line(fake: FakePetascope, bundle: Path, tmp_path: Path) -> None:
    env = {"CROPCUBE_RASDAMAN_URL": fake.url, "NETRC": "/nonexistent"}
    # an error the job finds: exactly one line `error: <input>: <problem>`, exit 2 (cli/main.py)
    result = CliRunner().invoke(
        app,
        [
            "rasdaman",
            "classify",
            "no_such",
            "out",
            "--model",
            str(bundle),
            "--progress",
            str(tmp_path / "p.json"),
        ],
        env=env,
    )
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)  # printed, not raised
    assert result.output.splitlines() == _errors(result.output)
    assert len(_errors(result.output)) == 1 and result.output.startswith("error: rasdaman DescribeCoverage")
    assert "no_such" in result.output and "Traceback" not in result.output
    sent = len(fake.log)
    # a bad value, typed or from the environment: a usage error naming the option, exit 2, nothing sent
    result = CliRunner().invoke(app, ["rasdaman", "classify", "in", "out", "--area", "1,2,3"], env=env)
    assert result.exit_code == 2
    assert _errors(result.output) == [
        "Error: Invalid value for '--area': '1,2,3' is not 'E_MIN,E_MAX,N_MIN,N_MAX'"
    ]
    result = CliRunner().invoke(app, ["rasdaman", "query", "x"], env={"CROPCUBE_RASDAMAN_URL": "ftp://h/ows"})
    assert result.exit_code == 2
    bad = "scheme 'ftp' is not http or https (from $CROPCUBE_RASDAMAN_URL)"
    assert _errors(result.output) == [f"Error: Invalid value for '--endpoint': {bad}"]
    assert len(fake.log) == sent

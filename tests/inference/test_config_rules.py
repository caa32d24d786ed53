"""ONE case table (config_cases.json) for both config readers: inference/config.py and udf/src/config.cpp.

Each case is run through the Python reader and through the C++ reader (the ``cropcube_config`` tool of
the kernel build); both must give the expected settings, or an error containing the expected text.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cropcube.errors import InputError
from cropcube.inference.config import ENV, Settings, read_settings

HERE = Path(__file__).parent
REPO = HERE.parents[1]
CASES = json.loads((HERE / "config_cases.json").read_text())["cases"]
TOOL = REPO / "udf" / "build" / "cropcube_config"
UNSET = Settings().as_text()


def _fill(value: str, tmp: Path) -> str:
    return value.replace("{tmp}", str(tmp))


def _setup(case: dict[str, Any], tmp: Path) -> dict[str, str]:
    if case.get("not_as_root") and os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    (tmp / "home").mkdir()
    for rel in case.get("dirs", []):
        (tmp / rel).mkdir(parents=True)
    for rel, text in case.get("files", {}).items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    for rel, mode in case.get("mode", {}).items():
        (tmp / rel).chmod(mode)
    env = {k: v for k, v in os.environ.items() if k not in (*ENV.values(), "CROPCUBE_CONFIG", "RMANHOME")}
    env.pop("XDG_CONFIG_HOME", None)
    env["HOME"] = str(tmp / "home")
    env.update({k: _fill(v, tmp) for k, v in case.get("env", {}).items()})
    return env


def _expected(case: dict[str, Any], tmp: Path) -> dict[str, str]:
    return {**UNSET, **{k: _fill(v, tmp) for k, v in case.get("expect", {}).items()}}


def _python(env: dict[str, str]) -> dict[str, str] | str:
    try:
        return read_settings(env).as_text()
    except InputError as exc:
        return f"error: {exc}"


def _cpp(env: dict[str, str]) -> dict[str, str] | str:
    done = subprocess.run([str(TOOL)], env=env, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        assert done.stdout.startswith("error: "), done.stdout + done.stderr
        return done.stdout.strip()
    return dict(line.split("=", 1) for line in done.stdout.splitlines())


@pytest.mark.parametrize("reader", ["python", "cpp"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_config_rules(case: dict[str, Any], reader: str, tmp_path: Path) -> None:
    if reader == "cpp" and not TOOL.is_file():
        pytest.skip(f"C++ config reader not built ({TOOL}; scripts/test_cpp.sh builds it)")
    env = _setup(case, tmp_path)
    got = _python(env) if reader == "python" else _cpp(env)
    if "error" in case:
        assert isinstance(got, str), f"expected an error, got {got}"
        assert _fill(case["error"], tmp_path) in got
    else:
        assert got == _expected(case, tmp_path)


def test_the_table_covers_every_key_and_variable() -> None:
    text = json.dumps(CASES)
    for key in ("model", "threads", "device", "precision", "tile_size", "batch_size"):
        assert f'"{key}"' in text or f"{key} =" in text or f"{key}=" in text
    for name in ENV.values():
        assert name in text

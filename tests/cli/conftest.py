"""Fixtures of the CLI tests: tiny realistic inputs, and broken ones, made once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))  # fixture_bundle

from bad_input_files import make_bad_inputs


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every input file of the bad-input table, by name (see bad_input_files.py)."""
    return make_bad_inputs(tmp_path_factory.mktemp("inputs"))

#!/usr/bin/env bash
# Every test of the project: lint, types, C++ kernel tests (plain and under ASan+UBSan), Python tests.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"; ruff check .
echo "== mypy"; mypy
echo "== C++ kernel tests"; scripts/test_cpp.sh
echo "== pytest"; python -m pytest "$@"

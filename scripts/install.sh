#!/usr/bin/env bash
# Install cropcube into ./.venv and build its C++ kernel.
#
#   scripts/install.sh          the package and its runtime dependencies
#   scripts/install.sh --dev    plus test, lint and export tools
#
# torch is installed first and pinned (CROPCUBE_TORCH, default torch==2.13.0): where the CPU wheel lies
# on disk (pip's find-links) that file is taken; on a user's machine PyPI's normal build, with CUDA, is.
# The package then only asks for torch>=2.4, which the installed torch already satisfies.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
case "${1:-}" in
  --dev) extras="[dev]" ;;
  "") ;;
  *) echo "usage: scripts/install.sh [--dev]" >&2; exit 2 ;;
esac

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check)
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  "${pip[@]}" install -q "${CROPCUBE_TORCH:-torch==2.13.0}"
fi
"${pip[@]}" install -q -e ".${extras}" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import cropcube, torch; print(f'cropcube {cropcube.__version__} with torch {torch.__version__}')"
.venv/bin/cropcube kernel build

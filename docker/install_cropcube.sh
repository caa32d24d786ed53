#!/usr/bin/env bash
# Install cropcube inside an image, in three steps so that Docker caches the slow ones (one implementation for
# docker/cropcube/Dockerfile and the enterprise stage of docker/rasdaman/Dockerfile):
#
#   install_cropcube.sh system          compilers and cmake; Python 3 and venv where the image has none;
#                                       a JDK where the image has petascope (its WCPS class is compiled)
#   install_cropcube.sh torch WHEELS    torch==$TORCH_VERSION into $VIRTUAL_ENV: from $TORCH_INDEX_URL, or when
#                                       that is empty the wheel in the folder WHEELS (and only its small
#                                       dependencies from PyPI)
#   install_cropcube.sh package         the checkout in the working folder, editable, with the rasdaman extra,
#                                       and the C++ kernel against that torch
set -euo pipefail
: "${VIRTUAL_ENV:?set VIRTUAL_ENV (the Dockerfile does)}"

case "${1:-}" in
  system)
    packages=(build-essential cmake)
    command -v python3 >/dev/null || packages+=(python3)
    python3 -c "import ensurepip, venv" 2>/dev/null || packages+=(python3-venv)
    if [ -n "${RMANHOME:-}" ] && [ -f "$RMANHOME/share/rasdaman/war/rasdaman.war" ]; then
      packages+=(default-jdk-headless)
    fi
    apt-get update
    apt-get install -y --no-install-recommends "${packages[@]}"
    rm -rf /var/lib/apt/lists/*
    python3 -m venv "$VIRTUAL_ENV"
    ;;
  torch)
    wheels="${2:?usage: install_cropcube.sh torch WHEELS_FOLDER}"
    version="torch==${TORCH_VERSION:?set TORCH_VERSION}"
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
      pip install --index-url "$TORCH_INDEX_URL" "$version"
    else
      # --no-index: torch is exactly the wheel from the folder, never a (CUDA) build from PyPI
      pip install --no-index --find-links "$wheels" --no-deps "$version" \
        || { echo "no $version wheel for this Python in $wheels (see docker/wheels/README.md)" >&2; exit 2; }
      pip install --find-links "$wheels" "$version"
    fi
    ;;
  package)
    pip install -e ".[rasdaman]"
    cropcube kernel build --build-dir /tmp/kernel-build
    rm -rf /tmp/kernel-build
    cropcube kernel info
    ;;
  *)
    echo "usage: install_cropcube.sh system | torch WHEELS_FOLDER | package" >&2
    exit 2
    ;;
esac

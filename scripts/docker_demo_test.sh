#!/usr/bin/env bash
# End-to-end test of the docker compose demo on a machine without a container registry (docs/rasdaman.md,
# "docker compose demo"): both images from the local Debian base (local/bookworm), rasdaman made of an existing
# installation folder, torch from the local wheel. It brings the stack up with docker-compose, runs the demo job
# to completion, checks the crop map the job wrote into rasdaman pixel for pixel against `cropcube classify` on
# the same GeoTIFF, prints the query and its answer and a table of timings, and tears down what it started.
#
#   scripts/docker_demo_test.sh [--size N] [--remove-images]
#   scripts/docker_demo_test.sh --enterprise-build   build the enterprise rasdaman image only and check crop.so
#                                                    in it (built against the image's headers, every library
#                                                    found, cropcube.conf); registering needs enterprise
#
# Env: RMANHOME          the rasdaman installation the image is made of (default /root/rasbuild/install)
#      CROPCUBE_WHEELS   folder with the torch wheel (default /opt/wheels)
#      CROPCUBE_ENGINE   the engine script (default ../shared/tools/containers/engine.sh)
#      CROPCUBE_RASDAMAN_USER / CROPCUBE_RASDAMAN_PASSWORD   the server's write user (default: the built-in user
#                        of a fresh rasdaman installation; the server lives only on the project's private network)
# Stops only what it started: the compose project "cropcube-e2e" (containers, network, volumes) and, if dockerd
# was not running before, dockerd. Images are kept as build cache unless --remove-images.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
size=256
remove_images=0
enterprise_build=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="${2:?--size N}"; shift 2 ;;
    --remove-images) remove_images=1; shift ;;
    --enterprise-build) enterprise_build=1; shift ;;
    *) echo "usage: $0 [--size N] [--remove-images] | --enterprise-build" >&2; exit 2 ;;
  esac
done
[[ "$size" =~ ^[0-9]+$ ]] || { echo "--size: '$size' is not a number of pixels" >&2; exit 2; }

rmanhome="${RMANHOME:-/root/rasbuild/install}"
wheels="${CROPCUBE_WHEELS:-/opt/wheels}"
engine="${CROPCUBE_ENGINE:-$root/../shared/tools/containers/engine.sh}"
torch_version=2.13.0
project=cropcube-e2e
# Debian's docker CLI first: docker-compose 1.29 builds through `docker build` (BuildKit) from PATH.
export PATH="/usr/bin:$PATH" DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
docker=/usr/bin/docker

timings=()
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
timed() {  # timed NAME COMMAND...: run it, record its wall time
  local name="$1" start; shift
  start=$(now)
  "$@"
  timings+=("$name|$(since "$start")")
}
say() { echo; echo "### $*"; }
show_timings() { printf '%s\n' "${timings[@]}" | awk -F'|' '{printf "%-45s %8.1f s\n", $1, $2}'; }

# ------------------------------------------------------------------ the engine (leave a running one alone)
started_engine=0
if ! $docker info >/dev/null 2>&1; then
  [ -x "$engine" ] || { echo "no Docker engine runs and no engine script at $engine (set CROPCUBE_ENGINE)" >&2; exit 1; }
  say "starting the Docker engine ($engine up)"
  timed "engine up" "$engine" up
  started_engine=1
elif ! $docker image inspect local/bookworm >/dev/null 2>&1; then
  say "dockerd runs; making the local/bookworm base ($engine up)"
  timed "local/bookworm base" "$engine" up
fi
command -v docker-compose >/dev/null || { echo "docker-compose not found (engine.sh up installs it)" >&2; exit 1; }

work="$(mktemp -d)"
envfile="$work/env"
dc() { docker-compose -p "$project" -f "$root/docker/docker-compose.yml" --env-file "$envfile" "$@"; }
cleanup() {
  local rc=$?
  set +e
  if [ "$rc" -ne 0 ] && [ "${#timings[@]}" -gt 0 ]; then say "timings until the failure"; show_timings; fi
  if [ -f "$envfile" ]; then
    say "tear down (compose project $project)"
    if [ "$rc" -ne 0 ] && [ -n "$(dc ps -q 2>/dev/null)" ]; then dc logs --no-color --tail 40 rasdaman; fi
    if [ "$remove_images" = 1 ]; then dc down -v --remove-orphans --rmi all; else dc down -v --remove-orphans; fi
  fi
  if [ "$started_engine" = 1 ]; then "$engine" down; fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# ------------------------------------------------------------------ build context: installation, wheel, CAs
say "build context: rasdaman from $rmanhome, torch $torch_version from $wheels"
[ -x "$rmanhome/bin/rasmgr" ] || { echo "no rasdaman installation in $rmanhome (set RMANHOME)" >&2; exit 1; }
install_dir="$root/docker/rasdaman/install"
find "$install_dir" -mindepth 1 ! -name README.md -exec rm -rf {} +
tar -C "$rmanhome" --exclude=./data --exclude=./log -cf - . | tar -C "$install_dir" -xf -
wheel=$(find "$wheels" -maxdepth 1 -name "torch-${torch_version}+cpu-cp311-*.whl" | head -1)
[ -n "$wheel" ] || { echo "no torch ${torch_version} cp311 CPU wheel in $wheels (set CROPCUBE_WHEELS)" >&2; exit 1; }
ln -f "$wheel" "$root/docker/wheels/" 2>/dev/null || cp -f "$wheel" "$root/docker/wheels/"
# this machine reaches PyPI through a proxy with its own CA: the builds must trust it (public certificates)
find "$root/docker/certs" -mindepth 1 ! -name README.md -delete
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/docker/certs/"
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
edition=community
[ "$enterprise_build" = 1 ] && edition=enterprise
umask 077
cat >"$envfile" <<EOF
RASDAMAN_SOURCE=install
RASDAMAN_HOME=$rmanhome
RASDAMAN_BASE_IMAGE=local/bookworm
CROPCUBE_BASE_IMAGE=local/bookworm
RASDAMAN_VERSION=local
RASDAMAN_EDITION=$edition
TORCH_VERSION=$torch_version
TORCH_INDEX_URL=
CROPCUBE_BUILD_NETWORK=host
CROPCUBE_WCS_PORT=$port
CROPCUBE_SYNTH_SIZE=$size
CROPCUBE_RASDAMAN_USER=${CROPCUBE_RASDAMAN_USER:-rasadmin}
CROPCUBE_RASDAMAN_PASSWORD=${CROPCUBE_RASDAMAN_PASSWORD:-rasadmin}
EOF
umask 022

# ------------------------------------------------------------------ enterprise: the image build and crop.so in it
if [ "$enterprise_build" = 1 ]; then
  say "build the enterprise rasdaman image (crop.so against the image's own rasdaman headers)"
  timed "build rasdaman (enterprise)" dc build rasdaman
  image="cropcube/rasdaman:local-install-enterprise"
  # shellcheck disable=SC2016  # expanded inside the container
  $docker run --rm --entrypoint bash "$image" -c '
    set -euo pipefail
    udf="$RMANHOME/share/rasdaman/udf"
    ls -l "$udf/crop.so" "$udf/libcropcube_kernel.so"
    if ldd "$udf/crop.so" | grep "not found"; then echo "crop.so: libraries not found" >&2; exit 1; fi
    echo "crop.so: every library found ($(ldd "$udf/crop.so" | wc -l) entries)"
    cat "$RMANHOME/etc/cropcube.conf"
    model=$(awk -F" = " "/^model = /{print \$2}" "$RMANHOME/etc/cropcube.conf"); test -s "$model"
    echo "bundle named by cropcube.conf exists: $model"'
  say "the init step at container start (deploy into the shared volume, then register), on this community core"
  dc up -d rasdaman
  cid=$(dc ps -q rasdaman)
  for _ in $(seq 120); do
    $docker logs "$cid" 2>&1 | grep -qE "^error:|entrypoint: rasdaman ready" && break
    sleep 2
  done
  dc stop rasdaman
  $docker logs "$cid" 2>&1 | grep -E "^\[[0-9]+/[0-9]+\]|^error:|^entrypoint:|deployed"
  bundle_sum=$(sha256sum "$root/python_model/cropcube/resources/models/cropcube_default_synthetic.pt" | cut -c1-64)
  volume_sum=$($docker run --rm -v "${project}_cropcube_models:/models:ro" --entrypoint sha256sum local/bookworm \
    /models/cropcube.pt | cut -c1-64)
  [ "$bundle_sum" = "$volume_sum" ] || { echo "the shared volume does not hold the bundle" >&2; exit 1; }
  echo "shared volume cropcube_models: /models/cropcube.pt = the packaged bundle (sha256 ${bundle_sum:0:16}...)"
  say "enterprise: crop.so built against the image's headers and installed, the bundle deployed into the shared"
  echo "volume at start; registering crop.classify needs rasdaman enterprise (community has no UDFs)"
  show_timings
  exit 0
fi

# ------------------------------------------------------------------ build, up, job
say "docker-compose config"
dc config >/dev/null && echo "valid"
say "build both images (local/bookworm bases, torch from the local wheel, rasdaman from $rmanhome)"
timed "build rasdaman image" dc build rasdaman
timed "build cropcube image" dc build cropcube

say "up: rasdaman (health check: rasql through rasmgr), then the job once it is healthy"
timed "up (until rasdaman healthy, job started)" dc up -d
job=$(dc ps -q cropcube)
[ -n "$job" ] || { echo "the cropcube job container was not created" >&2; exit 1; }
say "the demo job"
start=$(now)
dc logs -f --no-color cropcube | tee "$work/job.log"
exit_code=$($docker wait "$job")
timings+=("demo job|$(since "$start")")
[ "$exit_code" = 0 ] || { echo "the demo job failed (exit $exit_code)" >&2; exit 1; }

# ------------------------------------------------------------------ the written map against cropcube classify
say "reference: cropcube classify on the same GeoTIFF, same bundle"
timed "reference classify" dc run --rm -T --no-deps --entrypoint cropcube cropcube \
  classify /work/scene/cube.tif -o /work/reference.tif --model /opt/cropcube/bundle/cropcube.pt
say "pixel-for-pixel check: the map written into rasdaman and exported by the job vs the reference"
dc run --rm -T --no-deps --entrypoint python cropcube - <<'PY' | tee "$work/check.log"
import sys
import warnings

import numpy as np
import rasterio

warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
with rasterio.open("/work/crop_map.tif") as src:
    written, written_crs, written_transform = src.read(1), src.crs, src.transform
with rasterio.open("/work/reference.tif") as src:
    reference, crs, transform = src.read(1), src.crs, src.transform
print(f"written map {written.shape} {written.dtype}, reference {reference.shape} {reference.dtype}")
if written_crs is None:
    print("written map: no georeference (a rasql collection carries no CRS; its domain is the pixel grid)")
elif (written_crs, written_transform) != (crs, transform):
    sys.exit(f"FAIL: georeference differs: {written_crs} {written_transform} vs {crs} {transform}")
else:
    print(f"written map: same CRS and grid as the reference ({crs})")
if written.shape != reference.shape:
    hint = " (transposed: E/N axes swapped)" if written.T.shape == reference.shape else ""
    sys.exit(f"FAIL: shapes differ{hint}")
differ = int(np.count_nonzero(written != reference))
classes, counts = np.unique(reference, return_counts=True)
top = ", ".join(f"{c}: {n}" for c, n in sorted(zip(classes, counts), key=lambda t: -t[1])[:5])
print(f"pixels: {reference.size}, differing: {differ}; classes {len(classes)}, most frequent {top}")
print(f"class 1 (grassland) pixels in the reference: {int(np.count_nonzero(reference == 1))}")
sys.exit(1 if differ else 0)
PY

# ------------------------------------------------------------------ summary
say "summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
sed -n -E 's/^[^|]*\| //; /^== query:|^answer/p' "$work/job.log"
grep -E "^pixels:" "$work/check.log"
show_timings
echo "PASS: the map written into rasdaman equals cropcube classify pixel for pixel"

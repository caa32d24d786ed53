#!/usr/bin/env bash
# rasdaman in the foreground of its container, for either image route (.deb packages or an installation folder):
#  1. the rasservers announce this container's host name (rasmgr.conf's 127.0.0.1 would send a client in another
#     container to its own loopback);
#  2. a new, empty data volume gets its RASBASE;
#  3. rasdaman starts as the user rasdaman (petascope too where the installation has it); TERM stops it;
#  4. enterprise image (cropcube installed): `cropcube rasdaman deploy` once the server answers: crop.so and the
#     kernel (built at image build, against this image's headers), the bundle into the volume shared with the
#     cropcube service, cropcube.conf, registration of crop.classify and the smoke query;
#  5. /run/cropcube/ready tells healthcheck.sh; the logs follow on the container's output.
set -euo pipefail
: "${RMANHOME:?RMANHOME is not set (the image sets it)}"
ready="${CROPCUBE_READY_FILE:-/run/cropcube/ready}"
mkdir -p "$(dirname "$ready")"
rm -f "$ready"
as_rasdaman() { runuser -u rasdaman -- "$@"; }

host="${RASSERVER_HOST:-$(hostname)}"
[[ "$host" =~ ^[A-Za-z0-9.-]+$ ]] || { echo "entrypoint: bad RASSERVER_HOST '$host'" >&2; exit 2; }
sed -i -E "s/^(define srv [^ ]+ -host )[^ ]+/\1${host}/" "$RMANHOME/etc/rasmgr.conf"

mkdir -p "$RMANHOME/data" "$RMANHOME/log"
chown rasdaman "$RMANHOME/data" "$RMANHOME/log"
if grep -q -- "-connect $RMANHOME/data/RASBASE" "$RMANHOME/etc/rasmgr.conf" && [ ! -s "$RMANHOME/data/RASBASE" ]; then
  echo "entrypoint: new data volume, creating RASBASE"
  as_rasdaman "$RMANHOME/bin/create_db.sh"
fi

if command -v service >/dev/null && service --status-all 2>/dev/null | grep -q postgresql; then
  service postgresql start  # petascope's database in the .deb installation
fi
as_rasdaman "$RMANHOME/bin/start_rasdaman.sh"
stop() { as_rasdaman "$RMANHOME/bin/stop_rasdaman.sh" || true; exit 0; }
trap stop TERM INT

if command -v cropcube >/dev/null; then
  echo "entrypoint: waiting for rasdaman to answer before deploying crop.classify"
  for _ in $(seq 150); do healthcheck.sh --server && break; sleep 2; done
  healthcheck.sh --server || { echo "entrypoint: rasdaman does not answer" >&2; exit 1; }
  # --no-restart: this is a fresh start, no server process has loaded crop.so yet (the health check keeps
  # clients away until the smoke query has passed)
  cropcube rasdaman deploy --rmanhome "$RMANHOME" --build-dir /opt/cropcube/udf-build --no-restart \
    --model "${CROPCUBE_MODEL:-/opt/cropcube/bundle/cropcube.pt}" --endpoint "http://localhost:8080/rasdaman/ows"
fi
touch "$ready"
echo "entrypoint: rasdaman ready"
tail -n +1 -F "$RMANHOME"/log/*.log &
wait $!

#!/usr/bin/env bash
# Health of the rasdaman container: the server answers, asked the way this installation can be asked, and the
# init step of entrypoint.sh has finished (in the enterprise image that includes the crop.classify smoke query).
#   healthcheck.sh           docker's HEALTHCHECK
#   healthcheck.sh --server  the server only (entrypoint.sh waits with it before its init step)
# With petascope (its etc/petascope.properties): WCS GetCapabilities on 8080. Community core only: a rasql
# query through rasmgr (7001) as the read-only default user.
set -uo pipefail
: "${RMANHOME:?}"
if [ "${1:-}" != "--server" ] && [ ! -f "${CROPCUBE_READY_FILE:-/run/cropcube/ready}" ]; then
  echo "the init step of entrypoint.sh has not finished"
  exit 1
fi
if [ -f "$RMANHOME/etc/petascope.properties" ]; then
  curl -fsS --max-time 8 "http://localhost:8080/rasdaman/ows?service=WCS&version=2.0.1&request=GetCapabilities" \
    | grep -q Capabilities
else
  timeout 8 "$RMANHOME/bin/rasql" --port "${RASMGR_PORT:-7001}" -q 'select version()' --out string >/dev/null 2>&1
fi

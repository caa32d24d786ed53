#!/usr/bin/env bash
# Start rasdaman (and the PostgreSQL that petascope uses) in the foreground of the container.
set -euo pipefail
if command -v service >/dev/null && service --status-all 2>/dev/null | grep -q postgresql; then
  service postgresql start
fi
su - rasdaman -s /bin/bash -c "/opt/rasdaman/bin/start_rasdaman.sh"
trap 'su - rasdaman -s /bin/bash -c /opt/rasdaman/bin/stop_rasdaman.sh' TERM INT
tail -F /opt/rasdaman/log/*.log & wait $!

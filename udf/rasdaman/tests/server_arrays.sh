#!/usr/bin/env bash
# CTest `crop_so_server_arrays` (label rasdaman): crop.so on arrays a REAL rasdaman server computes and
# rasodmg materialises, loaded as a server loads it (dlopen RTLD_NOW | RTLD_LOCAL by cropcube_udf_client).
#   server_arrays.sh CLIENT CROP_SO      (server: $CROPCUBE_RASQL_HOST[:$CROPCUBE_RASQL_PORT, default 7001])
# Exit 77 (skipped) with the reason when no server is configured or none answers.
set -uo pipefail
client=$1 crop_so=$2
host=${CROPCUBE_RASQL_HOST:-}
port=${CROPCUBE_RASQL_PORT:-7001}
if [ -z "$host" ]; then
  echo "skipped: no rasdaman server configured (set CROPCUBE_RASQL_HOST, e.g. localhost)"; exit 77
fi
host_bin="$(dirname "$client")/cropcube_udf_host"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# 28 ushort bands per cell, values varying with position and band, domain with a negative origin.
bands=""
for b in $(seq 0 27); do
  bands+="${bands:+, }(ushort)(1000 + x[0] * 37 + x[1] * 11 + $(( (b * 53) % 400 )))"
done
query="select marray x in [-7:12, 100:114] values {$bands}"
out=$("$client" "$crop_so" query "$host" "$port" "$query" "$work/map.raw" 2>&1); rc=$?
if [ $rc -eq 3 ] && grep -qi "connect\|server\|rasmgr" <<<"$out"; then
  echo "skipped: rasdaman at $host:$port does not answer: $out"; exit 77
fi
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: classify on the server's array: exit $rc"; exit 1; }
grep -q "domain \[-7:12,100:114\]" <<<"$out" || { echo "FAIL: output domain is not the input's"; exit 1; }
# The same bytes in the bare host give the same map.
"$host_bin" "$crop_so" raw --domain -7:12,100:114 --type ushort --bands 28 --layout pixel \
    "$work/map.raw.input" "$work/local.raw" >/dev/null || { echo "FAIL: bare host on the same cells"; exit 1; }
cmp "$work/map.raw" "$work/local.raw" || { echo "FAIL: server array and local array give different maps"; exit 1; }
# A bad array from the server: one clean r_Error (exit 4), the client process alive.
out=$("$client" "$crop_so" query "$host" "$port" "select marray x in [0:3, 0:3] values 7c" "$work/bad.raw" 2>&1); rc=$?
echo "$out"
[ $rc -eq 4 ] && grep -q "crop.classify: input cell type" <<<"$out" || { echo "FAIL: char cells: exit $rc"; exit 1; }
echo "server arrays: passed"

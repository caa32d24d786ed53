#!/usr/bin/env bash
# C++ kernel tests: configure + build + ctest the plain Release build (udf/build), then the same under
# AddressSanitizer + UndefinedBehaviorSanitizer (udf/build-asan). Build directories are reused between
# runs, so a second run only rebuilds what changed.
#
#   scripts/test_cpp.sh            both builds
#   scripts/test_cpp.sh --no-asan  the plain build only
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-$PWD/.venv/bin/python}
prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
jobs=${CROPCUBE_BUILD_JOBS:-$(nproc)}

run_build() {  # build_dir, extra cmake args...
  local dir=$1; shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S udf -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      -DPython3_EXECUTABLE="$python" "$@" >/dev/null
  fi
  cmake --build "$dir" --parallel "$jobs"
  (cd "$dir" && ctest --output-on-failure --timeout 300)
}

echo "-- plain build (udf/build)"
run_build udf/build
if [ "${1:-}" != "--no-asan" ]; then
  echo "-- AddressSanitizer + UndefinedBehaviorSanitizer build (udf/build-asan)"
  # libtorch is not instrumented; ASan must come first in the process, which the test executables
  # (linked with -fsanitize) guarantee. Leak checking is on, with no suppressions (none are needed).
  run_build udf/build-asan -DCROPCUBE_SANITIZE=ON
fi

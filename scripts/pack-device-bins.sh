#!/usr/bin/env bash
# Packs this machine's product build for a GPU machine call, so that the call spends its
# minutes on the GPU rather than on nvcc: the tool (int8attn-bench) and the GPU test binary,
# stripped, with the commit they were built from, into one xz tarball (about 7 MB against
# 42 MB of binaries; the device tool carries at most 64 MiB with the tree).
#
#   scripts/pack-device-bins.sh              builds BUILD_DIR's two targets, writes OUT
#   BUILD_DIR=build  OUT=build-run/bins.tar.xz
#
# The build must hold the sm_90a kernels (INT8ATTN_CUDA_ARCHS with 90a, the default "80;90a").
# On the GPU machine (carry [".deps", "build-run"]):
#   BINS=build-run/bins.tar.xz STAGES="smoke gpu-tests" scripts/device-check.sh
# unpacks it into BUILD_DIR there and skips the build stage. Reports name the commit the tool
# was built at; a tree with uncommitted changes to tracked files is refused (commit first, so
# that the reports name what ran).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
out=${OUT:-build-run/bins.tar.xz}
cache="$build/CMakeCache.txt"
[[ -f $cache ]] || { echo "pack-device-bins: $cache not found (configure and build first: scripts/install-and-build.sh)" >&2; exit 2; }
grep -q '^INT8ATTN_CUDA:BOOL=ON' "$cache" ||
  { echo "pack-device-bins: $build has no CUDA backend (INT8ATTN_CUDA is not ON)" >&2; exit 2; }
grep -Eq '^INT8ATTN_CUDA_ARCHS:STRING=(.*;)?90a(;.*)?$' "$cache" ||
  { echo "pack-device-bins: $build has no sm_90a kernels (INT8ATTN_CUDA_ARCHS lacks 90a)" >&2; exit 2; }
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
  echo "pack-device-bins: tracked files have uncommitted changes; commit them first so that the reports name what ran" >&2
  exit 2
fi
cmake --build "$build" --target int8attn-bench int8attn_gpu_tests  # refreshes the embedded commit
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/tests" "$(dirname "$out")"
cp "$build/int8attn-bench" "$stage/"
cp "$build/tests/int8attn_gpu_tests" "$stage/tests/"
strip "$stage/int8attn-bench" "$stage/tests/int8attn_gpu_tests"
git rev-parse --short=12 HEAD > "$stage/COMMIT"
tar -cJf "$out.tmp" -C "$stage" . && mv "$out.tmp" "$out"
echo "$out: $(du -h "$out" | cut -f1), built at $(cat "$stage/COMMIT")"

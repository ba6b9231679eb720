#!/usr/bin/env bash
# Fresh machine -> built tool. Installs the Debian packages the project needs (root or sudo),
# then configures and builds into build/. The CUDA backend is built when nvcc is found;
# without it the tool builds with the CPU backend only.
#   INT8ATTN_SKIP_INSTALL=1   skip apt (packages already there, or no root)
#   BUILD_DIR=...             build folder (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(cmake ninja-build g++ libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev
          python3 python3-jsonschema chromium)
if [[ "${INT8ATTN_SKIP_INSTALL:-0}" != 1 ]]; then
  missing=()
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    sudo=""; [[ $(id -u) == 0 ]] || sudo=sudo
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi
# nvcc is often installed outside PATH.
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j"$(nproc)"

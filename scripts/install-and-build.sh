#!/usr/bin/env bash
# Fresh machine -> built tool. Installs the Debian packages the project needs (root or sudo),
# then configures and builds into build/. The CUDA backend is built when nvcc is found;
# without it the tool builds with the CPU backend only. With cuDNN present, it also fetches
# the cuDNN frontend's headers (see fetch_cudnn_frontend) for the cuDNN baseline kernels.
#   INT8ATTN_SKIP_INSTALL=1   skip apt (packages already there, or no root)
#   BUILD_DIR=...             build folder (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
# slurm-wlm and munge: only for the test that runs the Slurm recipe on a single-node Slurm.
packages=(cmake ninja-build g++ libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev
          python3 python3-jsonschema chromium slurm-wlm munge)
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

# The cuDNN frontend's C++ headers (header-only) for the fp16-cudnn/fp8-cudnn kernels, into
# .deps/cudnn-frontend where CMake looks. Fetched only when nvcc and cuDNN itself are here
# (CUDA Toolkit, CUDNN_ROOT, /usr/include, or a Python environment's nvidia/cudnn); from
# PyPI's nvidia-cudnn-frontend with pip, else a shallow clone of NVIDIA/cudnn-frontend. A
# failed fetch only leaves those two kernels out of the build.  INT8ATTN_SKIP_CUDNN_FETCH=1 skips.
cudnn_headers_present() {
  local site d
  for d in "${CUDNN_ROOT:-}" /usr/local/cuda /usr; do
    [[ -n $d && -f $d/include/cudnn_version.h ]] && return 0
  done
  site=$(python3 -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" 2>/dev/null) &&
    [[ -f $site/nvidia/cudnn/include/cudnn_version.h ]]
}
fetch_cudnn_frontend() {
  local dest=.deps/cudnn-frontend tmp
  [[ -f $dest/include/cudnn_frontend.h ]] && return 0
  tmp=$(mktemp -d)
  if timeout 60 python3 -m pip download --no-deps -q --retries 1 --timeout 15 -d "$tmp" nvidia-cudnn-frontend >/dev/null 2>&1; then
    python3 - "$tmp" "$dest" <<'PY' || true
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("include/")])
PY
  fi
  if [[ ! -f $dest/include/cudnn_frontend.h ]] &&
     timeout 90 git clone -q --depth 1 https://github.com/NVIDIA/cudnn-frontend "$tmp/fe" 2>/dev/null; then
    mkdir -p "$dest" && cp -r "$tmp/fe/include" "$dest/"
  fi
  rm -rf "$tmp"
  if [[ -f $dest/include/cudnn_frontend.h ]]; then
    echo "cuDNN frontend headers in $dest"
  else
    echo "note: cuDNN frontend headers not fetched; building without fp16-cudnn/fp8-cudnn" >&2
  fi
}
if [[ "${INT8ATTN_SKIP_CUDNN_FETCH:-0}" != 1 ]] && command -v nvcc >/dev/null && cudnn_headers_present; then
  fetch_cudnn_frontend
fi

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j"$(nproc)"

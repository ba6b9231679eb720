# Sourced by the device scripts (device-check.sh, e2e-ab.sh): where cuDNN 9 is on the GPU
# machine. It lives in PyTorch's environment there (only .so.9 files; CMake links that); the
# frontend headers arrive through .deps/unpack.sh into the prefix's include/. Sets CUDNN_ROOT
# (unless given) and puts its lib/ on LD_LIBRARY_PATH: libcudnn.so.9 loads its sub-libraries
# (engines, heuristics) at run time.
if [[ -z "${CUDNN_ROOT:-}" ]]; then
  for d in /opt/torch/.venv/lib/python3*/site-packages/nvidia/cudnn; do
    [[ -f $d/include/cudnn_version.h ]] && CUDNN_ROOT=$d
  done
fi
if [[ -n "${CUDNN_ROOT:-}" && -d $CUDNN_ROOT/lib ]]; then
  export LD_LIBRARY_PATH="$CUDNN_ROOT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# Finds cuDNN 9 (headers + library) and the cuDNN frontend's C++ headers (header-only), for
# the fp16-cudnn / fp8-cudnn kernels. Looks in, in order: CUDNN_ROOT (cache variable or
# environment), CMAKE_PREFIX_PATH, the CUDA Toolkit, and the nvidia/cudnn folder of a
# Python environment (PyTorch's nvidia-cudnn-cu12/13 wheels; set INT8ATTN_PYTHON_SITE or
# let it ask python3). The frontend headers are also looked for in .deps/cudnn-frontend
# (scripts/install-and-build.sh puts them there).
#
# Sets CUDNN_SDPA_FOUND and, when found, the imported target int8attn::cudnn (headers of
# both, the library) and CUDNN_SDPA_VERSION. When anything is missing CUDNN_SDPA_MISSING
# says what, and the build goes on without the two kernels.

set(CUDNN_ROOT "$ENV{CUDNN_ROOT}" CACHE PATH "cuDNN install prefix (include/, lib/ or lib64/)")
set(INT8ATTN_PYTHON_SITE "" CACHE PATH "A Python site-packages folder holding nvidia/cudnn (PyTorch's cuDNN)")

set(_cudnn_hints "")
if(CUDNN_ROOT)
  list(APPEND _cudnn_hints "${CUDNN_ROOT}")
endif()
if(CUDAToolkit_LIBRARY_ROOT)
  list(APPEND _cudnn_hints "${CUDAToolkit_LIBRARY_ROOT}")
endif()
if(CUDAToolkit_INCLUDE_DIRS)
  foreach(_dir IN LISTS CUDAToolkit_INCLUDE_DIRS)
    get_filename_component(_parent "${_dir}" DIRECTORY)
    list(APPEND _cudnn_hints "${_parent}")
  endforeach()
endif()
set(_site "${INT8ATTN_PYTHON_SITE}")
if(NOT _site)
  find_program(_python3 NAMES python3)
  if(_python3)
    execute_process(COMMAND ${_python3} -c "import sysconfig; print(sysconfig.get_paths()['purelib'])"
                    OUTPUT_VARIABLE _site OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET TIMEOUT 10)
  endif()
endif()
if(_site AND EXISTS "${_site}/nvidia/cudnn")
  list(APPEND _cudnn_hints "${_site}/nvidia/cudnn")
endif()

find_path(CUDNN_INCLUDE_DIR cudnn_version.h HINTS ${_cudnn_hints} PATH_SUFFIXES include)
# Python wheels ship only libcudnn.so.9: accept it by name.
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 NAMES_PER_DIR HINTS ${_cudnn_hints} PATH_SUFFIXES lib64 lib lib/x64)
find_path(CUDNN_FRONTEND_INCLUDE_DIR cudnn_frontend.h
          HINTS ${_cudnn_hints} "${CMAKE_SOURCE_DIR}/.deps/cudnn-frontend"
          PATH_SUFFIXES include)

set(CUDNN_SDPA_FOUND FALSE)
set(CUDNN_SDPA_MISSING "")
if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  set(CUDNN_SDPA_MISSING "cuDNN 9 (cudnn_version.h and libcudnn) not found (set CUDNN_ROOT)")
elseif(NOT CUDNN_FRONTEND_INCLUDE_DIR)
  set(CUDNN_SDPA_MISSING "the cuDNN frontend headers (cudnn_frontend.h) not found (run scripts/install-and-build.sh or add their prefix to CMAKE_PREFIX_PATH)")
else()
  file(STRINGS "${CUDNN_INCLUDE_DIR}/cudnn_version.h" _ver REGEX "#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) +[0-9]+")
  string(REGEX REPLACE ".*CUDNN_MAJOR +([0-9]+).*" "\\1" _major "${_ver}")
  string(REGEX REPLACE ".*CUDNN_MINOR +([0-9]+).*" "\\1" _minor "${_ver}")
  string(REGEX REPLACE ".*CUDNN_PATCHLEVEL +([0-9]+).*" "\\1" _patch "${_ver}")
  set(CUDNN_SDPA_VERSION "${_major}.${_minor}.${_patch}")
  if(_major LESS 9)
    set(CUDNN_SDPA_MISSING "cuDNN ${CUDNN_SDPA_VERSION} at ${CUDNN_INCLUDE_DIR} is older than 9")
  else()
    set(CUDNN_SDPA_FOUND TRUE)
    if(NOT TARGET int8attn::cudnn)
      add_library(int8attn::cudnn INTERFACE IMPORTED)
      # The frontend directory first: it must not pick up an older frontend beside cudnn.h.
      set_target_properties(int8attn::cudnn PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${CUDNN_FRONTEND_INCLUDE_DIR};${CUDNN_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "${CUDNN_LIBRARY}")
    endif()
  endif()
endif()

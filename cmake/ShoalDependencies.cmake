# Third-party packages, all from Debian (see .ci/install-deps.sh).
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(ZLIB REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)

# BLAS: the OpenMP build of OpenBLAS. Our CPU kernels call sgemm from inside their own OpenMP
# regions, one block per thread; the OpenMP build then runs each call on the calling thread,
# while the pthread build would fight our threads for the cores. Debian installs the variants
# side by side, so we link the OpenMP one by its directory and record it in the RPATH.
set(_shoal_blas_hints
    /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp
    /usr/lib/openblas-openmp)
find_library(SHOAL_BLAS_LIBRARY NAMES openblas HINTS ${_shoal_blas_hints} NO_DEFAULT_PATH)
find_path(SHOAL_CBLAS_INCLUDE_DIR cblas.h
          HINTS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH)
if(NOT SHOAL_BLAS_LIBRARY OR NOT SHOAL_CBLAS_INCLUDE_DIR)
  message(WARNING "The OpenMP build of OpenBLAS (Debian: libopenblas-openmp-dev) was not found; "
                  "falling back to any OpenBLAS, which may be slower when called from OpenMP threads.")
  find_library(SHOAL_BLAS_LIBRARY NAMES openblas REQUIRED)
  find_path(SHOAL_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas REQUIRED)
endif()
add_library(shoal_blas INTERFACE)
target_link_libraries(shoal_blas INTERFACE "${SHOAL_BLAS_LIBRARY}")
target_include_directories(shoal_blas SYSTEM INTERFACE "${SHOAL_CBLAS_INCLUDE_DIR}")
get_filename_component(SHOAL_BLAS_DIR "${SHOAL_BLAS_LIBRARY}" DIRECTORY)

# FAISS (Debian: libfaiss-dev, a static library). Its package config links the system's default
# BLAS; point it at ours, so that one OpenBLAS is loaded, not two.
find_package(faiss REQUIRED)
set_target_properties(faiss PROPERTIES INTERFACE_LINK_LIBRARIES "OpenMP::OpenMP_CXX;${SHOAL_BLAS_LIBRARY}")

if(SHOAL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(SHOAL_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

#!/usr/bin/env bash
# Installs everything shoal builds and tests with on Debian 12, from Debian's archive.
# The CUDA backend is built too when the CUDA toolkit is present (nvcc on PATH or in
# /usr/local/cuda/bin); it is not installed here.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git
  zlib1g-dev
  libopenblas-openmp-dev   # BLAS; the OpenMP build, see cmake/ShoalDependencies.cmake
  libfaiss-dev             # CPU kNN graphs and the FAISS k-means we benchmark against
  libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

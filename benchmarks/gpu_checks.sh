#!/usr/bin/env bash
# The GPU measurements of docs/benchmarks.md, and a memory check of the CUDA tests, on a machine
# with a CUDA device and a CUDA build in build-gpu/ (as ../shared/device/gpu.sh makes it; this
# script is what to append to gpu.sh's command line). Figures go to stdout and, as JSON, to $OUT
# (default /tmp/shoal-gpu). Each stage takes minutes: name some to keep one command within the
# device's time limit per call.
#
#   bash benchmarks/gpu_checks.sh [build-dir] [kmeans] [bench] [hdbscan] [memcheck]   (default: all four)
set -uo pipefail
build=${1:-build-gpu}
shift || true
stages=${*:-kmeans bench hdbscan memcheck}
out=${OUT:-/tmp/shoal-gpu}
mkdir -p "$out"
shoal=$build/bin/shoal
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

kmeans() {
  echo "== k-means, 10M x 128, k = 1024: shoal vs PyTorch"
  python3 benchmarks/compare/kmeans_gpu.py --shoal "$shoal" --repeat 3 --scratch "$scratch" --json "$out/kmeans_gpu.json"
}

bench() {
  echo "== k-means Lloyd (TF32 against FP32 tiles), the kNN graph and the spanning tree on the GPU (Google Benchmark)"
  "$build/benchmarks/shoal_bench" --benchmark_filter='LloydCuda|KnnGraphCuda|ExactMst' \
    --benchmark_out="$out/shoal_bench_cuda.json" --benchmark_out_format=json
}

hdbscan() {
  echo "== HDBSCAN, 1M x 16: stage seconds on the GPU and on the host's cores"
  "$shoal" generate blobs --n 1000000 --d 16 --centers 20 --std 1.5 --seed 3 -o "$scratch/h.npy"
  for device in cuda cpu; do
    "$shoal" hdbscan "$scratch/h.npy" --min-cluster-size 50 --min-samples 10 --device "$device" \
      --labels "$scratch/$device.npy" --report "$out/hdbscan_$device.json" --quiet
    python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print(sys.argv[2], r['backend'], \
{k: round(v, 2) for k, v in r['seconds'].items()}, 'exact searches', r['exact_searches'])" \
      "$out/hdbscan_$device.json" "$device"
  done
  "$shoal" evaluate --labels "$scratch/cuda.npy" --truth "$scratch/cpu.npy"
}

memcheck() {
  echo "== compute-sanitizer memcheck of the CUDA tests"
  local failed=0
  for test in test_kmeans test_distance test_neighbors test_hdbscan; do
    compute-sanitizer --tool memcheck --error-exitcode 1 --print-limit 5 "$build/tests/$test" --gtest_filter='*Cuda*' 2>&1 |
      grep -E "ERROR SUMMARY|PASSED|FAILED" | sed "s/^/$test: /"
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
  done
  return $failed
}

status=0
for stage in $stages; do
  case $stage in
    kmeans | bench | hdbscan | memcheck) "$stage" || status=1 ;;
    *) echo "gpu_checks.sh: unknown stage '$stage' (kmeans, bench, hdbscan, memcheck)" >&2; exit 2 ;;
  esac
done
exit $status

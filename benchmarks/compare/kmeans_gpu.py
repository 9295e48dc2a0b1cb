#!/usr/bin/env python3
"""Side-by-side GPU k-means: shoal (`shoal kmeans --device cuda`) against a PyTorch Lloyd on the
same GPU, in one run, on the same data, from the same initial centroids, for the same number
of Lloyd iterations.

    python3 benchmarks/compare/kmeans_gpu.py --shoal build/release/bin/shoal

Data: Gaussian blobs made on the GPU with a seeded torch generator (k centres uniform in
[-10, 10]^d, standard deviation 4), written once as .npy for shoal. Initial centroids: k
distinct random rows. PyTorch's Lloyd is the usual one: per block of rows, ‖c‖² − 2·x·cᵀ by
a matmul, argmin, then index_add_ of the rows and a bincount for the new centroids; it runs
twice, in FP32 (TF32 off), and with TF32 allowed, whose labels are not exact. shoal runs as it
comes (TF32 tiles whose close calls it decides exactly, so its labels are those of FP32) and
with SHOAL_NO_TF32=1 (FP32 tiles). Times are the Lloyd iterations only, the data already on the
GPU: shoal's report gives them per iteration; PyTorch's are CUDA-event timed after one warm-up
iteration. GFLOP/s counts 2·n·k·d per iteration; the FP32 FMA peak is SMs × 128 lanes × 2 ×
the maximum SM clock.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import torch


def make_blobs(n, d, k, seed):
    generator = torch.Generator(device="cuda").manual_seed(seed)
    centres = torch.rand(k, d, generator=generator, device="cuda") * 20 - 10
    labels = torch.randint(0, k, (n,), generator=generator, device="cuda")
    X = centres[labels]
    X.add_(torch.randn(n, d, generator=generator, device="cuda").mul_(4))
    return X


def torch_lloyd(X, C, iterations, block_rows, tf32):
    """Returns (seconds of each timed iteration, labels of the final centroids). One untimed
    warm-up iteration comes first, and the labels of the final centroids are computed after
    the timed ones, as shoal's and scikit-learn's are."""
    torch.backends.cuda.matmul.allow_tf32 = tf32
    n, k = X.shape[0], C.shape[0]
    x_norms = (X * X).sum(1)
    labels = torch.empty(n, dtype=torch.int64, device=X.device)

    def assign(C):
        c_norms = (C * C).sum(1)
        for begin in range(0, n, block_rows):
            block = X[begin:begin + block_rows]
            distances = torch.addmm(c_norms.unsqueeze(0), block, C.t(), alpha=-2.0)
            distances.add_(x_norms[begin:begin + block_rows].unsqueeze(1))
            labels[begin:begin + block_rows] = distances.argmin(1)

    def iteration(C):
        assign(C)
        sums = torch.zeros_like(C).index_add_(0, labels, X)
        counts = torch.bincount(labels, minlength=k).to(C.dtype)
        return torch.where(counts.unsqueeze(1) > 0, sums / counts.clamp(min=1).unsqueeze(1), C)

    iteration(C.clone())  # warm-up: cuBLAS heuristics, allocator
    times = []
    for _ in range(iterations):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        C = iteration(C)
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop) / 1e3)
    assign(C)
    return times, labels


def run_shoal(shoal, data, init, k, iterations, tf32):
    environment = dict(os.environ)
    if not tf32:
        environment["SHOAL_NO_TF32"] = "1"
    with tempfile.TemporaryDirectory() as scratch:
        labels, report = pathlib.Path(scratch) / "labels.npy", pathlib.Path(scratch) / "report.json"
        subprocess.run([shoal, "kmeans", str(data), "--k", str(k), "--init", str(init), "--n-init", "1", "--max-iter",
                        str(iterations), "--tol", "0", "--device", "cuda", "--labels", str(labels), "--report",
                        str(report), "--quiet"], check=True, env=environment)
        result = json.loads(report.read_text())
        return result, np.load(labels)


def fp32_peak_flops():
    properties = torch.cuda.get_device_properties(0)
    clock_mhz = float(subprocess.run(["nvidia-smi", "--query-gpu=clocks.max.sm", "--format=csv,noheader,nounits"],
                                     check=True, capture_output=True, text=True).stdout.split()[0])
    return properties.multi_processor_count * 128 * 2 * clock_mhz * 1e6, properties.name


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoal", default="build/release/bin/shoal")
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--k", type=int, default=1024)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="runs per library; the best is reported")
    parser.add_argument("--block-rows", type=int, default=1 << 20, help="PyTorch's rows per distance block")
    parser.add_argument("--scratch", default=tempfile.gettempdir(), help="where the data file is written")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    X = make_blobs(args.n, args.d, args.k, seed=1)
    generator = torch.Generator(device="cuda").manual_seed(0)
    C = X[torch.randperm(args.n, generator=generator, device="cuda")[:args.k]].clone()
    with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
        data, init = pathlib.Path(scratch) / "X.npy", pathlib.Path(scratch) / "C.npy"
        np.save(data, X.cpu().numpy())
        np.save(init, C.cpu().numpy())
        runs = {"shoal": [], "shoal-fp32": [], "pytorch": [], "pytorch-tf32": []}
        for _ in range(args.repeat):  # interleaved
            for tf32, name in ((True, "shoal"), (False, "shoal-fp32")):
                runs[name].append(run_shoal(args.shoal, data, init, args.k, args.iterations, tf32))
            for tf32, name in ((False, "pytorch"), (True, "pytorch-tf32")):
                times, labels = torch_lloyd(X, C, args.iterations, args.block_rows, tf32)
                runs[name].append((times, labels.cpu().numpy()))

    report, shoal_labels = runs["shoal"][0]
    if report["n_iter"] != args.iterations:
        sys.exit(f"shoal stopped after {report['n_iter']} iterations; choose data that needs {args.iterations}")
    per_iter = {name: min(float(np.median([it["seconds"] for it in r["iterations"]])) for r, _ in runs[name])
                for name in ("shoal", "shoal-fp32")}
    per_iter.update({name: min(float(np.median(times)) for times, _ in runs[name])
                     for name in ("pytorch", "pytorch-tf32")})
    shoal_per_iter = per_iter["shoal"]
    shoal_total = min(r["seconds"]["iterations"] for r, _ in runs["shoal"])
    same = {name: float(np.mean(shoal_labels == runs[name][0][1])) for name in runs}

    peak, name = fp32_peak_flops()
    flops = 2.0 * args.n * args.k * args.d
    print(f"k-means on {name}: n={args.n}, d={args.d}, k={args.k}, {args.iterations} Lloyd iterations")
    print(f"FP32 FMA peak {peak / 1e12:.1f} TFLOP/s (the 'of peak' column: 2·n·k·d per iteration against it)")
    print(f"{'library':14} {'s/iter':>8} {'TFLOP/s':>8} {'of peak':>8} {'vs shoal':>9} {'labels = shoal':>15}")
    for label, seconds in per_iter.items():
        print(f"{label:14} {seconds:8.4f} {flops / seconds / 1e12:8.2f} {flops / seconds / peak:8.1%} "
              f"{seconds / shoal_per_iter:8.2f}x {same[label]:15.4%}")
    print(f"shoal: {shoal_total:.3f} s for {args.iterations} iterations (incl. upload), inertia {report['inertia']:.6g}, "
          f"backend {report['backend']}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {"args": vars(args), "device": name, "fp32_peak_flops": peak, "seconds_per_iteration": per_iter,
             "shoal_seconds_total": shoal_total, "labels_equal_fraction": same, "shoal_report": report}, indent=2))


if __name__ == "__main__":
    main()

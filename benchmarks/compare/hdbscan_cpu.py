#!/usr/bin/env python3
"""Side-by-side CPU HDBSCAN: shoal against the hdbscan package and fast_hdbscan, in one run,
on the same data, with the same parameters; and shoal's scaling in n with its peak memory.

    pip install numpy scikit-learn hdbscan fast_hdbscan
    python3 benchmarks/compare/hdbscan_cpu.py --shoal build/release/bin/shoal
    python3 benchmarks/compare/hdbscan_cpu.py --shoal build/release/bin/shoal --scaling
    python3 benchmarks/compare/hdbscan_cpu.py --shoal build/release/bin/shoal --scaling --approximate
    python3 benchmarks/compare/hdbscan_cpu.py --shoal build/release/bin/shoal --scaling --blob-size 12500
    python3 benchmarks/compare/hdbscan_cpu.py --shoal build/release/bin/shoal --scaling --blob-size 12500 --spread

Comparison data: `shoal generate blobs --n 200000 --d 10 --centers 20 --std 1.5 --seed 3`,
min_cluster_size 50, min_samples 10. The hdbscan package runs with approx_min_span_tree=False
(exact, as shoal) and core_dist_n_jobs=-1 (all cores); fast_hdbscan is first run on 5,000
points so that its numba compilation is not timed. Each run is a process of its own; times are
wall-clock of the fit (shoal: its report's total minus load and write). The ARI of each result
against the hdbscan package's is printed, and the peak resident memory of each process.

Scaling: shoal alone on blobs with n from 250,000 to 2,000,000 at d = 16 (same parameters),
printing seconds per stage, seconds / (n log2 n), and peak memory per point. With --approximate,
either runs shoal's approximate mode on an HNSW kNN graph (`--knn-index hnsw --approximate`).
The blobs are 20 (denser as n grows) or, with --blob-size M, n / M blobs of M points each (the
same density within blobs at every n, more blobs). Their centres are uniform in [-10, 10)^16;
with --spread that box grows as n^(1/16), so the blobs are as far apart at every n as at 250,000
(in the fixed box, 8 times the blobs at 2,000,000 lie closer to one another).
"""
import argparse
import json
import pathlib
import resource
import subprocess
import sys
import tempfile

import numpy as np


def worker(args):
    import time

    X = np.load(args.data).astype(np.float64)
    if args.worker == "hdbscan":
        import hdbscan

        start = time.perf_counter()
        labels = hdbscan.HDBSCAN(min_cluster_size=args.min_cluster_size, min_samples=args.min_samples,
                                 approx_min_span_tree=False, core_dist_n_jobs=-1).fit(X).labels_
        name = f"hdbscan {getattr(hdbscan, '__version__', '0.8.44')}"
    else:
        import fast_hdbscan

        fast_hdbscan.HDBSCAN(min_cluster_size=args.min_cluster_size, min_samples=args.min_samples).fit(X[:5000])
        start = time.perf_counter()
        labels = fast_hdbscan.HDBSCAN(min_cluster_size=args.min_cluster_size, min_samples=args.min_samples).fit(X).labels_
        name = "fast_hdbscan"
    seconds = time.perf_counter() - start
    np.save(args.labels, labels.astype(np.int32))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps([name, seconds, peak_mib]))


def run_shoal(shoal, data, min_cluster_size, min_samples, labels, report, extra=()):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([shoal, "hdbscan", str(data), "--min-cluster-size", str(min_cluster_size), "--min-samples",
                    str(min_samples), "--labels", str(labels), "--report", str(report), "--quiet", *extra], check=True)
    peak_mib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    result = json.loads(pathlib.Path(report).read_text())
    seconds = result["seconds"]
    return seconds["total"] - seconds["load"] - seconds["write"], seconds, peak_mib


def mode_of(args):
    return "approximate MST on an HNSW kNN graph" if args.approximate else "exact MST on the exact kNN graph"


def shoal_alone(args, data, labels):
    """run_shoal in a fresh process, so that its peak memory is shoal's alone (RUSAGE_CHILDREN
    keeps the largest of all children waited for)."""
    out = subprocess.run([sys.executable, __file__, "--shoal", args.shoal, "--one", str(data), "--labels", str(labels),
                          *(["--approximate"] if args.approximate else [])],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def compare(args, scratch):
    from sklearn.metrics import adjusted_rand_score

    data = scratch / "X.npy"
    subprocess.run([args.shoal, "generate", "blobs", "--n", "200000", "--d", "10", "--centers", "20", "--std", "1.5",
                    "--seed", "3", "-o", str(data)], check=True)
    results = []
    for library in ("hdbscan", "fast"):
        labels = scratch / f"{library}.npy"
        out = subprocess.run([sys.executable, __file__, "--worker", library, "--data", str(data), "--labels",
                              str(labels), "--min-cluster-size", "50", "--min-samples", "10"],
                             check=True, capture_output=True, text=True).stdout
        name, seconds, peak = json.loads(out)
        results.append((name, seconds, peak, np.load(labels)))
    seconds, stages, peak = shoal_alone(args, data, scratch / "shoal.npy")
    results.insert(0, ("shoal", seconds, peak, np.load(scratch / "shoal.npy")))
    reference = results[1][3]
    print(f"HDBSCAN, 200,000 blobs in 10-d (20 blobs), min_cluster_size 50, min_samples 10; shoal: {mode_of(args)}")
    print(f"{'library':20} {'seconds':>8} {'vs shoal':>9} {'peak MiB':>9} {'ARI vs hdbscan':>15} {'clusters':>9}")
    for name, seconds_, peak_, labels in results:
        print(f"{name:20} {seconds_:8.2f} {seconds_ / results[0][1]:8.1f}x {peak_:9.0f} "
              f"{adjusted_rand_score(reference, labels):15.5f} {labels.max() + 1:9d}")
    print("shoal stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items() if k not in ("total",)))


def scaling(args, scratch):
    blobs = f"blobs of {args.blob_size} points" if args.blob_size else "20 blobs"
    blobs += ", centres spread as n^(1/16)" if args.spread else ""
    print(f"shoal HDBSCAN scaling: {blobs} (std 1.5) in 16-d, min_cluster_size 50, min_samples 10, {mode_of(args)}")
    print(f"{'n':>9} {'seconds':>8} {'knn':>6} {'mst':>6} {'us / (n log2 n)':>16} {'peak MiB':>9} {'bytes / point':>14}")
    for n in (250_000, 500_000, 1_000_000, 2_000_000):
        data = scratch / f"X{n}.npy"
        centers = n // args.blob_size if args.blob_size else 20
        half_side = 10.0 * (n / 250_000) ** (1 / 16) if args.spread else 10.0
        subprocess.run([args.shoal, "generate", "blobs", "--n", str(n), "--d", "16", "--centers", str(centers), "--std",
                        "1.5", "--center-low", str(-half_side), "--center-high", str(half_side), "--seed", "3", "-o",
                        str(data)], check=True)
        seconds, stages, peak = shoal_alone(args, data, scratch / "labels.npy")
        data.unlink()
        print(f"{n:9d} {seconds:8.2f} {stages['knn']:6.2f} {stages['mst']:6.2f} "
              f"{seconds / (n * np.log2(n)) * 1e6:16.4f} {peak:9.0f} {peak * 2**20 / n:14.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoal", default="build/release/bin/shoal")
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--approximate", action="store_true", help="shoal on an HNSW kNN graph, approximate MST")
    parser.add_argument("--blob-size", type=int, help="scaling: n / BLOB_SIZE blobs instead of 20")
    parser.add_argument("--spread", action="store_true", help="scaling: the centres' box grows as n^(1/16)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--labels", help=argparse.SUPPRESS)
    parser.add_argument("--min-cluster-size", type=int, default=50, help=argparse.SUPPRESS)
    parser.add_argument("--min-samples", type=int, default=10, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        if args.one:
            extra = ["--knn-index", "hnsw", "--approximate"] if args.approximate else []
            print(json.dumps(run_shoal(args.shoal, args.one, 50, 10, args.labels, scratch / "r.json", extra)))
        elif args.scaling:
            scaling(args, scratch)
        else:
            compare(args, scratch)


if __name__ == "__main__":
    main()

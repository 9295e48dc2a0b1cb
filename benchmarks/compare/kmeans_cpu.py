#!/usr/bin/env python3
"""Side-by-side CPU k-means: shoal against FAISS (faiss.Kmeans) and scikit-learn (KMeans, lloyd
and elkan), in one run, on the same data, from the same initial centroids, for the same number
of Lloyd iterations.

    pip install numpy scikit-learn faiss-cpu
    python3 benchmarks/compare/kmeans_cpu.py --shoal build/release/bin/shoal

Data: `shoal generate blobs` (n points, d dimensions, k blobs, std 4, seed 1). Initial
centroids: scikit-learn's k-means++ (random_state 0), or k random rows (--init random). Every
library runs exactly --iterations iterations (tol 0; FAISS uses every point). Times are the
Lloyd iterations only: shoal's report gives them; FAISS's train and scikit-learn's fit are
timed around the call. Every run is a process of its own (OpenMP runtimes of different
libraries in one process slow each other down), each library runs --repeat times,
interleaved; the best time is reported (the least disturbed by the machine), with the median
beside it, and the ratios use the best times. GFLOP/s counts 2·n·k·d per iteration, the work
of a full assignment (shoal skips much of it with exact bounds, so its figure can exceed the
machine's peak).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np


def run_shoal(shoal, data, init, k, iterations, threads):
    with tempfile.TemporaryDirectory() as scratch:
        report = pathlib.Path(scratch) / "report.json"
        subprocess.run(
            [shoal, "kmeans", str(data), "--k", str(k), "--init", str(init), "--max-iter", str(iterations),
             "--tol", "0", "--threads", str(threads), "--labels", str(pathlib.Path(scratch) / "labels.npy"),
             "--report", str(report), "--quiet"],
            check=True,
        )
        result = json.loads(report.read_text())
    if result["n_iter"] != iterations:
        sys.exit(f"shoal converged after {result['n_iter']} iterations; choose data that needs {iterations}")
    return result["seconds"]["iterations"], result["inertia"]


def run_faiss(X, C, iterations):
    import faiss

    kmeans = faiss.Kmeans(X.shape[1], C.shape[0], niter=iterations, max_points_per_centroid=1 << 30,
                          min_points_per_centroid=1, verbose=False)
    start = time.perf_counter()
    kmeans.train(X, init_centroids=C)
    seconds = time.perf_counter() - start
    distances, _ = kmeans.index.search(X, 1)  # inertia of the final centroids, as the others report
    return seconds, float(distances.sum(dtype=np.float64)), f"faiss-cpu {faiss.__version__}"


def run_sklearn(X, C, iterations, algorithm):
    import sklearn
    from sklearn.cluster import KMeans

    model = KMeans(C.shape[0], init=C, n_init=1, max_iter=iterations, tol=0, algorithm=algorithm)
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    if model.n_iter_ != iterations:
        sys.exit(f"scikit-learn converged after {model.n_iter_} iterations")
    return seconds, float(model.inertia_), f"scikit-learn {sklearn.__version__} ({algorithm})"


def run_worker(library, data, init, iterations):
    """Runs one Python library in a fresh process; returns (seconds, inertia, name)."""
    output = subprocess.run([sys.executable, __file__, "--worker", library, "--data", str(data), "--init-file",
                             str(init), "--iterations", str(iterations)], check=True, capture_output=True, text=True)
    return tuple(json.loads(output.stdout))


def worker(args):
    X, C = np.load(args.data), np.load(args.init_file)
    if args.worker == "faiss":
        result = run_faiss(X, C, args.iterations)
    else:
        result = run_sklearn(X, C, args.iterations, args.worker)
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=["faiss", "lloyd", "elkan"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--init-file", help=argparse.SUPPRESS)
    parser.add_argument("--shoal", default="build/release/bin/shoal")
    parser.add_argument("--n", type=int, default=500_000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--init", choices=["kmeans++", "random"], default="kmeans++")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=3, help="runs per library; the best time is reported")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    with tempfile.TemporaryDirectory() as scratch:
        data = pathlib.Path(scratch) / "X.npy"
        subprocess.run([args.shoal, "generate", "blobs", "--n", str(args.n), "--d", str(args.d), "--centers",
                        str(args.k), "--std", "4", "--seed", "1", "-o", str(data)], check=True)
        X = np.load(data)
        if args.init == "kmeans++":
            C = np.array(json.loads(subprocess.run(
                [sys.executable, "-c", "import json, sys, numpy as np; from sklearn.cluster import kmeans_plusplus; "
                 f"print(json.dumps(kmeans_plusplus(np.load('{data}'), {args.k}, random_state=0)[0].tolist()))"],
                check=True, capture_output=True, text=True).stdout), dtype=np.float32)
        else:
            C = X[np.random.default_rng(0).choice(args.n, args.k, replace=False)].copy()
        init = pathlib.Path(scratch) / "C.npy"
        np.save(init, C)

        flops = 2.0 * args.n * args.k * args.d * args.iterations
        runs = [lambda: (*run_shoal(args.shoal, data, init, args.k, args.iterations, args.threads), "shoal"),
                lambda: run_worker("faiss", data, init, args.iterations),
                lambda: run_worker("lloyd", data, init, args.iterations),
                lambda: run_worker("elkan", data, init, args.iterations)]
        # Interleave the libraries, so that a slow spell of the machine does not favour one.
        times = [[] for _ in runs]
        rows = [None] * len(runs)
        for _ in range(args.repeat):
            for index, run in enumerate(runs):
                seconds, inertia, name = run()
                times[index].append(seconds)
                rows[index] = (name, inertia)
        rows = [(name, min(t), float(np.median(t)), inertia) for (name, inertia), t in zip(rows, times)]

    shoal_seconds = rows[0][1]
    print(f"k-means, {args.iterations} Lloyd iterations: n={args.n}, d={args.d}, k={args.k}, "
          f"init {args.init}, {args.threads} threads")
    print(f"{'library':32} {'best s':>8} {'median s':>9} {'s/iter':>8} {'GFLOP/s':>8} {'vs shoal':>9} {'inertia':>14}")
    for name, seconds, median, inertia in rows:
        print(f"{name:32} {seconds:8.3f} {median:9.3f} {seconds / args.iterations:8.4f} {flops / seconds / 1e9:8.1f} "
              f"{seconds / shoal_seconds:8.2f}x {inertia:14.6g}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(
            {"args": vars(args),
             "results": [{"library": n, "best_seconds": s, "median_seconds": m, "inertia": i} for n, s, m, i in rows]},
            indent=2))


if __name__ == "__main__":
    main()

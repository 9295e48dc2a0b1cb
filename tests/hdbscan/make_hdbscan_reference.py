#!/usr/bin/env python3
"""Writes reference/: the hdbscan package's results on the labelled benchmark suite, which
test_hdbscan.cpp compares shoal with.

    python3 tests/hdbscan/make_hdbscan_reference.py ../shared/data/clustering-benchmarks

For every set with n <= 20000 (data rounded to float32 as shoal reads them, then float64):
HDBSCAN(min_cluster_size=15, approx_min_span_tree=False). reference/BATTERY_NAME.csv.gz holds
its labels, probabilities and GLOSH outlier scores for the rows in their given order.

The package orders equal MST weights by numpy's unstable sort, so on some sets its clusters
change with the order of the rows. The script also runs it on 8 row permutations (numpy seeds
0..7); where one of them disagrees with the given order (ARI < 0.99), each distinct outcome is
written as BATTERY_NAME.altI.csv.gz (mapped back to the given order), and index.txt lists them.

With min_samples > 1 mutual reachability ties by construction (many edges weigh a core
distance), so exact agreement is asked only where it has no ties: min_samples = 1 on continuous
synthetic data (mutual reachability is then the Euclidean distance). tiefree_NAME.npy holds the
float32 data and tiefree_NAME.csv.gz the package's results; these need no ../shared.
"""
import gzip
import pathlib
import sys

import hdbscan
import numpy as np
from sklearn.metrics import adjusted_rand_score

MIN_CLUSTER_SIZE = 15


def run(X):
    model = hdbscan.HDBSCAN(min_cluster_size=MIN_CLUSTER_SIZE, approx_min_span_tree=False).fit(X)
    return model.labels_, model.probabilities_, model.outlier_scores_


def write(path, labels, probabilities, scores):
    with gzip.open(path, "wt") as out:
        out.write("label,probability,outlier_score\n")
        for l, p, s in zip(labels, probabilities, scores):
            out.write(f"{l},{p:.9g},{s:.9g}\n")


def tie_free(here):
    from sklearn.datasets import make_blobs, make_moons

    sets = {
        "blobs2d": make_blobs(3000, n_features=2, centers=6, cluster_std=[0.5, 1, 1.5, 2, 0.8, 1.2], random_state=0)[0],
        "blobs5d": make_blobs(3000, n_features=5, centers=6, cluster_std=[0.5, 1, 1.5, 2, 0.8, 1.2], random_state=3)[0],
        "moons": make_moons(2000, noise=0.08, random_state=1)[0],
    }
    for name, X in sets.items():
        X = X.astype(np.float32)
        np.save(here / f"tiefree_{name}.npy", X)
        model = hdbscan.HDBSCAN(min_cluster_size=MIN_CLUSTER_SIZE, min_samples=1, approx_min_span_tree=False)
        model.fit(X.astype(np.float64))
        write(here / f"tiefree_{name}.csv.gz", model.labels_, model.probabilities_, model.outlier_scores_)


def main(root):
    root = pathlib.Path(root)
    here = pathlib.Path(__file__).parent / "reference"
    here.mkdir(exist_ok=True)
    tie_free(here)
    index = [f"# hdbscan {hdbscan.__version__ if hasattr(hdbscan, '__version__') else '0.8.44'}, "
             f"min_cluster_size {MIN_CLUSTER_SIZE}; set, alternative outcomes"]
    for labels_file in sorted(root.glob("*/*.labels0.gz")):
        battery, name = labels_file.parent.name, labels_file.name[: -len(".labels0.gz")]
        X = np.loadtxt(root / battery / f"{name}.data.gz", ndmin=2).astype(np.float32).astype(np.float64)
        if len(X) > 20000:
            continue
        given = run(X)
        write(here / f"{battery}_{name}.csv.gz", *given)
        outcomes = [given]
        for seed in range(8):
            order = np.random.default_rng(seed).permutation(len(X))
            permuted = run(X[order])
            back = [np.empty_like(a) for a in permuted]
            for a, b in zip(back, permuted):
                a[order] = b
            if all(adjusted_rand_score(o[0], back[0]) < 0.99 for o in outcomes):
                outcomes.append(tuple(back))
        for i, outcome in enumerate(outcomes[1:], 1):
            write(here / f"{battery}_{name}.alt{i}.csv.gz", *outcome)
        index.append(f"{battery}_{name} {len(outcomes) - 1}")
    (here / "index.txt").write_text("\n".join(index) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/clustering-benchmarks")

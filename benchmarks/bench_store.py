"""Cost of the store's one hash scheme against the hashes it replaced.

``digest`` (SHA-256 over the canonical key text, arrays hashed in blocks) is what
``BaseScorer.score`` now computes on every call to recognise the data ``fit``
saw, and what keys the feature cache and the ranking rows. The baselines, measured
in the same run on the same array: the previous ``data_digest`` (BLAKE2b over the
bytes) and ``joblib.hash`` (the previous ranking row keys). Prints one row per
hash: milliseconds (best of ``--repeat``), GB/s and the ratio to BLAKE2b.

Usage::

    python benchmarks/bench_store.py                     # 20 000 x 2048 float64
    python benchmarks/bench_store.py --n 5000 --d 512 --repeat 5
"""

from __future__ import annotations

import argparse
import hashlib
import time

import joblib
import numpy as np

from skdisco.utils._store import digest


def _blake2b(X, y):
    h = hashlib.blake2b(digest_size=16)
    for a in (X, y):
        h.update(repr((a.shape, a.dtype.str)).encode())
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def _best(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.n, args.d))
    y = np.arange(args.n) % 10
    cases = {
        "blake2b (old data_digest)": lambda: _blake2b(X, y),
        "joblib.hash (old row keys)": lambda: joblib.hash((X, y)),
        "digest (store)": lambda: digest("fit data", X, y),
        "digest, strided X[:, ::2]": lambda: digest(X[:, ::2], y),
    }
    nbytes = X.nbytes + y.nbytes
    print(f"X: {args.n} x {args.d} float64 ({nbytes / 1e6:.0f} MB)")
    print(f"{'hash':28s} {'ms':>8s} {'GB/s':>6s} {'x blake2b':>9s}")
    base = None
    for name, fn in cases.items():
        seconds = _best(fn, args.repeat)
        base = base or seconds
        size = nbytes if "strided" not in name else X[:, ::2].nbytes + y.nbytes
        print(
            f"{name:28s} {seconds * 1e3:8.1f} {size / seconds / 1e9:6.2f} "
            f"{seconds / base:9.2f}"
        )


if __name__ == "__main__":
    main()

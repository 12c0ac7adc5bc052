"""Out-of-core scoring: time and memory of each streaming score on a memmap.

N = 10⁶ samples × D = 2 048 float32 features with C = 1 000 classes (8.2 GB
on disk) are written once, in chunks, to a ``.npy`` file under ``--cache``
(default ``/tmp/ooc``, outside the repository), with class-structured rows:
every class has a random mean, ``--mean-scale`` (default 0.1) times a standard
normal vector, and unit Gaussian noise around it. At 0.1 two class means are
about 6.4 noise widths apart and the classes overlap (no score saturates); at 1
(the tables measured before 2026-12-02, N = 60 000 among them) they are 64
apart, every posterior rounds to 1 and SFDA, GBC and the LDA parts of NCTI and
ETran sit at their limits. Each score
then reads that file as a ``numpy.memmap``, in a fresh process of its own, so
each peak is its own. Per score the table gives the wall time and three
memory peaks:

- peak RSS (``VmHWM``): counts the memory-mapped file's pages resident in
  the process, so it grows with the pages read, whatever the score keeps;
- peak anonymous RSS (``RssAnon``, sampled every 20 ms on a thread): the
  memory the process itself allocated (the interpreter, BLAS buffers, and
  freed memory the allocator keeps, included);
- tracemalloc's peak: NumPy's allocations traced exactly, the memory that
  must stay O(D² + chunk · D);

and the bound the traced peak is checked against, ``8 · (4 D² + C · D) + 64 MiB``: a few
D × D float64 matrices (Gram, eigenvectors, workspace), the C × D class sums
and one 64 MiB float64 block of rows. The features in float64 would take
``8 N D`` bytes (16 GiB at full size).

Usage::

    python benchmarks/bench_out_of_core.py           # full size: minutes per score
    python benchmarks/bench_out_of_core.py --n 20000 --d 256 --classes 100
    python benchmarks/bench_out_of_core.py --scorers logme,gbc,transrate

The Markdown table is written to ``benchmarks/results/out_of_core.md`` (or
``--out``) and printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

# The scores this benchmark knows: name -> (function, keyword arguments, passes
# over a memmap with N > D).
SCORERS = {
    "logme": ("logme", {}, "1"),
    "hscore": ("hscore", {}, "2"),
    "regularized_hscore": ("regularized_hscore", {}, "2"),
    "gbc": ("gbc", {}, "2"),
    "transrate": ("transrate", {}, "2 + one read of every class's rows"),
    # DISCO's default above 20 000 samples: the hard-example LDA's passes (class
    # sums, Gram, posteriors), then the kept rows read once, in memory.
    "disco": ("disco", {}, "3, then the 20 000 kept rows"),
    "sfda": ("sfda", {}, "6"),
    # Set-level scores combine components across models: one model's
    # components are what streams (NCTI's three, ETran's energy and LDA terms).
    # Beyond C ≈ 320 NCTI's per-class nuclear-norm factors (Σ_c min(n_c, C)·C
    # floats) pass 256 MiB: a memmap's classes are then read one by one.
    "ncti": ("ncti_components", {}, "5 + every class's rows once"),
    "ncti_lda": ("ncti_lda_score", {}, "5"),
    "etran": ("etran_components", {}, "3 (energy 1, LDA 2)"),
}
DEFAULT_SCORERS = "logme,hscore,regularized_hscore"
CHUNK_BYTES = 64 * 2**20
RESULTS = Path(__file__).resolve().parent / "results" / "out_of_core.md"
#: Class means are this times a standard normal vector (the noise is unit).
MEAN_SCALE = 0.1


def data_paths(cache, n, d, classes, mean_scale=MEAN_SCALE):
    stem = f"features_n{n}_d{d}_c{classes}"
    if mean_scale != 1.0:  # 1: the files of the tables measured before
        stem += f"_s{mean_scale:g}"
    return Path(cache) / f"{stem}.npy", Path(cache) / f"{stem}_y.npy"


def make_data(cache, n, d, classes, mean_scale=MEAN_SCALE, seed=0):
    """Write the float32 features and int labels once (skipped when present)."""
    import numpy as np

    X_path, y_path = data_paths(cache, n, d, classes, mean_scale)
    done = X_path.with_suffix(".done")
    if done.exists():
        return X_path, y_path
    X_path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    y[:classes] = np.arange(classes)  # every class present
    means = (mean_scale * rng.standard_normal((classes, d))).astype(np.float32)
    X = np.lib.format.open_memmap(X_path, mode="w+", dtype=np.float32, shape=(n, d))
    step = max(1, (32 * 2**20) // (4 * d))
    for start in range(0, n, step):
        stop = min(n, start + step)
        block = rng.standard_normal((stop - start, d), dtype=np.float32)
        block += means[y[start:stop]]
        X[start:stop] = block
    X.flush()
    del X
    np.save(y_path, y)
    done.write_text("complete\n")
    return X_path, y_path


def _status_kib(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def worker(name, X_path, y_path, threads):
    """Score the memmap with one score; print one JSON line of measurements."""
    import tracemalloc

    import numpy as np
    from threadpoolctl import threadpool_limits

    from skdisco import transferability

    fn_name, kwargs, passes = SCORERS[name]
    fn = getattr(transferability, fn_name)
    X = np.load(X_path, mmap_mode="r")
    y = np.load(y_path)
    peak_anon = [_status_kib("RssAnon")]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.02):
            peak_anon[0] = max(peak_anon[0], _status_kib("RssAnon"))

    thread = threading.Thread(target=sample, daemon=True)
    anon_before = _status_kib("RssAnon")
    thread.start()
    tracemalloc.start()
    with threadpool_limits(threads):
        t0 = time.perf_counter()
        score = fn(X, y, **kwargs)
        seconds = time.perf_counter() - t0
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stop.set()
    thread.join()
    peak_anon[0] = max(peak_anon[0], _status_kib("RssAnon"))
    print(
        json.dumps(
            {
                "scorer": name,
                "passes": passes,
                "score": np.asarray(score, dtype=float).tolist(),
                "seconds": seconds,
                "vmhwm_mib": _status_kib("VmHWM") / 1024,
                "anon_mib": peak_anon[0] / 1024,
                "anon_before_mib": anon_before / 1024,
                "traced_mib": traced / 2**20,
            }
        )
    )


def table(rows, n, d, classes, threads, mean_scale=MEAN_SCALE):
    bound = (8 * (4 * d * d + classes * d) + CHUNK_BYTES) / 2**20
    lines = [
        f"N = {n:,}, D = {d:,}, C = {classes:,}, class means {mean_scale:g} × "
        "N(0, I) with unit noise; float32 `.npy` memmap "
        f"({4 * n * d / 1e9:.2f} GB; {8 * n * d / 2**30:.1f} GiB as float64); "
        f"{threads} BLAS thread(s); bound 8·(4D² + CD) + 64 MiB = {bound:.0f} MiB.",
        "",
        "| score | passes | time (s) | peak RSS (MiB) | peak anonymous RSS (MiB) "
        "| tracemalloc peak (MiB) | traced peak under the bound |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['scorer']} | | failed: {r['error']} | | | | |")
            continue
        grown = r["anon_mib"] - r["anon_before_mib"]
        ok = "yes" if r["traced_mib"] <= bound else "NO"
        lines.append(
            f"| {r['scorer']} | {r['passes']} | {r['seconds']:.1f} | "
            f"{r['vmhwm_mib']:.0f} | {r['anon_mib']:.0f} (+{grown:.0f}) | "
            f"{r['traced_mib']:.0f} | {ok} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--mean-scale", type=float, default=MEAN_SCALE,
                        help="class means are this times N(0, I); the noise is "
                        "unit (1: the data of the tables before 2026-12-02)")
    parser.add_argument("--scorers", default=DEFAULT_SCORERS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", default="/tmp/ooc")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument(
        "--table-from",
        help="rebuild the table from the JSON lines a run printed (its log)",
    )
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.scorers.split(",") if s.strip()]
    unknown = sorted(set(names) - set(SCORERS))
    if unknown:
        parser.error(f"unknown scorers {unknown}; known: {sorted(SCORERS)}")
    if args.table_from:
        lines = Path(args.table_from).read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.startswith("{")]
        text = table(rows, args.n, args.d, args.classes, args.threads,
                     args.mean_scale)
        Path(args.out).write_text(text)
        print(text)
        return 0
    X_path, y_path = data_paths(args.cache, args.n, args.d, args.classes,
                                args.mean_scale)
    if args._worker:
        worker(args._worker, X_path, y_path, args.threads)
        return 0
    t0 = time.perf_counter()
    make_data(args.cache, args.n, args.d, args.classes, args.mean_scale)
    print(f"data ready in {time.perf_counter() - t0:.0f} s: {X_path}", flush=True)
    if args.prepare_only:
        return 0
    rows = []
    # The worker imports the skdisco next to this script (the checkout run).
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONPATH=path)
    for name in names:
        cmd = [sys.executable, __file__, "--_worker", name]
        cmd += ["--n", str(args.n), "--d", str(args.d)]
        cmd += ["--classes", str(args.classes), "--threads", str(args.threads)]
        cmd += ["--mean-scale", repr(args.mean_scale)]
        cmd += ["--cache", args.cache]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
            rows.append({"scorer": name, "error": tail[0][:120]})
        else:
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
        text = table(rows, args.n, args.d, args.classes, args.threads,
                     args.mean_scale)
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

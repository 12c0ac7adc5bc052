"""Size sweep shared by bench_logme.py, bench_disco.py and bench_scorers.py.

Each script times a few methods over a grid of N (200 to 10⁵) at D = 2048, 512 and
1 280, C = 100, with one and two BLAS threads, and prints one table per (D,
threads) with the ratios of the times measured in the same run. Robust timing on
a shared machine:

* the data are generated once per (N, D) and reused for every thread count and
  repetition;
* within each repetition every method runs once, in turn (so a change of machine
  load hits all of them alike), and each method keeps its minimum over the
  repetitions;
* BLAS threads are set with threadpoolctl (every BLAS/OpenMP library loaded,
  numpy's and scipy's OpenBLAS alike) and torch's intra-op threads with
  ``torch.set_num_threads`` when torch is installed.

The top of every table says which BLAS and kernels ran (threadpoolctl's
``internal_api``, ``version``, ``architecture``; numpy's SIMD extensions; the
CPU's vector flags), and every table is also written as Markdown under
``benchmarks/results/speed/``, the file ``docs/benchmarks.md`` includes.

This module must be imported after the thread environment variables are set
(:func:`set_thread_environment`), before numpy is loaded.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

SIZES = (200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)
DIMS = (2048, 512, 1280)
THREADS = (1, 2)
RESULTS = Path(__file__).resolve().parent / "results" / "speed"
_CPU_FLAGS = ("avx512f", "avx512_bf16", "avx512vl", "avx2", "fma", "avx")


def add_sweep_arguments(parser, *, repeats=3):
    """The subset options every sweep script takes (the default: the full table)."""
    parser.add_argument("--n", type=int, nargs="+", default=list(SIZES),
                        help="numbers of samples (default: the full table)")
    parser.add_argument("--d", type=int, nargs="+", default=list(DIMS),
                        help="feature dimensions")
    parser.add_argument("--threads", type=int, nargs="+", default=list(THREADS),
                        help="BLAS (and torch) thread counts")
    parser.add_argument("--repeats", type=int, default=repeats,
                        help="alternated repetitions; each method keeps its minimum")
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None,
                        help="Markdown file to write (default under "
                        "benchmarks/results/speed/; '-' for none)")
    return parser


def set_thread_environment(threads):
    """Let the libraries start enough threads for the largest count swept.

    OpenBLAS sizes its pool when it is loaded; threadpoolctl then lowers it per
    table. Must run before numpy is imported.
    """
    if "numpy" in sys.modules:
        raise RuntimeError("set_thread_environment must run before numpy is imported")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(max(threads))


def make_features(n, d, n_classes, seed=0):
    """Post-ReLU-like features with class structure in a low-rank subspace.

    Balanced labels (every class has ``n // n_classes`` or one more samples),
    class centres in a 64-dimensional subspace, noise with a decaying spectrum,
    then a ReLU: what a backbone's pooled features look like to these methods.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    centres = rng.standard_normal((n_classes, 64)) @ rng.standard_normal((64, d)) / 8.0
    scales = 1.0 / np.sqrt(np.arange(1, d + 1))
    X = centres[y]
    X += rng.standard_normal((n, d)) * scales
    np.maximum(X, 0.0, out=X)
    return X, y


def _numpy_simd():
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")
    except TypeError:  # pragma: no cover - numpy < 1.25
        return "unknown"
    simd = cfg.get("SIMD Extensions", {})
    return (f"baseline {', '.join(simd.get('baseline', []))}; "
            f"found {', '.join(simd.get('found', []))}; "
            f"not found {', '.join(simd.get('not found', [])) or '-'}")


def _cpu():
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    present = [f for f in _CPU_FLAGS if f in flags]
    return model, present, os.cpu_count()


def environment_lines():
    """What ran: CPU, its vector flags, numpy's SIMD, every BLAS threadpoolctl sees."""
    import numpy as np
    import scipy
    from threadpoolctl import threadpool_info

    model, flags, ncpu = _cpu()
    lines = [
        f"CPU: {model}, {ncpu} logical CPUs; flags: {' '.join(flags) or 'none of '}"
        + ("" if flags else ", ".join(_CPU_FLAGS)),
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}; numpy SIMD: {_numpy_simd()}",
    ]
    for lib in threadpool_info():
        lines.append(
            f"{lib.get('user_api')}: {lib.get('internal_api')} "
            f"{lib.get('version')}, architecture/core type "
            f"{lib.get('architecture', '-')}, threading "
            f"{lib.get('threading_layer', '-')} "
            f"({Path(lib.get('filepath', '')).name})"
        )
    torch = _torch()
    lines.append(f"torch {torch.__version__}" if torch else "torch: not installed")
    return lines


def _torch():
    try:
        import torch
    except ImportError:  # torch is optional here
        return None
    return torch


class _Threads:
    """BLAS/OpenMP threads (threadpoolctl) and torch threads, restored on exit."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        self._limits = threadpool_limits(limits=self.n)
        torch = _torch()
        self._torch = torch
        if torch is not None:
            self._before = torch.get_num_threads()
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self._torch is not None:
            self._torch.set_num_threads(self._before)
        self._limits.restore_original_limits()


def best_times(methods, F, y, repeats):
    """Minimum wall and CPU time per method, alternated within each repetition.

    Returns ``(times, cpu, outputs)``: dicts keyed by method name -- the
    minimum wall time, the minimum CPU time of this process (all its threads;
    on a machine shared with other jobs the steadier of the two for one
    thread) and the value each method returned in the last repetition.
    """
    best = {name: float("inf") for name in methods}
    cpu = dict(best)
    out = {}
    for _ in range(repeats):
        for name, fn in methods.items():
            c0, t0 = time.process_time(), time.perf_counter()
            out[name] = fn(F, y)
            best[name] = min(best[name], time.perf_counter() - t0)
            cpu[name] = min(cpu[name], time.process_time() - c0)
    return best, cpu, out


def _fmt(x):
    if isinstance(x, str):
        return x
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _markdown(title, env, blocks, methods, ratios, args, note):
    """The environment and one Markdown table per (D, threads) with rows so far."""
    labels = [lab for lab, _, _ in ratios]
    cpu_labels = [f"{lab} (CPU)" for lab in labels]
    first = next((b[0] for b in blocks.values() if b), {})
    check_cols = [k for k in first if k not in
                  {"d", "threads", "n", "cpu", *methods, *labels, *cpu_labels}]
    columns = ["N", *(f"{m} (s)" for m in methods), *labels,
               *(f"{m} CPU (s)" for m in methods), *cpu_labels, *check_cols]
    text = ["Ran on:", ""] + [f"- {line}" for line in env] + [""]
    for (d, t), block in blocks.items():
        if not block:
            continue
        text += [f"### {title}: D = {d}, C = {args.classes}, {t} thread(s)", ""]
        text += [f"Wall time, min over {args.repeats} alternated repetitions "
                 "(ratios in bold), then the process's CPU time (all threads), "
                 f"min likewise; `{' '.join(['python3', *sys.argv])}`", ""]
        text += ["| " + " | ".join(columns) + " |",
                 "|" + "|".join("---" for _ in columns) + "|"]
        for r in block:
            cells = [f"{r['n']:,}".replace(",", " ")]
            cells += [_fmt(r[m]) for m in methods]
            cells += [f"**{r[lab]:.2f}×**" for lab in labels]
            cells += [_fmt(r["cpu"][m]) for m in methods]
            cells += [f"{r[lab]:.2f}×" for lab in cpu_labels]
            cells += [str(r[c]) for c in check_cols]
            text.append("| " + " | ".join(cells) + " |")
        text.append("")
        if note:
            text += [note, ""]
    return "\n".join(text)


def _write(args, out_name, text, quiet=False):
    if args.out == Path("-"):
        return
    path = args.out or RESULTS / out_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if not quiet:
        print(f"written {path}")


def run_sweep(title, methods, ratios, args, *, checks=None, note=None, out_name):
    """Time ``methods`` over the grid, print one table per (D, threads), write it.

    Parameters
    ----------
    title : str
        First line of every table.
    methods : dict of name -> callable(F, y)
        Timed; the order is the order within a repetition and of the columns.
    ratios : list of (label, numerator, denominator)
        Columns ``times[numerator] / times[denominator]``.
    args : argparse.Namespace
        From :func:`add_sweep_arguments`.
    checks : callable(F, y, outputs) -> dict of str, optional
        Extra columns computed once per (N, D) from the methods' outputs of the
        first thread count (e.g. the agreement with a reference).
    note : str, optional
        Printed (and written) under every table.
    out_name : str
        File name under ``benchmarks/results/speed/``.

    Returns
    -------
    rows : list of dict
        One per (D, threads, N): the times, the ratios and the checks.
    """
    env = environment_lines()
    rows = []
    blocks = {(d, t): [] for d in args.d for t in args.threads}
    for d in args.d:
        for n in args.n:
            F, y = make_features(n, d, args.classes)
            extra = None
            for t in args.threads:
                with _Threads(t):
                    times, cpu, outputs = best_times(methods, F, y, args.repeats)
                if extra is None:
                    extra = checks(F, y, outputs) if checks else {}
                row = {"d": d, "threads": t, "n": n, **times, **extra}
                for label, num, den in ratios:
                    row[label] = times[num] / times[den]
                    row[f"{label} (CPU)"] = cpu[num] / cpu[den]
                row["cpu"] = cpu
                rows.append(row)
                blocks[(d, t)].append(row)
                print(f"  D={d} threads={t} N={n}: "
                      + ", ".join(f"{k} {_fmt(v)} s" for k, v in times.items())
                      + "; " + ", ".join(f"{lab} {row[lab]:.2f} (CPU "
                                          f"{row[lab + ' (CPU)']:.2f})"
                                          for lab, _, _ in ratios), flush=True)
            del F, y
            # Written after every size, so an interrupted sweep keeps its rows.
            _write(args, out_name, _markdown(title, env, blocks, methods, ratios,
                                             args, note), quiet=True)
    text = _markdown(title, env, blocks, methods, ratios, args, note)
    print(text)
    _write(args, out_name, text)
    return rows

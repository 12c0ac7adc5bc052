"""Start-up time: ``import skdisco`` and the CLI's help against ``import torch, timm``.

Every measurement is a fresh interpreter (``subprocess``), run from the checkout
being measured so that its ``skdisco/`` is the one imported, with BLAS and OpenMP
threads pinned through the environment. The cases run in rounds, one of each per
round, so a change of machine load touches them all alike; one unrecorded
warm-up round first writes the byte-code caches. The table gives the best and
the median of ``--repeat`` runs and the median's ratio to the baseline
``python3 -c "import torch, timm"`` measured in the same run. ``--before DIR``
also measures another checkout (say the commit before a change, from ``git
archive``) in the same rounds.

Usage::

    python3 benchmarks/bench_startup.py                  # 7 runs a case, ~2 min
    python3 benchmarks/bench_startup.py --repeat 5
    git archive d824d7c | tar -x -C /tmp/before
    python3 benchmarks/bench_startup.py --before /tmp/before
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Start-up a user waits for before any work: this many seconds at most.
TARGET_S = 1.5

BASELINE = "import torch, timm"

#: (label, interpreter arguments, whether TARGET_S applies).
CASES = [
    (BASELINE, ["-c", BASELINE], False),
    ("import skdisco", ["-c", "import skdisco"], True),
    ("python3 -m skdisco --help", ["-m", "skdisco", "--help"], True),
    ("python3 -m skdisco rank --help", ["-m", "skdisco", "rank", "--help"], True),
    ("import skdisco.selection", ["-c", "import skdisco.selection"], False),
    ("import skdisco.features", ["-c", "import skdisco.features"], False),
]


def _env(threads):
    env = dict(os.environ)
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        env[name] = str(threads)
    return env


def _time(argv, cwd, env):
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed in {cwd} ({result.returncode}):\n{result.stderr}"
        )
    return elapsed


def measure(checkouts, repeat, threads):
    """``{(checkout label, case label): [seconds, ...]}`` over ``repeat`` rounds."""
    env = _env(threads)
    runs = [(name, root, case) for name, root in checkouts for case in CASES]
    for _, root, (_, argv, _) in runs:  # warm-up: byte-code caches
        _time(argv, root, env)
    times = {(name, case[0]): [] for name, _, case in runs}
    for _ in range(repeat):
        for name, root, (label, argv, _) in runs:
            times[name, label].append(_time(argv, root, env))
    return times


def table(times, checkouts):
    lines = [
        "| checkout | command | best (s) | median (s) | median / baseline "
        f"| ≤ {TARGET_S} s |",
        "|---|---|---|---|---|---|",
    ]
    for name, _ in checkouts:
        base = statistics.median(times[name, BASELINE])
        for label, _, targeted in CASES:
            ts = times[name, label]
            med = statistics.median(ts)
            verdict = ("yes" if med <= TARGET_S else "**no**") if targeted else ""
            lines.append(
                f"| {name} | `{label}` | {min(ts):.2f} | {med:.2f} | "
                f"{med / base:.2f} | {verdict} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=7, help="runs per case (at least 5)"
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads")
    parser.add_argument(
        "--before", metavar="DIR", help="another checkout, measured in the same rounds"
    )
    args = parser.parse_args(argv)
    if args.repeat < 5:
        parser.error("--repeat must be at least 5 (a median of fewer runs is noise)")
    checkouts = [("this", ROOT)]
    if args.before:
        before = Path(args.before).resolve()
        if not (before / "skdisco" / "__init__.py").is_file():
            parser.error(f"{before} holds no skdisco/ package")
        checkouts.insert(0, ("before", before))
    times = measure(checkouts, args.repeat, args.threads)
    print(
        f"start-up, {args.repeat} fresh interpreters per command, "
        f"{args.threads} BLAS/OpenMP thread(s), Python {sys.version.split()[0]}"
    )
    print(table(times, checkouts))
    return 0


if __name__ == "__main__":
    sys.exit(main())

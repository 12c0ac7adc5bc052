"""Scores and feature extraction on a GPU: throughput against baselines of the same run.

Two measurements, both in this process, written as one Markdown table:

1. **Scorer throughput** (rows/s): LogME of N × D float32 features with C
   classes generated on the GPU (default N = 10⁶, D = 2048, C = 1 000), scored
   with ``device="cuda"`` (float32 passes, TF32 off, float64 totals) and with
   ``device=None`` (the tensor stays on the GPU, float64 passes), against the
   NumPy path on the host on the first ``--host-rows`` rows (its rows/s; the
   host path's cost per row is the Gram's, so its rate barely depends on N).
   The float32 score's relative difference from the float64 one is printed.
   The Gram pass alone (``gram_statistics``) is timed the same three ways.
2. **Extraction** (images/s): ``TimmFeatureExtractor`` with bf16 autocast,
   pinned memory, ``DataLoader`` workers, channels-last and tensors left on
   the GPU, against a bare timm loop (the same model and preprocessing, one
   process, float32, NCHW, pageable memory, features copied to the host).
   The model has random weights (``pretrained=False``); images are random.

Without a CUDA device the script says so and exits 0. ``--device cpu`` runs
the same code on the CPU (``--quick`` sizes) to check it.

``--precision`` measures, on the CPU and without a GPU, the error model of the
float32 passes CUDA runs (torch float32 on the CPU, the same code): the error
of the centred scatter recovered from the shifted float32 Gram, of a plain
float32 Gram for comparison, and of the LogME score, against float64, for
rows whose mean is 3 or 100 times their spread; then the error of every
streaming score (``streaming_scores``) on ReLU features and on offset rows.

Usage::

    python benchmarks/bench_gpu.py                      # the issue's sizes
    python benchmarks/bench_gpu.py --quick --device cpu # seconds, no GPU needed
    python benchmarks/bench_gpu.py --precision          # float32 error model
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "gpu.md"
PRECISION = Path(__file__).resolve().parent / "results" / "gpu_precision.md"


def _timed(run, device, repeats):
    """Best wall time of ``run()`` over ``repeats`` (CUDA synchronised), result."""
    import torch

    best, out = float("inf"), None
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        out = run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - t0)
    return best, out


def scorer_rows(args, device):
    """Rows ``(what, where, rows, seconds, rate, ratio)`` of the scorer section."""
    import torch

    from skdisco.transferability import logme
    from skdisco.transferability._linalg import gram_statistics
    from skdisco.utils import as_feature_source

    gen = torch.Generator(device=device).manual_seed(0)
    n, d, c = args.n, args.d, args.classes
    labels = torch.randint(0, c, (n,), generator=gen, device=device)
    means = torch.randn((c, d), generator=gen, device=device) * 0.5
    X = torch.randn((n, d), generator=gen, device=device)
    X += means[labels]
    X += 3.0  # an offset the float32 passes must not lose to cancellation
    y = labels.cpu().numpy()
    m = min(args.host_rows, n)
    X_host, y_host = X[:m].cpu().numpy(), y[:m]

    fast = as_feature_source(X, device=device)  # float32 passes on CUDA
    exact = as_feature_source(X, device=device, precision="float64")
    rows = []

    def three_ways(what, run):
        """``run`` on the host rows (the baseline), then with both passes."""
        t_np, host = _timed(lambda: run(X_host, y_host), torch.device("cpu"), 1)
        t_32, low = _timed(lambda: run(fast, y), device, args.repeats)
        t_64, high = _timed(lambda: run(exact, y), device, args.repeats)
        base = m / t_np
        rows.append((what, "host NumPy float64", m, t_np, base, 1.0))
        rows.append(
            (
                what,
                f"{device.type} {fast.pass_dtype} passes",
                n,
                t_32,
                n / t_32,
                n / t_32 / base,
            )
        )
        rows.append(
            (what, f"{device.type} float64 passes", n, t_64, n / t_64, n / t_64 / base)
        )
        return host, low, high

    s_np, s_32, s_64 = three_ways("LogME score", logme)
    three_ways("Gram pass", lambda F, labels: gram_statistics(F))
    error = abs(s_32 - s_64) / abs(s_64)
    note = (
        f"LogME {s_64:.6f} (float64 passes), {s_32:.6f} ({fast.pass_dtype} "
        f"passes): relative difference {error:.1e}; host score on {m} rows "
        f"{s_np:.6f}."
    )
    return rows, note


def extraction_rows(args, device):
    """Rows of the extraction section: skdisco's extractor against a bare loop."""
    import numpy as np
    import timm
    import torch
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    from skdisco.features import TimmFeatureExtractor

    rng = np.random.default_rng(0)
    size = args.image_size
    images = rng.integers(0, 256, (args.images, size, size, 3), dtype=np.uint8)

    model = timm.create_model(args.model, pretrained=False, num_classes=0)
    model.eval().to(device)
    transform = create_transform(**resolve_data_config({}, model=model))

    def bare():
        out = []
        with torch.inference_mode():
            for i in range(0, len(images), args.batch_size):
                batch = torch.stack(
                    [
                        transform(Image.fromarray(im))
                        for im in images[i : i + args.batch_size]
                    ]
                )
                out.append(model(batch.to(device)).cpu())
        return torch.cat(out)

    ext = TimmFeatureExtractor(
        args.model,
        pretrained=False,
        random_state=0,
        batch_size=args.batch_size,
        device=str(device),
        precision="bfloat16" if device.type == "cuda" else "float32",
        num_workers=args.workers,
        channels_last=True,
        return_tensors="torch",
    ).fit()
    bare()  # warm-up: cuDNN autotuning, allocator
    ext.transform(images[: args.batch_size])
    t_bare, _ = _timed(bare, device, args.repeats)
    t_ext, F = _timed(lambda: ext.transform(images), device, args.repeats)
    assert F.device.type == device.type and F.shape[0] == len(images)
    base = len(images) / t_bare
    rate = len(images) / t_ext
    what = f"extraction {args.model} {size}px"
    tuned = (
        f"TimmFeatureExtractor ({ext.precision}, channels-last, {args.workers} "
        f"workers{', pinned' if device.type == 'cuda' else ''}, tensors on "
        f"{device.type})"
    )
    return [
        (
            what,
            "bare timm loop (float32, NCHW, one process)",
            len(images),
            t_bare,
            base,
            1.0,
        ),
        (what, tuned, len(images), t_ext, rate, rate / base),
    ]


def _scatter_error(F, G):
    """Relative error of the centred scatter of ``F`` recovered from its Gram ``G``."""
    import numpy as np

    from skdisco.transferability._linalg import centered_gram

    n = F.shape[0]
    s = F.sum(axis=0, dtype=np.float64)
    exact = centered_gram(F, s / n)
    return np.linalg.norm(G - np.outer(s, s) / n - exact) / np.linalg.norm(exact)


def precision_rows(sizes, d, c, offsets):
    """Rows ``(N, D, C, offset, shifted, plain, logme)`` of float32 relative errors."""
    import numpy as np
    import torch

    from skdisco.transferability import logme
    from skdisco.transferability._linalg import gram_statistics
    from skdisco.utils import as_feature_source

    rows = []
    for offset in offsets:
        for n in sizes:
            rng = np.random.default_rng(n)
            y = rng.integers(0, c, n)
            means = rng.standard_normal((c, d)) * 0.5
            F = (offset + rng.standard_normal((n, d)) + means[y]).astype(np.float32)
            f32 = as_feature_source(F, device="cpu", precision="float32")
            F_t = torch.as_tensor(F)
            plain = (F_t.T @ F_t).double().numpy()
            want = logme(F, y)
            got = logme(f32, y)
            rows.append(
                (
                    n,
                    d,
                    c,
                    offset,
                    _scatter_error(F, gram_statistics(f32)[0]),
                    _scatter_error(F, plain),
                    abs(got - want) / abs(want),
                )
            )
    return rows


def _class_rows(n, d, c, *, offset, relu, seed=0):
    """float32 rows with class structure in a 16-d subspace, a decaying noise
    spectrum, then a ReLU (a backbone's pooled features) or an offset."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    centres = rng.standard_normal((c, 16)) @ rng.standard_normal((16, d)) / 80.0
    F = centres[y] + rng.standard_normal((n, d)) / np.sqrt(np.arange(1, d + 1))
    if relu:
        np.maximum(F, 0.0, out=F)
    return (F + offset).astype(np.float32), y


def streaming_scores():
    """``(name, score(features, y))`` of every streaming score the table reads."""
    from functools import partial

    from skdisco import transferability as t

    return (
        ("LogME", t.logme),
        ("H-score", t.hscore),
        ("shrinkage H-score", t.regularized_hscore),
        ("DISCO", t.disco),
        ("DISCO, hard examples 50 %", partial(t.disco, hard_examples=0.5)),
        ("GBC, PCA to 64", partial(t.gbc, n_components=64)),
        ("TransRate", t.transrate),
        ("TransRate (tllib)", partial(t.transrate, variant="tllib")),
        ("SFDA", t.sfda),
        ("NCTI (LDA score)", t.ncti_lda_score),
        ("ETran (LDA, shrunk)", partial(t.etran_lda, covariance="shrunk")),
    )


def score_precision_rows(n, d, c):
    """Rows ``(score, value, error, value, error)``: float32 passes against
    float64 on ReLU features and on rows of mean 100 times their spread."""
    import warnings

    from skdisco.utils import as_feature_source

    data = [
        _class_rows(n, d, c, offset=0.0, relu=True),
        _class_rows(n, d, c, offset=100.0, relu=False),
    ]
    rows = []
    for name, score in streaming_scores():
        row = [name]
        for F, y in data:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = score(F, y)
                got = score(as_feature_source(F, device="cpu", precision="float32"), y)
            row += [want, abs(got - want) / abs(want)]
        rows.append(tuple(row))
    return rows


def score_precision_table(rows):
    """Markdown of :func:`score_precision_rows`."""
    lines = [
        "| score | ReLU features | float32 error | mean 100 × spread | float32 error |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, a, ea, b, eb in rows:
        lines.append(f"| {name} | {a:.4g} | {ea:.1e} | {b:.4g} | {eb:.1e} |")
    return "\n".join(lines)


def precision_table(rows):
    """Markdown of :func:`precision_rows`."""
    lines = [
        "| N | D | C | mean / spread | centred scatter, shifted float32 passes "
        "| centred scatter, plain float32 Gram | LogME, float32 passes |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, d, c, offset, shifted, plain, score in rows:
        lines.append(
            f"| {n:,} | {d} | {c} | {offset:g} | {shifted:.1e} | {plain:.1e} | "
            f"{score:.1e} |"
        )
    return "\n".join(lines)


def table(rows):
    """The Markdown table of ``(what, where, rows, seconds, rate, ratio)``."""
    lines = [
        "| measurement | run | rows or images | seconds | per second | ratio |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for what, where, count, seconds, rate, ratio in rows:
        lines.append(
            f"| {what} | {where} | {count:,} | {seconds:.4g} | {rate:,.0f} | "
            f"{ratio:.2f}× |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--n", type=int, default=1_000_000, help="rows scored")
    parser.add_argument("--d", type=int, default=2048, help="feature width")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument(
        "--host-rows",
        type=int,
        default=50_000,
        help="rows the host NumPy baseline scores",
    )
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"Markdown file to write (default on CUDA: {RESULTS})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, one repeat: a smoke run"
    )
    parser.add_argument(
        "--precision",
        action="store_true",
        help="measure the float32 passes' error model on the CPU (no GPU needed)",
    )
    args = parser.parse_args(argv)
    if args.precision:
        return _precision(args)
    if args.quick:
        args.n, args.d, args.classes, args.host_rows = 6_000, 32, 10, 2_000
        args.model, args.images, args.image_size = "test_resnet", 16, 32
        args.batch_size, args.workers, args.repeats = 8, 0, 1

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench_gpu: found no CUDA device; nothing to measure (exit 0).")
        return 0
    device = torch.device(args.device)
    rows, note = scorer_rows(args, device)
    rows += extraction_rows(args, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    text = (
        f"{table(rows)}\n\n"
        f"Measured on {name}, torch {torch.__version__}; N = {args.n:,}, "
        f"D = {args.d}, C = {args.classes}; best of {args.repeats}. {note}\n"
    )
    print(text)
    out = (
        args.out
        if args.out is not None
        else (RESULTS if device.type == "cuda" else None)
    )
    if out is not None:
        out.write_text(text)
        print(f"written to {out}")
    return 0


def _precision(args):
    import torch

    torch.set_num_threads(1)
    sizes = (2_000, 20_000) if args.quick else (10_000, 100_000, 400_000)
    d, c = (32, 10) if args.quick else (256, 100)
    rows = precision_rows(sizes, d, c, offsets=(3.0, 100.0))
    n, d, c = (3_000, 32, 10) if args.quick else (20_000, 256, 100)
    scores = score_precision_rows(n, d, c)
    text = (
        "Relative error against float64 passes (Frobenius norm for the scatter), "
        f"float32 emulated with torch on the CPU, torch {torch.__version__}.\n\n"
        f"{precision_table(rows)}\n\n"
        "Every streaming score from float32 passes, relative error against its "
        f"float64 value, N = {n:,}, D = {d}, C = {c}: features with class "
        "structure in a 16-dimensional subspace and a decaying noise spectrum, "
        "after a ReLU, and the same without the ReLU plus an offset of 100 "
        "(`score_precision_rows`).\n\n"
        f"{score_precision_table(scores)}\n"
    )
    print(text)
    out = args.out if args.out is not None else (None if args.quick else PRECISION)
    if out is not None:
        out.write_text(text)
        print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

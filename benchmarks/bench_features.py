"""Throughput and peak memory of TimmFeatureExtractor against a bare timm loop.

Each measurement runs in its own subprocess (so ``ru_maxrss`` is the peak resident
memory of that run alone) with the same model, batch size, image count and thread
counts (``torch.set_num_threads`` and BLAS threads fixed through threadpoolctl).
The bare loop is what one writes by hand with timm: preprocess each uint8 image with
timm's eval transform, stack a batch, ``forward_head(forward_features(x),
pre_logits=True)`` under ``torch.inference_mode``. The extractor does the same work
through a ``DataLoader`` (``num_workers=0``). A third run times a cache hit.

Usage::

    python benchmarks/bench_features.py                 # default (~10 min, CPU)
    python benchmarks/bench_features.py --models resnet18 --n-images 512
    python benchmarks/bench_features.py --device cuda   # bf16 autocast on GPU
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _worker(args):
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    rng = np.random.default_rng(0)
    images = rng.integers(
        0, 256, size=(args.n_images, args.size, args.size, 3), dtype=np.uint8
    )
    from skdisco.features import TimmFeatureExtractor

    ext = TimmFeatureExtractor(
        args.model,
        pretrained=False,
        random_state=0,
        batch_size=args.batch_size,
        device=args.device,
        cache=args.cache_dir if args.mode == "cache" else None,
    ).fit()
    if args.mode == "bare":
        model, tf = ext.model_, ext.transform_
        model.to(memory_format=torch.contiguous_format)
        device = torch.device(args.device)
        amp = torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"
        )

        def run():
            from PIL import Image

            out = []
            with torch.inference_mode(), amp:
                for s in range(0, len(images), args.batch_size):
                    x = torch.stack(
                        [
                            tf(Image.fromarray(im))
                            for im in images[s : s + args.batch_size]
                        ]
                    ).to(device)
                    f = model.forward_head(model.forward_features(x), pre_logits=True)
                    out.append(f.float().cpu().numpy())
            return np.concatenate(out)
    else:

        def run():
            return ext.transform(images)

    if args.mode == "cache":
        run()  # fill the cache; the timed runs below are hits
    run()  # warm-up (allocator, oneDNN kernels)
    if args.device == "cuda":
        torch.cuda.synchronize()
    best = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        run()
        if args.device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": best, "peak_mib": peak_kib / 1024}))


def _measure(args, model, mode, cache_dir):
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        mode,
        "--models",
        model,
        "--n-images",
        str(args.n_images),
        "--size",
        str(args.size),
        "--batch-size",
        str(args.batch_size),
        "--threads",
        str(args.threads),
        "--repeats",
        str(args.repeats),
        "--device",
        args.device,
        "--cache-dir",
        cache_dir,
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="resnet18,efficientnet_lite0")
    p.add_argument("--n-images", type=int, default=64)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3,
                   help="alternating bare/ours subprocess rounds (best kept)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--worker", choices=["ours", "bare", "cache"], default=None)
    p.add_argument("--cache-dir", default=None)
    args = p.parse_args(argv)
    if args.worker is not None:
        args.model, args.mode = args.models, args.worker
        _worker(args)
        return
    print(
        f"{args.n_images} synthetic uint8 images {args.size}x{args.size}, batch "
        f"{args.batch_size}, {args.threads} threads, device {args.device}, best of "
        f"{args.repeats} in each of {args.rounds} alternating rounds; throughput "
        "ratio = ours / bare (>= 0.9 required)\n"
    )
    header = (
        f"{'model':<20}{'bare img/s':>11}{'ours img/s':>11}{'ratio':>7}"
        f"{'bare MiB':>10}{'ours MiB':>10}{'hit s':>9}{'hit speed-up':>14}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for model in args.models.split(","):
        with tempfile.TemporaryDirectory() as cache_dir:
            # Alternate bare and ours over rounds, keep each one's best: a change
            # of machine load between two subprocesses cannot fake a ratio.
            runs = {"bare": [], "ours": []}
            for _ in range(args.rounds):
                for mode in runs:
                    runs[mode].append(_measure(args, model, mode, cache_dir))
            bare, ours = (min(runs[m], key=lambda r: r["seconds"]) for m in runs)
            hit = _measure(args, model, "cache", cache_dir)
        n = args.n_images
        ratio = bare["seconds"] / ours["seconds"]
        ok &= ratio >= 0.9
        print(
            f"{model:<20}{n / bare['seconds']:>11.1f}{n / ours['seconds']:>11.1f}"
            f"{ratio:>7.2f}{bare['peak_mib']:>10.0f}{ours['peak_mib']:>10.0f}"
            f"{hit['seconds']:>9.4f}{ours['seconds'] / hit['seconds']:>13.0f}x"
        )
    print("\nratio >= 0.9:", "yes" if ok else "NO")


if __name__ == "__main__":
    main()

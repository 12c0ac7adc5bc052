"""Features and probabilities in one forward pass against two separate passes.

The baseline is what a ranking mixing LogME and LEEP did before
``transform_outputs``: one extractor with ``output="features"`` and a second with
``output="probabilities"``, every image through the model twice. The one-pass
run asks one extractor for both. Same model, images, batch size and threads,
measured in the same process, best of ``--repeats``; the outputs of both runs
are compared.

Usage::

    python benchmarks/bench_one_pass.py                       # resnet18, 512 images
    python benchmarks/bench_one_pass.py --model test_vit --size 32
    python benchmarks/bench_one_pass.py --quick               # seconds
"""

from __future__ import annotations

import argparse
import time


def _best(run, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--n-images", type=int, default=512)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="64 images, one repeat: a smoke run"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n_images, args.repeats = 64, 1

    import numpy as np
    import torch

    from skdisco.features import TimmFeatureExtractor

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.n_images, args.size, args.size, 3), np.uint8)

    def extractor(output):
        return TimmFeatureExtractor(
            args.model,
            pretrained=False,
            random_state=0,
            image_size=args.size,
            batch_size=args.batch_size,
            device="cpu",
            output=output,
        ).fit()

    separate = (extractor("features"), extractor("probabilities"))
    both = extractor("features")
    t_two, (F, P) = _best(
        lambda: tuple(ext.transform(images) for ext in separate), args.repeats
    )
    t_one, out = _best(
        lambda: both.transform_outputs(images, ("features", "probabilities")),
        args.repeats,
    )
    diff = max(
        float(np.abs(out["features"] - F).max()),
        float(np.abs(out["probabilities"] - P).max()),
    )
    print(
        f"{args.model}, {args.n_images} images {args.size}x{args.size}, batch "
        f"{args.batch_size}, {args.threads} thread(s), best of {args.repeats}"
    )
    print(f"{'run':<34}{'seconds':>10}")
    print(f"{'two passes (features, then probs)':<34}{t_two:>10.2f}")
    print(f"{'one pass (transform_outputs)':<34}{t_one:>10.2f}")
    print(f"speed-up {t_two / t_one:.2f}x; largest difference {diff:.2e}")


if __name__ == "__main__":
    main()

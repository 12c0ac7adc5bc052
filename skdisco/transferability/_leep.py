"""LEEP, NCE and NLEEP: transferability from a source model's predictions.

Nguyen, Hassner, Seeger, Archambeau, "LEEP: A New Measure to Evaluate
Transferability of Learned Representations", ICML 2020; Tran, Nguyen, Hassner,
"Transferability and Hardness of Supervised Classification Tasks" (NCE), ICCV 2019;
Li, Jia, Huang, Ishii, Sethi, Hospedales, "Ranking Neural Checkpoints" (NLEEP),
CVPR 2021.

All three build the empirical joint distribution of a source "label" ``z`` (the
source classifier's soft or hard prediction, or a Gaussian-mixture component of the
features for NLEEP) and the target label ``y``, then measure how well ``z``
predicts ``y``.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._validation import (
    as_numpy,
    check_classification_target,
    check_features,
    check_label_values,
)
from ..utils._warnings import SaturatedScoreWarning, user_stacklevel
from ._linalg import check_magnitude, content_order, onehot

#: What needs every sample at once (the out-of-core error says it).
SOURCE_PROBABILITIES_IN_MEMORY = (
    "every row of the source model's probabilities is checked on the simplex "
    "and the score reads them whole; they are N × C_s, far smaller than features"
)

#: What needs every sample at once (the out-of-core error says it).
NLEEP_IN_MEMORY = (
    "its PCA and Gaussian mixture (EM) revisit every sample at every iteration"
)

# Largest deviation of a row sum from 1 accepted for source probabilities (float32
# softmax outputs are off by ~1e-7; logits or scores are off by far more).
_SIMPLEX_ATOL = 1e-3
NLEEP_VARIANTS = ("sfda", "pactran")
NLEEP_SAMPLE_ORDERS = ("content", "given")

#: Constraints of each method's parameters, shared by the function and the
#: estimator.
_LEEP_PARAMETERS = {}
_NCE_PARAMETERS = {"soft": ["boolean"]}
_NLEEP_PARAMETERS = {
    "variant": [StrOptions(set(NLEEP_VARIANTS))],
    "component_ratio": [Interval(Integral, 1, None, closed="left")],
    "pca_variance": [Interval(Real, 0, 1, closed="neither")],
    "random_state": ["random_state"],
    "sample_order": [StrOptions(set(NLEEP_SAMPLE_ORDERS))],
}


def check_source_probabilities(P, *, name="source_probs"):
    """Validate source-model probabilities: 2-D, finite, rows on the simplex.

    Returns a float64 array of shape (n_samples, n_source_classes).
    """
    P = check_features(
        P,
        name=name,
        min_samples=2,
        out_of_core="A score of source probabilities",
        why=SOURCE_PROBABILITIES_IN_MEMORY,
    )
    P = np.asarray(P, dtype=np.float64)
    if np.any(P < 0):
        raise ValueError(
            f"{name} must hold probabilities (non-negative rows that sum to 1); "
            "got negative values. Pass the softmax of the source logits."
        )
    sums = P.sum(axis=1)
    bad = np.abs(sums - 1.0) > _SIMPLEX_ATOL
    if bad.any():
        raise ValueError(
            f"{name} must hold probabilities whose rows sum to 1; {int(bad.sum())} "
            f"rows do not (e.g. row {int(np.flatnonzero(bad)[0])} sums to "
            f"{sums[bad][0]:.6g}). Pass the softmax of the source logits."
        )
    return P


def empirical_joint(P, y, n_classes):
    """Empirical joint ``p(y, z)`` of shape (C_t, C_s) from soft assignments ``P``."""
    return np.asarray(onehot(y, n_classes).T @ P) / P.shape[0]


def conditional_target_given_source(joint):
    """``p(y | z)`` (C_t × C_s); columns of source classes never predicted are 0."""
    pz = joint.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cond = np.where(pz > 0, joint / pz, 0.0)
    return cond


def leep_from_assignments(P, y, n_classes):
    """Mean log expected empirical prediction of encoded ``y`` from soft ``P``."""
    cond = conditional_target_given_source(empirical_joint(P, y, n_classes))
    # eep[n] = Σ_z P[n, z] p(y_n | z), one row of cond per sample.
    eep = np.einsum("nz,nz->n", P, cond[y])
    with np.errstate(divide="ignore"):
        return float(np.mean(np.log(eep)))


def leep_result(P, y, n_classes):
    """LEEP of source probabilities ``P`` and labels encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    return leep_from_assignments(P, y, n_classes)


@validate_params(
    {"source_probs": ["array-like"], "y": ["array-like"], **_LEEP_PARAMETERS},
    prefer_skip_nested_validation=True,
)
def leep(source_probs, y):
    r"""LEEP: log expected empirical prediction of the target from source outputs.

    Parameters
    ----------
    source_probs : array-like of shape (n_samples, n_source_classes)
        The pre-trained classifier's probabilities over its source classes for each
        target sample (softmax outputs; rows sum to 1).
    y : array-like of shape (n_samples,)
        Target class labels (any labels: strings, gaps, offsets).

    Returns
    -------
    score : float
        LEEP, in :math:`(-\infty, 0]`; higher is better. 0 means the source
        prediction determines the target label; :math:`\log(1/C_t)`-like values
        mean it carries no information.

    See Also
    --------
    skdisco.scorers.LEEPScorer : The estimator.
    nleep : LEEP with a Gaussian mixture of the features instead of source outputs.

    Notes
    -----
    With :math:`\theta_n = p(z \mid x_n)` the source probabilities,
    :math:`\hat p(y, z) = \frac1N\sum_{n: y_n = y}\theta_{n z}` and
    :math:`\hat p(y \mid z) = \hat p(y, z) / \hat p(z)`,

    .. math::

        \mathrm{LEEP} = \frac1N\sum_{n=1}^N
        \log \sum_{z} \hat p(y_n \mid z)\,\theta_{n z}.

    Equal to thuml/LogME ``LEEP`` and the Transfer-Learning-Library
    ``log_expected_empirical_prediction``; google-research/pactran_metrics
    ``calculate_leep`` returns the KL form :math:`-\mathrm{LEEP}` (lower is better,
    with 1e-10 smoothing). Cost: O(N·C_s) time, O(C_t·C_s) memory.

    **Deviation from the references**: labels are remapped to ``0 .. C-1`` (the
    references index a ``max(y) + 1``-row joint); a source class no target
    sample puts mass on gets :math:`\hat p(y \mid z) = 0` instead of NaN.

    References
    ----------
    .. [1] C. Nguyen, T. Hassner, M. Seeger, C. Archambeau. "LEEP: A New Measure
       to Evaluate Transferability of Learned Representations". ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.transferability import leep
    >>> probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    >>> round(leep(probs, ["cat", "cat", "dog", "dog"]), 4)
    -0.2955
    """
    P = check_source_probabilities(source_probs)
    y_enc, classes = check_classification_target(y, P.shape[0])
    return leep_result(P, y_enc, classes.shape[0])


def _hard_source_labels(source, n_samples):
    """Encoded hard source labels from 1-D labels or the argmax of probabilities."""
    arr = np.asarray(as_numpy(source))
    if arr.ndim == 1:
        if arr.shape[0] != n_samples:
            raise ValueError(
                f"source has {arr.shape[0]} samples but y has {n_samples}: they "
                "must describe the same samples, one row each."
            )
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError("source labels contain NaN or infinity.")
        if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
            example = arr[np.flatnonzero(arr != np.round(arr))[0]]
            raise ValueError(
                f"source holds real values (e.g. {example:.6g}), not source labels: "
                "NCE needs the source model's hard labels (1-D integers or "
                "strings) or its class probabilities (2-D)."
            )
        check_label_values(arr, name="source")
        _, z = np.unique(arr, return_inverse=True)
        return z.astype(np.int64)
    P = check_source_probabilities(arr, name="source")
    if P.shape[0] != n_samples:
        raise ValueError(
            f"source has {P.shape[0]} samples but y has {n_samples}: they must "
            "describe the same samples, one row each."
        )
    return np.argmax(P, axis=1)


@validate_params(
    {"source": ["array-like"], "y": ["array-like"], **_NCE_PARAMETERS},
    prefer_skip_nested_validation=True,
)
def nce(source, y, *, soft=False):
    r"""NCE: negative conditional entropy of the target given the source label.

    Parameters
    ----------
    source : array-like of shape (n_samples,) or (n_samples, n_source_classes)
        Hard source labels (1-D, any labels), or the source classifier's
        probabilities (2-D, rows sum to 1). With probabilities and ``soft=False``
        the hard label is their argmax (ties: the first maximum), as in the
        references.
    y : array-like of shape (n_samples,)
        Target class labels.
    soft : bool, default=False
        ``False``: the published NCE on hard source labels (thuml/LogME ``NCE``,
        Transfer-Learning-Library ``negative_conditional_entropy``). ``True``:
        the joint is built from the soft probabilities, as pactran_metrics
        ``calculate_nce`` does; needs 2-D ``source``.

    Returns
    -------
    score : float
        :math:`-H(Y \mid Z)` in :math:`[-\log C_t, 0]`; higher is better (0: the
        source label determines the target label).

    Warns
    -----
    SaturatedScoreWarning
        With hard source labels, when every sample has its own source label
        (e.g. one sample per class with distinct predictions): the score is
        then its maximum 0 whatever the source, and cannot rank models.

    See Also
    --------
    skdisco.scorers.NCEScorer : The estimator (on probabilities).
    leep : The soft, per-sample counterpart.

    Notes
    -----
    .. math::

        \mathrm{NCE} = \sum_{y, z} \hat p(y, z) \log \hat p(y \mid z),

    with :math:`\hat p` the empirical joint of target and (hard or soft) source
    labels. Cost: O(N·C_s) time, O(C_t·C_s) memory.

    **Deviation from the references**: labels (target and source) are remapped to
    ``0 .. C-1``; :math:`0 \log 0 = 0` exactly; the soft form omits pactran's 1e-10
    smoothing (relative effect below 1e-8).

    References
    ----------
    .. [1] A. T. Tran, C. V. Nguyen, T. Hassner. "Transferability and Hardness of
       Supervised Classification Tasks". ICCV 2019.

    Examples
    --------
    >>> from skdisco.transferability import nce
    >>> round(nce([0, 0, 1, 1, 1], ["a", "a", "b", "b", "a"]), 4)
    -0.3819
    """
    y_enc, classes = check_classification_target(y, _n_rows(source))
    if soft:
        if np.asarray(as_numpy(source)).ndim != 2:
            raise ValueError(
                "soft=True needs source probabilities of shape (n_samples, "
                "n_source_classes), not hard labels."
            )
        source = check_source_probabilities(source, name="source")
    else:
        source = _hard_source_labels(source, y_enc.shape[0])
    return nce_result(source, y_enc, classes.shape[0], soft=soft)


def nce_result(source, y, n_classes, *, soft=False):
    """NCE of a source and labels ``y`` encoded ``0 .. n_classes - 1``.

    ``source`` is the source model's probabilities (2-D, rows on the simplex;
    with ``soft=False`` their argmax is the hard source label) or hard source
    labels encoded ``0 .. n_source_classes - 1`` (1-D, ``soft=False`` only).
    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    if not soft:
        z = source if source.ndim == 1 else np.argmax(source, axis=1)
        n_sources = int(z.max()) + 1
        if np.unique(z).shape[0] == z.shape[0]:
            warnings.warn(
                "NCE saturates: every sample has its own source label, so each "
                "source label determines its target label and the score is its "
                "maximum 0 whatever the source; it cannot rank models. NCE needs "
                "source labels shared by several samples (e.g. several samples "
                "per class).",
                SaturatedScoreWarning,
                stacklevel=user_stacklevel(),
            )
        source = onehot(z, n_sources).toarray()
    return nce_from_assignments(source, y, n_classes)


def _n_rows(a):
    shape = getattr(a, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) else len(a)


def nce_from_assignments(P, y, n_classes):
    """``Σ p(y,z) log p(y|z)`` for encoded ``y`` and (soft or one-hot) ``P``."""
    joint = empirical_joint(P, y, n_classes)
    cond = conditional_target_given_source(joint)
    mask = joint > 0
    return float(np.sum(joint[mask] * np.log(cond[mask])))


@validate_params(
    {"features": ["array-like"], "y": ["array-like"], **_NLEEP_PARAMETERS},
    prefer_skip_nested_validation=True,
)
def nleep(
    features,
    y,
    *,
    variant="sfda",
    component_ratio=5,
    pca_variance=0.8,
    random_state=0,
    sample_order="content",
):
    r"""NLEEP: LEEP with a Gaussian mixture of the features as the source model.

    The features are reduced by PCA to ``pca_variance`` of their variance, a
    Gaussian mixture is fitted, and its posterior over components plays the role
    of the source classifier's probabilities in LEEP.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target data.
    y : array-like of shape (n_samples,)
        Target class labels.
    variant : {"sfda", "pactran"}, default="sfda"
        ``"sfda"`` (default): ``component_ratio · C`` components and the mean
        expected empirical prediction :math:`\frac1N\sum_n \hat p(y_n \mid x_n)`
        **without the log**, in [0, 1] -- TencentARC/SFDA ``NLEEP``, the version
        behind the published SFDA/NCTI/ETran comparisons. ``"pactran"``:
        ``max(min(C, ⌊0.2N⌋), ⌊0.1N⌋)`` components and the paper's log form
        :math:`\frac1N\sum_n \log \hat p(y_n \mid x_n)` in :math:`(-\infty, 0]`
        (pactran_metrics ``calculate_nleep`` returns its negation, the KL form).
    component_ratio : int, default=5
        Mixture components per class for ``variant="sfda"``.
    pca_variance : float, default=0.8
        Fraction of variance kept by the PCA before the mixture.
    random_state : int, RandomState instance or None, default=0
        Seeds the k-means initialisation of the mixture, which picks its
        first centre at a random row. With ``sample_order="given"``, ``0``
        reproduces the references run after ``np.random.seed(0)`` (they pass
        ``random_state=None``, which draws from numpy's global state).
    sample_order : {"content", "given"}, default="content"
        Order of the rows the PCA and the mixture see. ``"content"``: the
        rows sorted by their content (the norm of the centred row, ties by
        their values), so the mixture's initialisation -- and the score --
        does not depend on the order of the samples. ``"given"``: the rows
        as given, as the references do; the score then changes with the
        order of the samples (k-means starts from different rows).

    Returns
    -------
    score : float
        Higher is better; range as described under ``variant``.

    Raises
    ------
    ValueError
        For features beyond :math:`2^{256}` in magnitude: the mixture's
        covariance floor is absolute (NLEEP is not scale invariant), so they
        cannot be computed in a rescaled basis, and float64 overflows on them.

    Warns
    -----
    SaturatedScoreWarning
        When there are no more samples than mixture components (e.g. one
        sample per class): every sample can have its own component and the
        score saturates at its maximum (1 for ``"sfda"``), so it cannot rank
        models; the number of components is lowered to the number of samples
        (the references raise).

    See Also
    --------
    skdisco.scorers.NLEEPScorer : The estimator.
    leep : The same score on a source classifier's probabilities.

    Notes
    -----
    Cost: a full PCA (O(N·D·min(N, D))) and EM of a full-covariance mixture with
    K components in the reduced dimension k (O(iter·N·K·k²)); results depend on
    the scikit-learn version through PCA and GaussianMixture (parity checked with
    scikit-learn 1.9).

    **Deviation from the references**: labels are remapped to ``0 .. C-1``; too
    few samples for the mixture warns instead of raising; the rows are put in
    content order first (``sample_order="content"``), so that the score is
    invariant to the order of the samples -- ``sample_order="given"`` gives the
    references' values.

    **Not scale invariant.** The Gaussian mixture adds scikit-learn's
    ``reg_covar=1e-6`` to every variance, in the features' units: On the first 600
    rows of scikit-learn's digits, the score moves by 4e-5 at 1e-3× and by 1e-13 at
    100×; on well-separated features scaled by 1e-6 by 75 %. The scorer's
    ``scale_invariant`` tag is False.

    References
    ----------
    .. [1] Y. Li, X. Jia, R. Sang, Y. Zhu, B. Green, L. Wang, B. Gong. "Ranking
       Neural Checkpoints". CVPR 2021.
    .. [2] W. Shao, X. Zhao, Y. Ge, Z. Zhang, L. Yang, X. Wang, Y. Shan, P. Luo.
       "Not All Models Are Equal: Predicting Model Transferability in a
       Self-challenging Fisher Space". ECCV 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import nleep
    >>> X, y = load_iris(return_X_y=True)
    >>> 0.0 <= nleep(X, y) <= 1.0
    True
    """
    F = check_features(features, out_of_core="NLEEP", why=NLEEP_IN_MEMORY)
    y_enc, classes = check_classification_target(y, F.shape[0])
    return nleep_result(
        F,
        y_enc,
        classes.shape[0],
        variant=variant,
        component_ratio=component_ratio,
        pca_variance=pca_variance,
        random_state=random_state,
        sample_order=sample_order,
    )


def nleep_result(
    F,
    y,
    n_classes,
    *,
    variant="sfda",
    component_ratio=5,
    pca_variance=0.8,
    random_state=0,
    sample_order="content",
):
    """NLEEP of features ``F`` and labels ``y`` encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    n = F.shape[0]
    check_magnitude(F, "NLEEP (its mixture's covariance floor is absolute)")
    Fd = np.asarray(F, dtype=np.float64)
    if sample_order == "content":
        order, _ = content_order(Fd, y)
        Fd, y = Fd[order], y[order]
    # fit then transform (not fit_transform), as the references do.
    Z = PCA(n_components=pca_variance).fit(Fd).transform(Fd)
    if variant == "sfda":
        k = component_ratio * n_classes
    else:
        # At least one component (the formula gives 0 below 5 samples).
        k = max(min(n_classes, int(n * 0.2)), int(n * 0.1), 1)
    if k >= n:
        warnings.warn(
            f"NLEEP saturates: it asks for {k} mixture components and there are "
            f"only {n} samples, so every sample can have its own component, "
            "which then predicts its label exactly and the score is its maximum "
            f"whatever the features; it cannot rank models. Using {min(k, n)} "
            "components. Collect more samples (more than component_ratio per "
            "class).",
            SaturatedScoreWarning,
            stacklevel=user_stacklevel(),
        )
        k = n
    gmm = GaussianMixture(n_components=k, random_state=random_state).fit(Z)
    P = gmm.predict_proba(Z)
    if variant == "pactran":
        return leep_from_assignments(P, y, n_classes)
    cond = conditional_target_given_source(empirical_joint(P, y, n_classes))
    return float(np.mean(np.einsum("nz,nz->n", P, cond[y])))


__all__ = ["leep", "nce", "nleep"]

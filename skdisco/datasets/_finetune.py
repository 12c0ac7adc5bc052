"""Published fine-tuning accuracies: the ground truth rankings are judged against."""

from __future__ import annotations

from importlib import resources

import pandas as pd
from sklearn.utils._param_validation import StrOptions, validate_params

_FILES = {
    "supervised": "finetune_accuracy_supervised.csv",
    "self-supervised": "finetune_accuracy_selfsupervised.csv",
}


@validate_params(
    {"kind": [StrOptions(set(_FILES))]}, prefer_skip_nested_validation=True
)
def load_finetune_benchmark(kind="supervised"):
    """Published fine-tuning accuracy of ImageNet models on 11 target datasets.

    The ground truth of the SFDA / NCTI / ETran model-selection benchmark:
    the test accuracy reached by fully fine-tuning each pre-trained model on each
    target dataset. A transferability score is judged by how well its ranking of
    the models agrees with a row of this table, usually through the weighted
    Kendall τ (:func:`skdisco.selection.weighted_kendall_tau`).

    Parameters
    ----------
    kind : {"supervised", "self-supervised"}, default="supervised"
        ``"supervised"``: 11 ImageNet-supervised torchvision models (ResNet-34/
        50/101/152, DenseNet-121/169/201, MNASNet-1.0, MobileNet-V2, GoogLeNet,
        Inception-V3). ``"self-supervised"``: 12 self-supervised ResNet-50s
        (BYOL, DeepCluster-v2, InfoMin, InsDis, MoCo-v1/v2, PCL-v1/v2, SeLa-v2,
        SimCLR-v1/v2, SwAV).

    Returns
    -------
    accuracy : pandas.DataFrame of shape (11, n_models)
        Index ``dataset`` (Aircraft, Caltech101, Cars, CIFAR10, CIFAR100, DTD,
        Flowers, Food, Pets, SUN397, VOC2007); one column per model; values in
        percent.

    Notes
    -----
    Accuracy is top-1 accuracy, except mean per-class accuracy for Aircraft,
    Caltech-101, Flowers and Pets and 11-point mAP for VOC2007. Protocol, as
    published: 224-pixel inputs, SGD with Nesterov momentum, cosine schedule,
    5 000 steps with batch size 64, learning rate and weight decay chosen on a
    validation split. The numbers are those published with SFDA [1]_ and reused
    unchanged by NCTI [2]_ and ETran [3]_. The published average weighted
    Kendall τ on the supervised table (from [1]_) is LEEP 0.410, LogME 0.509,
    NLEEP 0.611, PARC 0.467, SFDA 0.710.

    References
    ----------
    .. [1] W. Shao, X. Zhao, Y. Ge, Z. Zhang, L. Yang, X. Wang, Y. Shan, P. Luo.
       "Not All Models Are Equal: Predicting Model Transferability in a
       Self-challenging Fisher Space". ECCV 2022.
    .. [2] Z. Wang, Y. Luo, L. Zheng, Z. Huang, M. Baktashmotlagh. "How Far
       Pre-trained Models Are from Neural Collapse on the Target Dataset Informs
       their Transferability". ICCV 2023.
    .. [3] M. Gholami, M. Akbari, X. Wang, B. Kamranian, Y. Zhang. "ETran: Energy-
       Based Transferability Estimation". ICCV 2023.

    Examples
    --------
    >>> from skdisco.datasets import load_finetune_benchmark
    >>> acc = load_finetune_benchmark()
    >>> acc.shape
    (11, 11)
    >>> acc.loc["CIFAR10"].idxmax()
    'resnet152'
    >>> load_finetune_benchmark("self-supervised").shape
    (11, 12)
    """
    source = resources.files("skdisco.datasets").joinpath("data", _FILES[kind])
    with source.open("r", encoding="utf-8") as f:
        table = pd.read_csv(f, index_col="dataset")
    return table.astype("float64")


_HUB_FILE = "torchvision_imagenet_v1.csv"


def load_finetune_controls():
    """Data-free controls for the published 11-model hub, per target dataset.

    A transferability score is evidence only if it ranks the models of
    :func:`load_finetune_benchmark` (``"supervised"``) better than a ranking
    that looks at no target data. Three such rankings (higher is predicted
    better): the ImageNet top-1 accuracy of each checkpoint, its parameter
    count ("bigger models first"), and, for each target dataset, the mean
    fine-tuning accuracy of the model on the *other* ten datasets (what the
    published table says about the model elsewhere).

    Returns
    -------
    controls : pandas.DataFrame
        Index (``dataset``, ``model``), 11 x 11 rows; columns
        ``imagenet_top1`` (percent), ``n_params`` and ``mean_other_datasets``
        (percent). ``controls.loc[dataset]`` is a table of models by controls,
        what :func:`skdisco.selection.evaluate_ranking` takes as
        ``controls``.

    See Also
    --------
    load_finetune_benchmark : The fine-tuning accuracies the controls rank.
    skdisco.selection.evaluate_ranking : Evaluates scores and controls together.

    Notes
    -----
    ImageNet top-1 and parameter count are those torchvision 0.29.1 documents
    for the ``IMAGENET1K_V1`` weights of each model
    (``torchvision.models.get_model_weights(name).IMAGENET1K_V1.meta``; the
    table of classification weights of the torchvision model documentation
    [1]_), shipped as data (no torchvision at run time). V1 is the checkpoint
    set the fine-tuning table was measured on: LogME [2]_ and SFDA fine-tune
    the torchvision ImageNet models and both appeared before the V2 weights
    were released (torchvision 0.13, June 2022). The leave-one-dataset-out mean
    is over the other datasets' numbers as published (different measures on
    four datasets, see :func:`load_finetune_benchmark`); only the order of the
    models matters to the rank correlations it is used with.

    References
    ----------
    .. [1] TorchVision maintainers. "Models and pre-trained weights".
       https://docs.pytorch.org/vision/stable/models.html
    .. [2] K. You, Y. Liu, J. Wang, M. Long. "LogME: Practical Assessment of
       Pre-trained Models for Transfer Learning". ICML 2021.

    Examples
    --------
    >>> from skdisco.datasets import load_finetune_benchmark, load_finetune_controls
    >>> from skdisco.selection import evaluate_ranking
    >>> controls = load_finetune_controls()
    >>> controls.loc[("CIFAR10", "resnet50"), "imagenet_top1"]
    np.float64(76.13)
    >>> acc = load_finetune_benchmark()
    >>> ranking = controls.loc["Cars"][["n_params"]].rename(columns={"n_params": "s"})
    >>> result = evaluate_ranking(ranking, acc, dataset="Cars", scorers="s",
    ...                           controls=controls.loc["Cars"], k=1)
    >>> result["kind"].tolist()
    ['score', 'control', 'control', 'control']
    """
    source = resources.files("skdisco.datasets").joinpath("data", _HUB_FILE)
    with source.open("r", encoding="utf-8") as f:
        hub = pd.read_csv(f, comment="#", index_col="model").astype("float64")
    accuracy = load_finetune_benchmark("supervised")
    n_datasets = accuracy.shape[0]
    other_mean = (accuracy.sum(axis=0) - accuracy) / (n_datasets - 1)
    rows = []
    for dataset in accuracy.index:
        block = hub.loc[accuracy.columns].copy()
        block["mean_other_datasets"] = other_mean.loc[dataset]
        block.insert(0, "dataset", dataset)
        rows.append(block.rename_axis("model").reset_index())
    table = pd.concat(rows, ignore_index=True).set_index(["dataset", "model"])
    return table

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

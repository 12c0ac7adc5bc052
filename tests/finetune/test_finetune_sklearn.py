"""The scikit-learn API checks that apply to image estimators.

``check_estimator`` skips estimators whose tags say ``two_d_array=False`` (these
take images), so the API checks that need no tabular data run here one by one.
The excluded ones feed 2-D float arrays to ``fit`` (``check_fit_score_takes_y``,
``check_estimators_overwrite_params``, ``check_dont_overwrite_parameters``,
``check_estimators_fit_returns_self``, ``check_readonly_memmap_input``,
``check_n_features_in_after_fitting``, ``check_positive_only_tag_during_fit``);
their properties (fit returns self, parameters unchanged by fit) are checked on
images below.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks as ec

from skdisco.finetune import FineTuneClassifier, FineTuneRegressor

API_CHECKS = [
    ec.check_estimator_cloneable,
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
    ec.check_estimator_repr,
    ec.check_no_attributes_set_in_init,
    ec.check_estimators_unfitted,
    ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_mixin_order,
    ec.check_get_params_invariance,
    ec.check_set_params,
]


@pytest.mark.parametrize("Estimator", [FineTuneClassifier, FineTuneRegressor])
@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_api_checks(Estimator, check):
    check(Estimator.__name__, Estimator("test_resnet", pretrained=False))


@pytest.mark.parametrize("Estimator", [FineTuneClassifier, FineTuneRegressor])
def test_fit_returns_self_and_keeps_parameters(Estimator):
    X = np.random.default_rng(0).integers(0, 256, (8, 16, 16), dtype=np.uint8)
    y = np.arange(8) % 2
    est = Estimator(
        "test_resnet", pretrained=False, image_size=16, max_epochs=1, random_state=0
    )
    params = clone(est).get_params()
    assert est.fit(X, y) is est
    assert est.get_params() == params
    tags = est.__sklearn_tags__()
    assert not tags.input_tags.two_d_array and tags.target_tags.required

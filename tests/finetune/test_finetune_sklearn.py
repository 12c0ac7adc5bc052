"""The scikit-learn contract of the fine-tuners, checked on images.

``check_estimator`` skips estimators whose tags say ``two_d_array=False`` (these
take images); tests/test_common.py runs on them the API checks that need no
tabular data. The checks it cannot run feed 2-D float arrays to ``fit``; their
properties (fit returns self, parameters unchanged by fit) are checked on
images below.
"""

import numpy as np
import pytest
from sklearn.base import clone

from skdisco.finetune import FineTuneClassifier, FineTuneRegressor


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

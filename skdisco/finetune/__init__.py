"""Fine-tuning as scikit-learn estimators: the ground truth of transferability.

:class:`FineTuneClassifier` and :class:`FineTuneRegressor` fine-tune a timm or
torch backbone with a new linear head, under an explicit inductive bias towards
the pre-trained weights (L2, L2-SP, L2-SP-Fisher, group-lasso-SP; Li, Grandvalet
& Davoine, ICML 2018), and record a per-epoch history (losses, gradient norm,
distance from the pre-trained weights per block). The penalty functions are
exposed for analysis and tests.
"""

from ._base import TrainingStep
from ._estimators import FineTuneClassifier, FineTuneRegressor
from ._penalties import (
    REGULARIZATIONS,
    ExplicitPenalty,
    block_distances,
    block_name,
    block_norms,
    diagonal_fisher,
    fisher_l2_sp_penalty,
    group_lasso_sp_penalty,
    l2_penalty,
    l2_sp_penalty,
    layer_name,
    parameter_groups,
)

__all__ = [
    "REGULARIZATIONS",
    "ExplicitPenalty",
    "FineTuneClassifier",
    "FineTuneRegressor",
    "TrainingStep",
    "block_distances",
    "block_name",
    "block_norms",
    "diagonal_fisher",
    "fisher_l2_sp_penalty",
    "group_lasso_sp_penalty",
    "l2_penalty",
    "l2_sp_penalty",
    "layer_name",
    "parameter_groups",
]

"""Data for skdisco: the published fine-tuning ground truth, readers, the demo.

:func:`load_finetune_benchmark` gives the published fine-tuning accuracies
rankings are judged against, :func:`load_finetune_controls` the data-free
rankings a score must beat there; :func:`load_features`, :func:`load_labels` and
:func:`load_images` read the files the command line takes; and
:func:`load_digit_images` with :data:`DEMO_MODELS` are ``skdisco demo``'s data
and candidates.
"""

from ._demo import DEMO_MODELS, load_digit_images
from ._files import load_features, load_images, load_labels
from ._finetune import load_finetune_benchmark, load_finetune_controls

__all__ = [
    "DEMO_MODELS",
    "load_digit_images",
    "load_features",
    "load_finetune_benchmark",
    "load_finetune_controls",
    "load_images",
    "load_labels",
]

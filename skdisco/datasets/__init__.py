"""Data that ships with skdisco: the published fine-tuning ground truth."""

from ._finetune import load_finetune_benchmark

__all__ = ["load_finetune_benchmark"]

"""Scoring colorizers: metric definitions, the evaluation of a model, and its report.

metrics.py    PSNR, SSIM, L1/L2, FID, KID under one written-down protocol
evaluate.py   a model (run, export or SavedModel) scored on a pair split, next to baselines
report.py     report.json, report.md and samples.png
"""

from sketch2color.evaluation.evaluate import EvaluationError, LoadedModel, evaluate_model, load_model

# Not the function evaluate.evaluate here: it would hide the submodule of the same name.
__all__ = ["EvaluationError", "LoadedModel", "evaluate_model", "load_model"]

"""Pair data: files on disk -> model inputs.

    files.py         find, split, check and read pair files (numpy + Pillow, no TensorFlow)
    pixels.py        uint8 0..255 <-> [-1, 1], the one conversion between the two value ranges
    sketch.py        line art from color art: XDoG, Canny, gray (numpy + OpenCV)
    conditioning.py  the generator input: base image + palette planes + color hints
    pipeline.py      the tf.data pipeline: decode, resize, cache, augment, condition, batch
    synthetic/       the procedural anime pairs of the embedded default dataset
    embedded.py      that dataset written once into the cache folder

The common names are importable from here (``from sketch2color.data import load_datasets``).
They load on first use, so ``import sketch2color.data.files`` (the data scripts) does not
import TensorFlow.
"""

from __future__ import annotations

import importlib

# name -> the submodule that defines it
_EXPORTS = {
    **dict.fromkeys(
        (
            "IMAGE_EXTENSIONS",
            "BadFile",
            "DatasetError",
            "check_image_file",
            "check_pair_file",
            "find_pair_files",
            "iter_files",
            "list_images",
            "read_image_rgb",
            "read_image_rgba",
            "read_pair",
            "scan_pair_files",
            "split_of",
        ),
        "files",
    ),
    **dict.fromkeys(("to_255", "to_uint8", "to_unit_range"), "pixels"),
    **dict.fromkeys(
        (
            "PairSplits",
            "augment_pair",
            "conditioning_spec",
            "decode_rgb",
            "load_datasets",
            "load_pair",
            "make_dataset",
            "model_input_channels",
            "resize_uint8",
            "resolve_data_root",
            "split_halves",
        ),
        "pipeline",
    ),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Load the submodule defining ``name`` on first access (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

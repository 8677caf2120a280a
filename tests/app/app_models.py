"""Small exported colorizers of each kind the app handles: plain sketch, hints, palette."""

from __future__ import annotations

from pathlib import Path

import keras

from sketch2color.data.conditioning import ConditioningSpec, input_channels
from sketch2color.export import export_generator
from sketch2color.models.unet import unet_generator

MODEL_SIZE = 32  # the training size of the test models: 32 px, so a 200 px sketch is upscaled
KINDS = {
    "pix2pix": ConditioningSpec(),
    "hints": ConditioningSpec(hints=True),
    "palette": ConditioningSpec(palette=True, n_colors=9),
}


def export_models(root: Path) -> dict[str, Path]:
    """{kind: export folder} of random-weight U-Nets (the app's behaviour does not need training)."""
    folders = {}
    for kind, spec in KINDS.items():
        keras.utils.set_random_seed(0)
        generator = unet_generator(image_size=MODEL_SIZE, base_filters=8, input_channels=input_channels(spec))
        folders[kind] = export_generator(generator, root / kind, MODEL_SIZE, spec)
    return folders

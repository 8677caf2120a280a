"""The exported model: build it from a generator or a run, save it, load it, colorize with it.

    colorizer.py   the Colorizer module (uint8 in/out, any size), export and load
    inference.py   colorize files and arrays with a loaded export

``python -m sketch2color.export RUN_DIR [OUT_DIR]`` re-exports a run (see ``__main__``).
"""

from sketch2color.export.colorizer import (
    KERAS_FILE,
    SAVED_MODEL_DIR,
    Colorizer,
    ExportError,
    export_generator,
    export_run,
    load_colorizer,
    saved_model_path,
)
from sketch2color.export.inference import colorize_array, palette_from_args, sketch_from_file

__all__ = [
    "KERAS_FILE",
    "SAVED_MODEL_DIR",
    "Colorizer",
    "ExportError",
    "colorize_array",
    "export_generator",
    "export_run",
    "load_colorizer",
    "palette_from_args",
    "saved_model_path",
    "sketch_from_file",
]

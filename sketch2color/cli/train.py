"""Train a sketch colorizer: ``python -m sketch2color.train [--data FOLDER] [options]``.

With no ``--data`` it trains on the embedded procedural dataset with a small profile that
finishes in minutes on a laptop CPU. With ``--data`` (the Kaggle "Anime Sketch Colorization
Pair" folder as downloaded, or any folder of pair images) the pix2pix paper defaults apply.
Rerunning the same command resumes the run in ``--run-dir``; Ctrl-C saves a checkpoint first.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import signal
import sys
from pathlib import Path

from sketch2color.cli.arguments import bounded
from sketch2color.cli.errors import storage_problem
from sketch2color.config import (
    BOUNDS,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from sketch2color.data.files import DatasetError
from sketch2color.models import DISCRIMINATORS, GENERATORS
from sketch2color.models.pretrained import PretrainedWeightsUnavailable
from sketch2color.presets import PRESETS
from sketch2color.runs import CheckpointError, RunConfigError
from sketch2color.training import train
from sketch2color.training.callbacks import NonFiniteLossError

# Small profile for the embedded dataset: ~10 minutes on 2 CPU cores, colors visibly learned.
# Half-width networks (32 base filters) at 128 px buy ~4x more steps than the paper's widths.
EMBEDDED_PROFILE = {
    ("data", "image_size"): 128,
    ("data", "batch_size"): 4,
    ("data", "embedded_train"): 800,
    ("data", "embedded_val"): 80,
    ("model", "generator_kwargs"): {"base_filters": 32},
    ("model", "discriminator_kwargs"): {"base_filters": 32},
    ("train", "epochs"): 10,
    ("train", "steps_per_epoch"): 150,
    ("train", "checkpoint_every_steps"): 50,
}
# The paper's setup for real data (Isola et al. and the pix2pix anime study): 256 px, batch 1.
PAPER_PROFILE = {
    ("data", "image_size"): 256,
    ("data", "batch_size"): 1,
    ("train", "epochs"): 150,
}

SECTIONS = (("data", DataConfig, "data"), ("model", ModelConfig, "model"), ("train", TrainConfig, "training"))


def config_options() -> dict[str, tuple[str, dataclasses.Field]]:
    """Every setting that has a flag: argparse dest (the field name) -> (section, field)."""
    options = {}
    for section, cls, _ in SECTIONS:
        for field in dataclasses.fields(cls):
            if "flag" in field.metadata:
                if field.name in options:
                    raise ValueError(
                        f"two settings named {field.name!r} have flags: give one a distinct name"
                    )
                options[field.name] = (section, field)
    return options


# CLI dest -> (section, field). Every flag defaults to None so we know which ones were given.
FLAGS = {dest: (section, field.name) for dest, (section, field) in config_options().items()}


def _value_type(field: dataclasses.Field):
    """The argparse type of a setting: int, float or str from its annotation, bounds checked at parse time."""
    annotation = str(field.type).split(" | ")
    kind = next((kind for name, kind in (("int", int), ("float", float)) if name in annotation), str)
    if kind is str:
        return str
    return bounded(kind, **{key: field.metadata[key] for key in BOUNDS if key in field.metadata})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sketch2color.train",
        description=__doc__.split("\n\n")[0],
        epilog="Defaults in parentheses; 'embedded' is the small profile used without --data.",
    )
    groups = {section: parser.add_argument_group(title) for section, _, title in SECTIONS}
    for dest, (section, field) in config_options().items():
        settings = {key: value for key, value in field.metadata.items() if key not in BOUNDS}
        flag = settings.pop("flag")
        if "const" in settings:  # a switch: --skip-bad sets True, --no-export sets False
            settings["action"] = "store_const"
        elif "action" not in settings:  # an action (--sync-bn/--no-sync-bn) takes no value
            settings.setdefault("type", _value_type(field))
            settings.setdefault(
                "metavar", flag.lstrip("-").replace("-", "_").upper()
            )  # --lr LR, as argparse names it
        groups[section].add_argument(flag, dest=dest, **settings)
    groups["model"].add_argument(
        "--preset",
        help=f"a documented setup: {', '.join(PRESETS)} (default pix2pix); flags still override it",
    )
    parser.add_argument(
        "--run-dir",
        help="run directory; rerunning with the same one resumes "
        "(default runs/pix2pix-embedded, or runs/pix2pix-<data folder name>)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> tuple[RunConfig, set[tuple[str, str]]]:
    """The run config (profile defaults, then the flags given) and the set of flags given."""
    config = RunConfig(data=DataConfig(), model=ModelConfig(), train=TrainConfig())
    # Real data: paper profile, then the preset's own setup. Embedded data: the preset, then
    # the small CPU profile (size, batch, steps) so every preset finishes in minutes; network
    # settings the preset chose itself (unet-l1's quarter width) stay, the profile's fill the rest.
    preset = PRESETS[args.preset or "pix2pix"]
    layers = [PAPER_PROFILE, preset] if args.data_dir else [preset, EMBEDDED_PROFILE]
    for layer in layers:
        for (section, key), value in layer.items():
            if layer is EMBEDDED_PROFILE and isinstance(value, dict):
                value = {**value, **preset.get((section, key), {})}
            setattr(getattr(config, section), key, copy.deepcopy(value))
    config.preset = args.preset or "pix2pix"
    explicit = set()
    for flag, (section, key) in FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            setattr(getattr(config, section), key, value)
            explicit.add((section, key))
    config.run_dir = args.run_dir or default_run_dir(config)
    return config, explicit


def default_run_dir(config: RunConfig) -> str:
    """runs/<preset>-<dataset name>: the same command always finds (and resumes) the same run."""
    name = Path(config.data.data_dir).expanduser().resolve().name if config.data.data_dir else "embedded"
    return str(Path("runs") / f"{config.preset}-{name}")


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.preset and args.preset not in PRESETS:
        parser.error(
            f"argument --preset: unknown preset {args.preset!r}; valid presets: {', '.join(PRESETS)}"
        )
    config, explicit = config_from_args(args)
    for kind, name, registry in (
        ("generator", config.model.generator, GENERATORS),
        ("discriminator", config.model.discriminator, {**DISCRIMINATORS, "none": None}),
    ):
        if name not in registry:
            valid = ", ".join(sorted(registry))
            print(f"error: --{kind}: unknown {kind} {name!r}; valid names: {valid}", file=sys.stderr)
            return 2
    # `kill` (SIGTERM) gets the same treatment as Ctrl-C: checkpoint, then stop.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        result = train(config, explicit)
    except (
        DatasetError,
        RunConfigError,
        ConfigError,
        CheckpointError,
        PretrainedWeightsUnavailable,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except NonFiniteLossError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        problem = storage_problem(error)
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(f"run directory: {result.run_dir} (epoch {result.epochs_done}, step {result.step})")
    if result.export_dir:
        print(f"exported model: {result.export_dir}")
        print(
            "colorize: python -m sketch2color.colorize SKETCH.png "
            f"--model {result.export_dir} --out colorized/"
        )
    return 0

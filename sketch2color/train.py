"""Train a sketch colorizer: ``python -m sketch2color.train [--data FOLDER] [options]``.

With no ``--data`` it trains on the embedded procedural dataset with a small profile that
finishes in minutes on a laptop CPU. With ``--data`` (the Kaggle "Anime Sketch Colorization
Pair" folder as downloaded, or any folder of pair images) the pix2pix paper defaults apply.
Rerunning the same command resumes the run in ``--run-dir``; Ctrl-C saves a checkpoint first.
"""

from __future__ import annotations

import argparse
import copy
import signal
import sys
from pathlib import Path

from sketch2color.config import ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig
from sketch2color.presets import PRESETS

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

# CLI flag -> (section, field). Every flag defaults to None so we know which ones were given.
FLAGS = {
    "data": ("data", "data_dir"),
    "image_size": ("data", "image_size"),
    "batch_size": ("data", "batch_size"),
    "seed": ("data", "seed"),
    "sketch_side": ("data", "sketch_side"),
    "val_fraction": ("data", "val_fraction"),
    "cache": ("data", "cache"),
    "skip_bad": ("data", "skip_bad"),
    "flip_prob": ("data", "flip_prob"),
    "jitter": ("data", "jitter"),
    "affine_prob": ("data", "affine_prob"),
    "rotation": ("data", "rotation"),
    "shear": ("data", "shear"),
    "zoom": ("data", "zoom"),
    "shift": ("data", "shift"),
    "sketch_noise_prob": ("data", "sketch_noise_prob"),
    "color_jitter_prob": ("data", "color_jitter_prob"),
    "embedded_train": ("data", "embedded_train"),
    "input_mode": ("data", "input_mode"),
    "palette": ("data", "palette"),
    "hints": ("data", "hints"),
    "embedded_val": ("data", "embedded_val"),
    "generator": ("model", "generator"),
    "discriminator": ("model", "discriminator"),
    "epochs": ("train", "epochs"),
    "steps_per_epoch": ("train", "steps_per_epoch"),
    "lr": ("train", "learning_rate"),
    "beta1": ("train", "beta_1"),
    "lr_decay_epochs": ("train", "lr_decay_epochs"),
    "l1_weight": ("train", "l1_weight"),
    "l2_weight": ("train", "l2_weight"),
    "feature_weight": ("train", "feature_weight"),
    "tv_weight": ("train", "tv_weight"),
    "vgg_weights": ("train", "vgg_weights"),
    "bn_recalibration_batches": ("train", "bn_recalibration_batches"),
    "metrics_images": ("train", "metrics_images"),
    "fid_every": ("train", "fid_every"),
    "inception_weights": ("train", "inception_weights"),
    "gan_loss": ("train", "adversarial_loss"),
    "mixed_precision": ("train", "mixed_precision"),
    "checkpoint_every": ("train", "checkpoint_every_steps"),
    "keep_checkpoints": ("train", "keep_checkpoints"),
    "preview_samples": ("train", "preview_samples"),
    "validation_steps": ("train", "validation_steps"),
    "export": ("train", "export"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sketch2color.train",
        description=__doc__.split("\n\n")[0],
        epilog="Defaults in parentheses; 'embedded' is the small profile used without --data.",
    )
    add = parser.add_argument
    data = parser.add_argument_group("data")
    data.add_argument("--data", metavar="FOLDER", help="dataset folder (Kaggle train/ + val/ layout, nested one level, or a flat folder of pair images); default: the embedded procedural dataset")
    data.add_argument("--image-size", type=int, help="training resolution in pixels (embedded: 128, with --data: 256)")
    data.add_argument("--batch-size", type=int, help="images per step (embedded: 4, with --data: 1)")
    data.add_argument("--seed", type=int, help="seed for shuffling, augmentation and weights (default 0)")
    data.add_argument("--sketch-side", choices=["left", "right"], help="which half of a pair file is the sketch (default right)")
    data.add_argument("--val-fraction", type=float, help="validation share of a flat folder (default 0.1)")
    data.add_argument("--cache", help="'memory' (default), 'none', or a folder for an on-disk cache of decoded pairs")
    data.add_argument("--skip-bad", action="store_const", const=True, help="skip unreadable or non-2:1 files (and list them) instead of stopping")
    data.add_argument("--flip-prob", type=float, help="horizontal flip probability (default 0.5)")
    data.add_argument("--no-jitter", dest="jitter", action="store_const", const=False, help="turn off the 286->256 random-crop jitter")
    data.add_argument("--affine-prob", type=float, help="probability of a random rotation/shear/zoom/shift (default 0)")
    data.add_argument("--rotation", type=float, help="max rotation in degrees for --affine-prob")
    data.add_argument("--shear", type=float, help="max shear in degrees for --affine-prob")
    data.add_argument("--zoom", type=float, help="max zoom fraction for --affine-prob")
    data.add_argument("--shift", type=float, help="max shift fraction for --affine-prob")
    data.add_argument("--sketch-noise-prob", type=float, help="probability of Gaussian noise on the sketch (default 0)")
    data.add_argument("--color-jitter-prob", type=float, help="probability of color jitter on the target (default 0)")
    data.add_argument("--embedded-train", type=int, help="pairs in the embedded training set (default 800)")
    data.add_argument("--embedded-val", type=int, help="pairs in the embedded validation set (default 80)")
    data.add_argument("--input-mode", choices=["sketch", "edges", "gray"], help="model input: the dataset's sketch (default), Canny edges or grayscale of the color image")
    data.add_argument("--palette", action="store_const", const=True, help="condition on a 9-color K-means palette of a reference (the target in training): +27 input planes")
    data.add_argument("--hints", action="store_const", const=True, help="condition on sparse color hints sampled from the target: +4 input planes")
    model = parser.add_argument_group("model")
    model.add_argument("--generator", help="generator name from the registry (default unet)")
    model.add_argument("--discriminator", help="discriminator name from the registry, or 'none' for no adversary (default patchgan)")
    model.add_argument("--preset", help=f"a documented setup: {', '.join(PRESETS)} (default pix2pix); flags still override it")
    train = parser.add_argument_group("training")
    train.add_argument("--epochs", type=int, help="epochs to train in total (embedded: 10, with --data: 150)")
    train.add_argument("--steps-per-epoch", type=int, help="steps per epoch (embedded: 150; with --data: one pass over the pairs)")
    train.add_argument("--lr", type=float, help="Adam learning rate for both networks (default 2e-4)")
    train.add_argument("--beta1", type=float, help="Adam beta_1 (default 0.5)")
    train.add_argument("--lr-decay-epochs", type=int, help="decay the learning rate linearly to 0 over the last N epochs (default 0: constant)")
    train.add_argument("--l1-weight", type=float, help="weight of the L1 term in the generator loss (default 100)")
    train.add_argument("--l2-weight", type=float, help="weight of an L2 term (default 0; convnet-l2: 1)")
    train.add_argument("--feature-weight", type=float, help="weight of the VGG16 feature loss (default 0; sgru, reference: 1e-4)")
    train.add_argument("--tv-weight", type=float, help="weight of the total-variation loss (default 0; reference: 1e-2)")
    train.add_argument("--vgg-weights", help="VGG16 weights for the feature loss: 'imagenet' (Keras cache, default), a local .h5 file, or 'random'")
    train.add_argument("--bn-recalibration-batches", type=int, help="training batches that recompute batch-norm statistics before each validation, preview and checkpoint (default 20; 0: off)")
    train.add_argument("--metrics-images", type=int, help="validation images scored for PSNR/SSIM/L1 each epoch (default 64; 0: off)")
    train.add_argument("--fid-every", type=int, help="FID/KID on the validation images every N epochs (default 5; 0: never); needs the Inception weights")
    train.add_argument("--inception-weights", help="InceptionV3 weights for FID/KID: 'imagenet' (Keras cache, default), a local .h5 file, or 'random'")
    train.add_argument("--gan-loss", choices=["vanilla", "lsgan", "hinge"], help="adversarial loss (default vanilla: BCE from logits)")
    train.add_argument("--mixed-precision", action="store_const", const=True, help="compute in bfloat16 (faster on CPUs with AMX and on recent GPUs); losses stay float32")
    train.add_argument("--checkpoint-every", type=int, help="also checkpoint every N steps (default 500; 0: only at epoch ends)")
    train.add_argument("--keep-checkpoints", type=int, help="checkpoints kept (default 3)")
    train.add_argument("--preview-samples", type=int, help="validation sketches in each epoch's preview (default 4)")
    train.add_argument("--validation-steps", type=int, help="validation batches per epoch (default: all)")
    train.add_argument("--no-export", dest="export", action="store_const", const=False, help="do not export the SavedModel at the end")
    add("--run-dir", help="run directory; rerunning with the same one resumes (default runs/pix2pix-embedded, or runs/pix2pix-<data folder name>)")
    return parser


def config_from_args(args: argparse.Namespace) -> tuple[RunConfig, set[tuple[str, str]]]:
    """The run config (profile defaults, then the flags given) and the set of flags given."""
    config = RunConfig(data=DataConfig(), model=ModelConfig(), train=TrainConfig())
    # Real data: paper profile, then the preset's own setup. Embedded data: the preset, then
    # the small CPU profile (size, batch, steps) so every preset finishes in minutes.
    layers = [PAPER_PROFILE, PRESETS[args.preset or "pix2pix"]] if args.data else [PRESETS[args.preset or "pix2pix"], EMBEDDED_PROFILE]
    for layer in layers:
        for (section, key), value in layer.items():
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
        parser.error(f"unknown preset {args.preset!r}; valid presets: {', '.join(PRESETS)}")
    config, explicit = config_from_args(args)
    from sketch2color.data import DatasetError
    from sketch2color.training import RunConfigError, train

    from sketch2color.models import DISCRIMINATORS, GENERATORS

    for kind, name, registry in (("generator", config.model.generator, GENERATORS), ("discriminator", config.model.discriminator, {**DISCRIMINATORS, "none": None})):
        if name not in registry:
            print(f"error: unknown {kind} {name!r}; valid names: {', '.join(sorted(registry))}", file=sys.stderr)
            return 2
    # `kill` (SIGTERM) gets the same treatment as Ctrl-C: checkpoint, then stop.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        result = train(config, explicit)
    except (DatasetError, RunConfigError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(f"run directory: {result.run_dir} (epoch {result.epochs_done}, step {result.step})")
    if result.export_dir:
        print(f"exported model: {result.export_dir}")
        print(f"colorize: python -m sketch2color.colorize SKETCH.png --model {result.export_dir} --out colorized/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Every preset trains, checkpoints and exports for real, and its conditioning inputs matter.

Each preset of ``sketch2color.presets`` is applied to a tiny run (the embedded dataset with 8
training / 4 validation pairs, 32 px, batch 2, one epoch of 2 steps, random VGG weights, no
FID) and trained in this process with ``training.train``. The runs are module fixtures, built
on first use and shared: the per-preset test checks ``config.json`` (the preset's documented
settings), the checkpoint (which networks it holds) and the SavedModel export (uint8 in and
out, the preset's serving inputs); two more tests feed the exported ``reference`` model
different palettes and the ``sgru-hints`` model hints. One test runs the real
``python -m sketch2color.train --preset convnet-l2`` command (the no-adversary setup).

Almost all the time goes into tracing each GAN's train step and saving its SavedModel (the
generator widths hardly matter at 32 px), so the presets keep their own network widths.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import gray_of, smooth_color_image

from sketch2color.presets import PRESETS

IMAGE_SIZE = 32  # every generator and discriminator builds at 32 px (a multiple of 16)
BATCH_SIZE = 2
EPOCHS = 1
STEPS_PER_EPOCH = 2
EMBEDDED_TRAIN = 8
EMBEDDED_VAL = 4
METRICS_IMAGES = 2
N_COLORS = 9  # the palette models' K-means colors (conditioning.DEFAULT_N_COLORS)

# The settings the tests impose on every preset (to keep runs tiny); everything else must be
# the preset's own value, and the default where the preset does not set one.
TEST_OVERRIDES = {
    ("data", "embedded_train"): EMBEDDED_TRAIN,
    ("data", "embedded_val"): EMBEDDED_VAL,
    ("data", "image_size"): IMAGE_SIZE,
    ("data", "batch_size"): BATCH_SIZE,
    ("train", "epochs"): EPOCHS,
    ("train", "steps_per_epoch"): STEPS_PER_EPOCH,
    ("train", "vgg_weights"): "random",
    ("train", "metrics_images"): METRICS_IMAGES,
    ("train", "fid_every"): 0,
    ("train", "preview_samples"): 2,
    ("train", "validation_steps"): 1,
}

# What each preset must set up, written out from the list in presets.py's docstring (not read
# from PRESETS, so a wrong value there fails here). Keys are "section.field".
EXPECTED = {
    "pix2pix": {
        "model.generator": "unet",
        "model.discriminator": "patchgan",
        "train.adversarial_loss": "vanilla",
        "train.l1_weight": 100.0,
        "train.l2_weight": 0.0,
        "train.feature_weight": 0.0,
        "train.tv_weight": 0.0,
        "train.beta_1": 0.5,
        "data.input_mode": "sketch",
        "data.palette": False,
        "data.hints": False,
    },
    "unet-l1": {
        "model.generator": "unet",
        "model.discriminator": "none",
        "model.generator_kwargs": {"base_filters": 16},
        "train.l1_weight": 100.0,
        "train.l2_weight": 0.0,
        "train.feature_weight": 0.0,
        "train.tv_weight": 0.0,
        "train.learning_rate": 1e-3,
        "data.input_mode": "sketch",
        "data.palette": False,
        "data.hints": False,
    },
    "convnet-l2": {
        "model.generator": "convnet",
        "model.discriminator": "none",
        "train.l1_weight": 0.0,
        "train.l2_weight": 1.0,
        "train.feature_weight": 0.0,
        "train.tv_weight": 0.0,
        "train.beta_1": 0.9,
        "data.input_mode": "gray",
        "data.palette": False,
        "data.hints": False,
    },
    "sgru": {
        "model.generator": "sgru",
        "model.discriminator": "patchgan_spectral",
        "train.adversarial_loss": "vanilla",
        "train.l1_weight": 100.0,
        "train.l2_weight": 0.0,
        "train.feature_weight": 1e-4,
        "train.tv_weight": 0.0,
        "train.beta_1": 0.5,
        "data.input_mode": "sketch",
        "data.palette": False,
        "data.hints": False,
    },
    "sgru-hints": {
        "model.generator": "sgru",
        "model.discriminator": "patchgan_spectral",
        "train.adversarial_loss": "vanilla",
        "train.l1_weight": 100.0,
        "train.l2_weight": 0.0,
        "train.feature_weight": 1e-4,
        "train.tv_weight": 0.0,
        "train.beta_1": 0.5,
        "data.input_mode": "sketch",
        "data.palette": False,
        "data.hints": True,
        "model.hint_spread": True,  # the default for every hint model (not a preset setting)
    },
    "reference": {
        "model.generator": "reference_unet",
        "model.discriminator": "patchgan_spectral",
        "train.adversarial_loss": "lsgan",
        "train.l1_weight": 100.0,
        "train.l2_weight": 0.0,
        "train.feature_weight": 1e-4,
        "train.tv_weight": 1e-2,
        "train.beta_1": 0.5,
        "data.input_mode": "sketch",
        "data.palette": True,
        "data.hints": False,
        "data.batch_size": 2,
    },
}
# Preset values the tests had to override, and that the preset is documented to have.
OVERRIDDEN_PRESET_VALUES = {
    "convnet-l2": {("data", "batch_size"): 64, ("train", "epochs"): 20},
}


# --------------------------------------------------------------------------- helpers


def setting(config: dict, dotted: str):
    section, key = dotted.split(".")
    return config[section][key]


def assert_settings(config: dict, expected: dict) -> None:
    """Each "section.field" of ``expected`` has its value in ``config`` (floats to rounding)."""
    for dotted, value in expected.items():
        actual = setting(config, dotted)
        if isinstance(value, float):
            assert isinstance(actual, (int, float)) and not isinstance(actual, bool), (dotted, actual)
            assert actual == pytest.approx(value), (dotted, actual, value)
        else:
            assert actual == value and type(actual) is type(value), (dotted, actual, value)


def checkpoint_parts(prefix: str) -> set[str]:
    """Names of the objects saved at the top of a run checkpoint (generator, discriminator, ...)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    return {child.local_name for child in graph.nodes[0].children}


def history_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def sketches(count: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """uint8 [count, height, width, 3] gray drawings (the luminance of structured color images)."""
    rng = np.random.default_rng(seed)
    side = max(height, width) // 8 * 8 + 8
    return np.stack([gray_of(smooth_color_image(rng, side))[:height, :width] for _ in range(count)])


def serve(colorizer, sketch: np.ndarray, palette=None, hints=None) -> np.ndarray:
    """The export's serve() with the inputs its model takes; the uint8 colors as numpy."""
    import tensorflow as tf

    inputs = [tf.constant(sketch, tf.uint8)]
    if palette is not None:
        inputs.append(tf.constant(palette, tf.uint8))
    if hints is not None:
        inputs.append(tf.constant(hints, tf.float32))
    return colorizer.serve(*inputs)["color"].numpy()


def extra_inputs(name: str, batch: int, height: int, width: int, seed: int = 0) -> dict:
    """The conditioning inputs preset ``name``'s export needs (none, a palette or empty hints)."""
    expected = EXPECTED[name]
    inputs = {}
    if expected["data.palette"]:
        inputs["palette"] = np.random.default_rng(seed).integers(0, 256, (batch, N_COLORS, 3), dtype=np.uint8)
    if expected["data.hints"]:
        inputs["hints"] = np.zeros((batch, height, width, 4), np.float32)
    return inputs


def cli_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TF_CPP_MIN_LOG_LEVEL="2",
        SKETCH2COLOR_CACHE=str(cache),
        CUDA_VISIBLE_DEVICES="-1",
        PYTHONUNBUFFERED="1",
    )
    return env


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A folder for the runs, with the embedded-dataset cache in ``cache/`` (never ~/.cache)."""
    root = tmp_path_factory.mktemp("presets")
    (root / "cache").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKETCH2COLOR_CACHE", str(root / "cache"))
        yield root


class PresetRuns:
    """Trains each preset once, on first request, and hands out the result afterwards."""

    def __init__(self, root: Path):
        self.root = root
        self.results = {}
        self.colorizers = {}

    def config(self, name: str):
        from sketch2color.config import RunConfig
        from sketch2color.presets import apply_preset

        config = apply_preset(RunConfig(run_dir=str(self.root / "runs" / name)), name)
        for (section, key), value in TEST_OVERRIDES.items():
            setattr(getattr(config, section), key, value)
        return config

    def get(self, name: str):
        if name not in self.results:
            from sketch2color import training

            self.results[name] = training.train(self.config(name), verbose=0)
        return self.results[name]

    def colorizer(self, name: str):
        """The run's export loaded with ``tf.saved_model.load`` (once)."""
        if name not in self.colorizers:
            import tensorflow as tf

            self.colorizers[name] = tf.saved_model.load(
                str(Path(self.get(name).run_dir) / "export" / "saved_model")
            )
        return self.colorizers[name]


@pytest.fixture(scope="module")
def runs(workspace) -> PresetRuns:
    return PresetRuns(workspace)


@pytest.fixture(scope="module")
def reference_colorizer(runs):
    return runs.colorizer("reference")


@pytest.fixture(scope="module")
def hints_colorizer(runs):
    return runs.colorizer("sgru-hints")


# --------------------------------------------------------------------------- every preset


def test_every_preset_has_expectations():
    assert set(EXPECTED) == set(PRESETS), "add the new preset's documented settings to EXPECTED"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_trains_checkpoints_and_exports(runs, name):
    import tensorflow as tf

    from sketch2color.config import RunConfig, load_json
    from sketch2color.runs import build_generator_for

    result = runs.get(name)
    run_dir = Path(result.run_dir)
    assert result.step == EPOCHS * STEPS_PER_EPOCH and result.epochs_done == EPOCHS

    # config.json: the preset's name and documented settings, the test's overrides, defaults elsewhere.
    config = json.loads((run_dir / "config.json").read_text())
    assert config["preset"] == name
    assert_settings(config, EXPECTED[name])
    for (section, key), value in PRESETS[name].items():
        if (section, key) in TEST_OVERRIDES and value != TEST_OVERRIDES[(section, key)]:
            assert OVERRIDDEN_PRESET_VALUES[name][(section, key)] == value, (section, key)
        elif (section, key) not in TEST_OVERRIDES:
            assert config[section][key] == value, (section, key)
    for (section, key), value in TEST_OVERRIDES.items():
        assert config[section][key] == value, (section, key)
    assert config["model"]["generator_kwargs"] == EXPECTED[name].get("model.generator_kwargs", {})
    assert config["model"]["discriminator_kwargs"] == {}

    # The losses that ran are the preset's: history.csv has a column per weighted loss term (L1
    # is always logged), and the total is their weighted sum.
    rows = history_rows(run_dir)
    columns = list(rows[0])
    adversary = EXPECTED[name]["model.discriminator"] != "none"
    assert ("disc_loss" in columns) == adversary and ("gen_gan_loss" in columns) == adversary, columns
    for term, key in (
        ("l2", "train.l2_weight"),
        ("feature", "train.feature_weight"),
        ("tv", "train.tv_weight"),
    ):
        assert (f"gen_{term}_loss" in columns) == bool(EXPECTED[name][key]), (term, columns)
    terms = {
        "l1": "train.l1_weight",
        "l2": "train.l2_weight",
        "feature": "train.feature_weight",
        "tv": "train.tv_weight",
    }
    for prefix in ("", "val_"):  # the epoch means of the training and the validation losses
        row = {key: float(value) for key, value in rows[-1].items()}
        total = sum(
            EXPECTED[name][key] * row.get(f"{prefix}gen_{term}_loss", 0.0) for term, key in terms.items()
        )
        total += row.get(f"{prefix}gen_gan_loss", 0.0)
        assert row[f"{prefix}gen_total_loss"] == pytest.approx(total, rel=1e-4), (prefix, row)

    # The checkpoint: written at the last step, holding the generator (and the adversary if any).
    prefix = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    assert prefix is not None and prefix.endswith(f"ckpt-{EPOCHS * STEPS_PER_EPOCH}"), prefix
    parts = checkpoint_parts(prefix)
    assert {"generator", "g_optimizer"} <= parts, parts
    assert ({"discriminator", "d_optimizer"} <= parts) == adversary, parts
    # The weight average (on by default) is saved beside the trained weights, and it is what is exported.
    assert "ema_generator" in parts, parts
    generator = build_generator_for(load_json(RunConfig, run_dir / "config.json"))
    tf.train.Checkpoint(ema_generator=generator).restore(
        prefix
    ).assert_existing_objects_matched().expect_partial()

    # The export: a SavedModel taking exactly the inputs this preset's model needs.
    assert result.export_dir == run_dir / "export"
    colorizer = runs.colorizer(name)
    assert int(colorizer.image_size.numpy()) == IMAGE_SIZE
    assert int(colorizer.palette_colors.numpy()) == (N_COLORS if EXPECTED[name]["data.palette"] else 0)
    assert bool(colorizer.uses_hints.numpy()) == EXPECTED[name]["data.hints"]
    signature = colorizer.signatures["serving_default"]
    wanted = {"sketch"} | {key for key in ("palette", "hints") if EXPECTED[name][f"data.{key}"]}
    assert set(signature.structured_input_signature[1]) == wanted
    # uint8 out, the input's shape: at the training size and at another, non-square one.
    for count, height, width in ((BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE), (1, 48, 40)):
        sketch = sketches(count, height, width)
        colors = serve(colorizer, sketch, **extra_inputs(name, count, height, width))
        assert colors.dtype == np.uint8 and colors.shape == sketch.shape, (colors.dtype, colors.shape)
    # The served model is the checkpoint's averaged generator (within one level of rounding).
    sketch = sketches(BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE, seed=1)
    extra = extra_inputs(name, BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE, seed=1)
    model_input = [sketch.astype(np.float32) / 127.5 - 1.0]
    if "palette" in extra:
        planes = extra["palette"].reshape(BATCH_SIZE, 1, 1, 3 * N_COLORS).astype(np.float32) / 127.5 - 1.0
        model_input.append(np.broadcast_to(planes, (BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE, 3 * N_COLORS)))
    if "hints" in extra:
        model_input.append(extra["hints"])
    direct = np.asarray(generator(np.concatenate(model_input, axis=-1), training=False), np.float32)
    direct = np.clip(np.round((direct + 1.0) * 127.5), 0, 255).astype(int)
    served = serve(colorizer, sketch, **extra).astype(int)
    assert np.abs(served - direct).max() <= 1


# --------------------------------------------------------------------------- conditioning inputs


@pytest.mark.slow
def test_reference_palette_changes_the_colors(reference_colorizer):
    sketch = sketches(2, IMAGE_SIZE, IMAGE_SIZE, seed=3)
    rng = np.random.default_rng(4)
    warm = np.broadcast_to(np.array([250, 120, 40], np.uint8), (2, N_COLORS, 3))
    other = rng.integers(0, 256, (2, N_COLORS, 3), dtype=np.uint8)
    dark = np.zeros((2, N_COLORS, 3), np.uint8)
    first = serve(reference_colorizer, sketch, palette=warm)
    # Deterministic (no noise at inference), so any difference below comes from the palette.
    np.testing.assert_array_equal(first, serve(reference_colorizer, sketch, palette=warm))
    for palette in (other, dark):
        changed = serve(reference_colorizer, sketch, palette=palette)
        difference = np.abs(changed.astype(int) - first.astype(int))
        # A model ignoring the palette would give exactly 0. Even after 2 steps the palette
        # planes move the output by tens of levels on average; 1 level leaves a wide margin.
        assert difference.mean() > 1.0, (
            f"the output hardly depends on the palette (mean change {difference.mean():.3f})"
        )
    # Per image: each image follows its own palette (image 0 changes alone when only its palette does).
    mixed = warm.copy()
    mixed[0] = dark[0]
    changed = serve(reference_colorizer, sketch, palette=mixed)
    assert np.abs(changed[0].astype(int) - first[0].astype(int)).mean() > 1.0
    np.testing.assert_array_equal(changed[1], first[1])


@pytest.mark.slow
def test_sgru_hints_change_the_colors(hints_colorizer):
    from sketch2color.data.conditioning import hints_from_image

    sketch = sketches(1, IMAGE_SIZE, IMAGE_SIZE, seed=5)
    empty = np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 4), np.float32)
    # A user's hint image: two color dots painted on a white canvas.
    canvas = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 255, np.uint8)
    canvas[4:12, 4:12] = (230, 20, 20)
    canvas[20:28, 18:26] = (20, 40, 220)
    hints = hints_from_image(canvas, IMAGE_SIZE)[None]
    assert hints[..., 3].sum() > 0 and hints[..., 3].mean() < 0.5  # some cells hinted, not all

    plain = serve(hints_colorizer, sketch, hints=empty)
    np.testing.assert_array_equal(plain, serve(hints_colorizer, sketch, hints=empty))
    hinted = serve(hints_colorizer, sketch, hints=hints)
    difference = np.abs(hinted.astype(int) - plain.astype(int))
    # A model ignoring the hints would give exactly 0; after 2 steps two dots already move the
    # output by over 10 levels on average, so 1 level leaves a wide margin.
    assert difference.mean() > 1.0, (
        f"the output hardly depends on the hints (mean change {difference.mean():.3f})"
    )


# --------------------------------------------------------------------------- the CLI, no adversary


@pytest.mark.slow
def test_cli_convnet_l2_trains_without_an_adversary(workspace):
    import tensorflow as tf

    run_dir = workspace / "runs" / "cli-convnet-l2"
    args = [
        "--preset",
        "convnet-l2",
        "--image-size",
        IMAGE_SIZE,
        "--batch-size",
        BATCH_SIZE,
        "--epochs",
        EPOCHS,
        "--steps-per-epoch",
        STEPS_PER_EPOCH,
        "--embedded-train",
        EMBEDDED_TRAIN,
        "--embedded-val",
        EMBEDDED_VAL,
        "--metrics-images",
        METRICS_IMAGES,
        "--fid-every",
        0,
        "--preview-samples",
        2,
        "--validation-steps",
        1,
        "--no-export",
        "--run-dir",
        run_dir,
    ]
    result = subprocess.run(
        [sys.executable, "-m", "sketch2color.train", *map(str, args)],
        cwd=workspace,
        env=cli_env(workspace / "cache"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    assert "Traceback" not in result.stderr
    assert f"(epoch {EPOCHS}, step {EPOCHS * STEPS_PER_EPOCH})" in result.stdout, result.stdout[-3000:]

    config = json.loads((run_dir / "config.json").read_text())
    assert config["preset"] == "convnet-l2"
    assert_settings(config, EXPECTED["convnet-l2"])
    # Flags win over the preset (its batch 64 and 20 epochs) and the embedded profile.
    assert config["data"]["batch_size"] == BATCH_SIZE and config["train"]["epochs"] == EPOCHS
    assert config["data"]["image_size"] == IMAGE_SIZE and config["data"]["data_dir"] is None

    prefix = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    assert prefix is not None and prefix.endswith(f"ckpt-{EPOCHS * STEPS_PER_EPOCH}"), prefix
    parts = checkpoint_parts(prefix)
    assert "generator" in parts and "g_optimizer" in parts, parts
    assert not parts & {"discriminator", "d_optimizer"}, f"no-adversary run saved {parts}"
    columns = list(history_rows(run_dir)[0])
    assert "gen_l2_loss" in columns and "disc_loss" not in columns and "gen_gan_loss" not in columns, columns
    assert not (run_dir / "export").exists()


# --------------------------------------------------------------------------- profiles


@pytest.mark.parametrize("data", [False, True])
def test_a_preset_keeps_its_own_width_under_either_profile(tmp_path, data):
    from sketch2color.cli import train as train_cli

    argv = ["--preset", "unet-l1"] + (["--data", str(tmp_path)] if data else [])
    config, _ = train_cli.config_from_args(train_cli.build_parser().parse_args(argv))
    assert config.model.generator_kwargs == {"base_filters": 16}
    assert config.train.learning_rate == pytest.approx(1e-3)
    assert config.data.image_size == (256 if data else 128)


def test_the_embedded_profile_still_halves_the_paper_presets():
    from sketch2color.cli import train as train_cli

    for preset in ("pix2pix", "sgru"):
        config, _ = train_cli.config_from_args(train_cli.build_parser().parse_args(["--preset", preset]))
        assert config.model.generator_kwargs == {"base_filters": 32}, preset
        assert config.model.discriminator_kwargs == {"base_filters": 32}, preset

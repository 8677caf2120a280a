"""The losses and the Pix2Pix training model, run for real on small images.

Networks here are the real pix2pix architectures at 32 px with narrow widths
(``base_filters=8``/16) so each compiled step takes milliseconds. Mixed precision and
``tf.distribute`` run in subprocesses: both change process-wide TensorFlow state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from sketch2color.models import build_discriminator, build_generator
from sketch2color.training.gan import Pix2Pix, default_optimizers
from sketch2color.training.losses import (
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    l1_loss,
    l2_loss,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE = 32
LOSS_NAMES = {"gen_total_loss", "gen_gan_loss", "gen_l1_loss", "disc_loss"}


# --- losses ----------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
REAL = RNG.normal(0, 2, (3, 4, 4, 1)).astype("float32")
FAKE = RNG.normal(0, 2, (3, 4, 4, 1)).astype("float32")


def softplus(x):
    """log(1 + e^x): BCE of a logit x is softplus(-x) against label 1, softplus(x) against 0."""
    return np.log1p(np.exp(x))


def per_example(x):
    """Mean over all axes but the first."""
    return x.reshape(len(x), -1).mean(axis=1)


def test_vanilla_generator_loss_is_bce_against_real_label():
    loss = generator_adversarial_loss(FAKE)
    assert tuple(loss.shape) == (3,)
    np.testing.assert_allclose(loss.numpy(), per_example(softplus(-FAKE)), rtol=1e-5)


def test_vanilla_discriminator_loss_is_half_the_bce_sum():
    loss = discriminator_adversarial_loss(REAL, FAKE)
    assert tuple(loss.shape) == (3,)
    expected = 0.5 * (per_example(softplus(-REAL)) + per_example(softplus(FAKE)))
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)


def test_discriminator_loss_is_halved_at_chance():
    # Logits 0 = probability 0.5: each BCE is log 2, the halved sum is log 2 (not 2 log 2).
    zeros = np.zeros((2, 3, 3, 1), "float32")
    np.testing.assert_allclose(
        discriminator_adversarial_loss(zeros, zeros).numpy(), [np.log(2)] * 2, rtol=1e-6
    )


def test_lsgan_and_hinge_values():
    np.testing.assert_allclose(
        generator_adversarial_loss(FAKE, mode="lsgan").numpy(), per_example((FAKE - 1) ** 2), rtol=1e-5
    )
    np.testing.assert_allclose(
        discriminator_adversarial_loss(REAL, FAKE, mode="lsgan").numpy(),
        0.5 * (per_example((REAL - 1) ** 2) + per_example(FAKE**2)),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        generator_adversarial_loss(FAKE, mode="hinge").numpy(), per_example(-FAKE), rtol=1e-5
    )
    np.testing.assert_allclose(
        discriminator_adversarial_loss(REAL, FAKE, mode="hinge").numpy(),
        0.5 * (per_example(np.maximum(0, 1 - REAL)) + per_example(np.maximum(0, 1 + FAKE))),
        rtol=1e-5,
    )


def test_unknown_adversarial_mode_is_rejected():
    with pytest.raises(ValueError, match="wgan"):
        generator_adversarial_loss(FAKE, mode="wgan")
    with pytest.raises(ValueError, match="vanilla"):
        discriminator_adversarial_loss(REAL, FAKE, mode="wgan")


def test_reconstruction_losses():
    target = RNG.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    generated = RNG.uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(
        l1_loss(target, generated).numpy(), per_example(np.abs(target - generated)), rtol=1e-5
    )
    np.testing.assert_allclose(
        l2_loss(target, generated).numpy(), per_example((target - generated) ** 2), rtol=1e-5
    )
    assert tuple(l1_loss(target, generated).shape) == (2,)
    assert tuple(l2_loss(target, generated).shape) == (2,)


@pytest.mark.parametrize("dtype", [tf.bfloat16, tf.float16])
def test_losses_are_float32_for_low_precision_inputs(dtype):
    real, fake = tf.cast(REAL, dtype), tf.cast(FAKE, dtype)
    for loss in (
        generator_adversarial_loss(fake),
        discriminator_adversarial_loss(real, fake, mode="hinge"),
        l1_loss(real, fake),
        l2_loss(real, fake),
    ):
        assert loss.dtype == tf.float32


# --- the Pix2Pix model -----------------------------------------------------------------------


def small_pix2pix(
    seed: int = 0,
    base_filters: int = 8,
    conditional: bool = True,
    adversarial_loss: str = "vanilla",
    learning_rate: float = 2e-4,
) -> Pix2Pix:
    """A compiled pix2pix with the real architectures, narrowed for 32 px tests."""
    keras.utils.set_random_seed(seed)
    generator = build_generator("unet", image_size=SIZE, base_filters=base_filters)
    discriminator = build_discriminator(
        "patchgan", image_size=SIZE, base_filters=base_filters, conditional=conditional
    )
    model = Pix2Pix(generator, discriminator, adversarial_loss=adversarial_loss)
    model.compile(*default_optimizers(learning_rate))
    return model


def random_pairs(batch: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A (sketch, color) batch in [-1, 1]."""
    rng = np.random.default_rng(seed)
    sketch = rng.uniform(-1, 1, (batch, SIZE, SIZE, 3)).astype("float32")
    color = np.tanh(rng.normal(0, 1, (batch, SIZE, SIZE, 3))).astype("float32")
    return sketch, color


def snapshot(network: keras.Model) -> dict[str, np.ndarray]:
    """Every weight of a network (trainable and batch-norm statistics), by path."""
    return {variable.path: variable.numpy().copy() for variable in network.weights}


def changed(before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> set[str]:
    """The weight paths whose values differ."""
    return {path for path in before if not np.array_equal(before[path], after[path])}


@pytest.mark.parametrize(
    "conditional, adversarial_loss",
    [(True, "vanilla"), (False, "hinge"), (True, "lsgan")],
)
def test_train_step_updates_both_networks(conditional, adversarial_loss):
    model = small_pix2pix(conditional=conditional, adversarial_loss=adversarial_loss)
    generator_before, discriminator_before = snapshot(model.generator), snapshot(model.discriminator)

    logs = model.train_on_batch(*random_pairs(), return_dict=True)

    assert set(logs) == LOSS_NAMES
    assert all(np.isfinite(value) for value in logs.values())
    assert logs["gen_total_loss"] == pytest.approx(
        logs["gen_gan_loss"] + 100.0 * logs["gen_l1_loss"], rel=1e-5
    )
    # Every weight moves: all trainable ones (each has a gradient) and the batch-norm statistics.
    assert changed(generator_before, snapshot(model.generator)) == set(generator_before)
    expected = set(discriminator_before)
    if adversarial_loss == "hinge":
        # d/d(bias) of mean(relu(1 - real)) + mean(relu(1 + fake)) is -1 + 1 = 0 while all
        # logits are within (-1, 1), as they are at initialisation.
        expected.discard("logits_conv/bias")
    assert changed(discriminator_before, snapshot(model.discriminator)) == expected
    assert int(model.g_optimizer.iterations) == int(model.d_optimizer.iterations) == 1


def test_test_step_changes_nothing_and_is_deterministic():
    model = small_pix2pix()
    sketch, color = random_pairs()
    model.train_on_batch(sketch, color)  # moving statistics away from their initial values
    generator_before, discriminator_before = snapshot(model.generator), snapshot(model.discriminator)

    first = model.test_on_batch(sketch, color, return_dict=True)
    second = model.test_on_batch(sketch, color, return_dict=True)

    assert changed(generator_before, snapshot(model.generator)) == set()
    assert changed(discriminator_before, snapshot(model.discriminator)) == set()
    assert int(model.g_optimizer.iterations) == int(model.d_optimizer.iterations) == 1
    assert set(first) == LOSS_NAMES
    assert first == pytest.approx(second, rel=1e-6)  # no dropout at test time


def test_overfitting_one_batch_lowers_l1():
    # A 16-filter net and a 10x learning rate so 100 steps are enough to memorise one batch.
    model = small_pix2pix(base_filters=16, learning_rate=2e-3)
    batch = tf.data.Dataset.from_tensors(random_pairs(seed=1)).repeat()
    history = model.fit(batch, steps_per_epoch=10, epochs=10, verbose=0, shuffle=False).history
    l1 = history["gen_l1_loss"]  # per-epoch means of 10 steps each
    assert np.all(np.isfinite(history["gen_total_loss"]))
    assert l1[-1] < 0.6 * l1[0], l1


def test_fit_reports_validation_losses():
    model = small_pix2pix()
    sketch, color = random_pairs(batch=6)
    history = model.fit(
        sketch, color, batch_size=3, epochs=2, validation_data=random_pairs(batch=3, seed=2), verbose=0
    ).history
    assert set(history) == LOSS_NAMES | {f"val_{name}" for name in LOSS_NAMES}
    assert all(len(values) == 2 for values in history.values())
    # Validation sees no update within an epoch: it equals a separate evaluate() afterwards.
    evaluated = model.evaluate(*random_pairs(batch=3, seed=2), return_dict=True, verbose=0)
    assert evaluated["gen_l1_loss"] == pytest.approx(history["val_gen_l1_loss"][-1], rel=1e-5)


def test_model_call_colorizes_and_accepts_dict_batches():
    model = small_pix2pix()
    sketch, color = random_pairs(batch=2)
    assert tuple(model.predict(sketch, verbose=0).shape) == (2, SIZE, SIZE, 3)
    logs = model.test_on_batch({"sketch": sketch, "color": color}, return_dict=True)
    assert set(logs) == LOSS_NAMES


def test_compile_checks_optimizers():
    generator_optimizer, _ = default_optimizers()
    model = Pix2Pix(
        build_generator("unet", image_size=SIZE, base_filters=4),
        build_discriminator("patchgan", image_size=SIZE, base_filters=4),
    )
    with pytest.raises(ValueError, match="two separate optimizers"):
        model.compile(generator_optimizer, generator_optimizer)
    with pytest.raises(ValueError, match="adversarial_loss"):
        Pix2Pix(model.generator, model.discriminator, adversarial_loss="wgan")


def test_default_optimizers_decay_linearly_and_resume():
    constant, _ = default_optimizers()
    assert isinstance(constant, keras.optimizers.Adam)
    assert float(constant.learning_rate) == pytest.approx(2e-4)
    assert float(constant.beta_1) == pytest.approx(0.5)

    generator_optimizer, discriminator_optimizer = default_optimizers(learning_rate=2e-4, decay_steps=100)
    for optimizer in (generator_optimizer, discriminator_optimizer):
        optimizer.build([keras.Variable(np.zeros(2, "float32"))])
        assert float(optimizer.learning_rate) == pytest.approx(2e-4)
        # A restored checkpoint restores `iterations`, and with it the point of the schedule.
        optimizer.iterations.assign(25)
        assert float(optimizer.learning_rate) == pytest.approx(1.5e-4)
        optimizer.iterations.assign(100)
        assert float(optimizer.learning_rate) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="decay_steps"):
        default_optimizers(decay_steps=0)


# --- subprocesses: tf.distribute and mixed precision -----------------------------------------

SUBPROCESS_PRELUDE = """
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
"""

# Two logical CPUs, then the same step with and without MirroredStrategy. It is made
# deterministic by construction:
# - no dropout (dropout_blocks=0), the generator's only randomness;
# - the same initial weights, copied from the single-device model;
# - SGD, whose update is linear in the gradient: a loss scaled by the local instead of the
#   global batch size would double the step (Adam would hide that);
# - the global batch is the same 2 examples twice, so each replica's batch-norm statistics
#   (computed per replica) equal those of the whole batch on one device.
DISTRIBUTED_SCRIPT = (
    SUBPROCESS_PRELUDE
    + """
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from sketch2color.training.gan import Pix2Pix
from sketch2color.models import build_discriminator, build_generator

rng = np.random.default_rng(0)
sketch = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
color = np.tanh(rng.normal(0, 1, (2, 32, 32, 3))).astype("float32")
global_batch = (np.concatenate([sketch, sketch]), np.concatenate([color, color]))

def one_step(strategy, initial=None):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        generator = build_generator("unet", image_size=32, base_filters=8, dropout_blocks=0)
        discriminator = build_discriminator("patchgan", image_size=32, base_filters=8)
        if initial is not None:
            generator.set_weights(initial[0])
            discriminator.set_weights(initial[1])
        initial = (generator.get_weights(), discriminator.get_weights())
        model = Pix2Pix(generator, discriminator)
        model.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01))
    dataset = tf.data.Dataset.from_tensors(global_batch)
    logs = model.fit(dataset, epochs=1, verbose=0).history
    logs = {name: values[-1] for name, values in logs.items()}
    updates = [
        np.abs(after - before).max()
        for before, after in zip(
            initial[0] + initial[1], generator.get_weights() + discriminator.get_weights()
        )
    ]
    return logs, generator.get_weights() + discriminator.get_weights(), initial, updates

single_logs, single_weights, initial, updates = one_step(tf.distribute.get_strategy())
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
mirrored_logs, mirrored_weights, _, _ = one_step(mirrored, initial)
print(json.dumps({
    "replicas": mirrored.num_replicas_in_sync,
    "single": single_logs,
    "mirrored": mirrored_logs,
    "max_weight_difference": max(
        float(np.abs(a - b).max()) for a, b in zip(single_weights, mirrored_weights)
    ),
    "smallest_max_update": float(min(updates)),
    "largest_max_update": float(max(updates)),
}))
"""
)

MIXED_PRECISION_SCRIPT = (
    SUBPROCESS_PRELUDE
    + """
import keras
from sketch2color.training.gan import Pix2Pix
from sketch2color.models import build_discriminator, build_generator

rng = np.random.default_rng(0)
sketch = tf.constant(rng.uniform(-1, 1, (2, 32, 32, 3)), tf.float32)
color = tf.constant(np.tanh(rng.normal(0, 1, (2, 32, 32, 3))), tf.float32)
report = {}
for policy in ("mixed_bfloat16", "mixed_float16"):
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    generator = build_generator("unet", image_size=32, base_filters=8)
    discriminator = build_discriminator("patchgan", image_size=32, base_filters=8)
    model = Pix2Pix(generator, discriminator)
    model.compile()
    before = [w.copy() for w in generator.get_weights()]
    logs = model.train_step((sketch, color))  # eager, to see the tensors' dtypes
    report[policy] = {
        "loss_dtypes": sorted({tensor.dtype.name for tensor in logs.values()}),
        "losses": {name: float(tensor) for name, tensor in logs.items()},
        "compute_dtype": generator.get_layer("encoder_2").layers[0].compute_dtype,
        "kernel_dtype": generator.get_layer("encoder_2").layers[0].kernel.dtype,
        "output_dtype": generator(sketch).dtype.name,
        "logits_dtype": discriminator([sketch, color]).dtype.name,
        "generator_changed": any(not np.array_equal(a, b) for a, b in zip(before, generator.get_weights())),
        "optimizer": type(model.g_optimizer).__name__,
    }
print(json.dumps(report))
"""
)


def run_script(script: str) -> dict:
    """Run a Python script in a fresh interpreter and parse the JSON on its last stdout line."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mirrored_strategy_step_matches_single_device():
    report = run_script(DISTRIBUTED_SCRIPT)
    assert report["replicas"] == 2
    assert set(report["mirrored"]) == LOSS_NAMES
    for name in LOSS_NAMES:
        assert report["mirrored"][name] == pytest.approx(report["single"][name], rel=1e-4), name
    # The step itself is the same: every variable moved, and identically on both setups.
    assert report["smallest_max_update"] > 0
    assert report["max_weight_difference"] < 1e-3 * report["largest_max_update"]


def test_mixed_precision_step_runs_with_float32_losses():
    report = run_script(MIXED_PRECISION_SCRIPT)

    bfloat16 = report["mixed_bfloat16"]
    assert bfloat16["compute_dtype"] == "bfloat16" and bfloat16["kernel_dtype"] == "float32"
    assert bfloat16["loss_dtypes"] == ["float32"]
    assert bfloat16["output_dtype"] == bfloat16["logits_dtype"] == "float32"
    assert all(np.isfinite(value) for value in bfloat16["losses"].values())
    assert bfloat16["generator_changed"]
    assert bfloat16["optimizer"] == "FusedAdam"  # bfloat16 needs no loss scaling (no wrapper)

    float16 = report["mixed_float16"]
    assert float16["compute_dtype"] == "float16"
    assert float16["optimizer"] == "LossScaleOptimizer"
    assert float16["loss_dtypes"] == ["float32"]
    assert all(np.isfinite(value) for value in float16["losses"].values())

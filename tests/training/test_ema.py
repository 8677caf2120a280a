"""The generator's weight average (``--ema-decay``): its update rule, checkpoints, and who reads it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sketch2color import runs
from sketch2color.config import ConfigError, RunConfig, save_json
from sketch2color.evaluation import evaluate
from sketch2color.training import build_gan
from sketch2color.training.callbacks import RunCheckpoint

SIZE = 32
DECAY = 0.9


def small_config(ema_decay: float = DECAY) -> RunConfig:
    config = RunConfig()
    config.data.image_size = SIZE
    config.model.generator_kwargs = {"base_filters": 8}
    config.model.discriminator_kwargs = {"base_filters": 8}
    config.train.ema_decay = ema_decay
    return config


def random_pairs(seed: int, batch: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sketch = rng.uniform(-1, 1, (batch, SIZE, SIZE, 3)).astype("float32")
    return sketch, np.tanh(rng.normal(0, 1, sketch.shape)).astype("float32")


def trainable(network, like=None) -> list[np.ndarray]:
    """The values of ``network``'s weights that are trainable in ``like`` (the average's own
    copy is frozen, so its trainable list is empty)."""
    like = like or network
    return [w.numpy().copy() for w, ref in zip(network.weights, like.weights) if ref.trainable]


def test_the_average_follows_the_warm_up_rule_step_by_step():
    gan = build_gan(small_config(), steps_per_epoch=4)
    expected = trainable(gan.generator)  # the average starts as a copy of the initial weights
    assert all(np.array_equal(a, b) for a, b in zip(trainable(gan.ema_generator, gan.generator), expected))
    for step in range(1, 6):
        gan.train_on_batch(*random_pairs(step))
        decay = min(DECAY, (1 + step) / (10 + step))  # 0.18, 0.25, ... then capped at 0.9
        weights = trainable(gan.generator)
        expected = [decay * average + (1 - decay) * weight for average, weight in zip(expected, weights)]
        got = trainable(gan.ema_generator, gan.generator)
        assert all(np.allclose(g, e, atol=1e-6) for g, e in zip(got, expected)), step
    # It really is an average: neither the trained weights nor the initial ones.
    assert not all(np.allclose(g, w) for g, w in zip(got, weights))
    # Batch-norm statistics are copied (recalibration redoes them under the average).
    for average, weight in zip(gan.ema_generator.weights, gan.generator.weights):
        if not weight.trainable:
            np.testing.assert_array_equal(average.numpy(), weight.numpy())
    assert gan.inference_generator is gan.ema_generator


def test_validation_scores_the_average_not_the_trained_weights():
    gan = build_gan(small_config(), steps_per_epoch=4)
    sketch, color = random_pairs(0)
    gan.train_on_batch(sketch, color)
    for weight, reference in zip(gan.ema_generator.weights, gan.generator.weights):
        if reference.trainable:  # make the two copies clearly different
            weight.assign(weight + np.random.default_rng(1).normal(0, 0.3, weight.shape).astype("float32"))
    logs = gan.test_on_batch(sketch, color, return_dict=True)
    from_average = np.abs(gan.ema_generator(sketch, training=False).numpy() - color).mean()
    from_trained = np.abs(gan.generator(sketch, training=False).numpy() - color).mean()
    assert logs["gen_l1_loss"] == pytest.approx(from_average, rel=1e-5)
    # model(sketch) at inference colorizes with the average too, as the export does.
    np.testing.assert_allclose(gan(sketch).numpy(), gan.ema_generator(sketch, training=False).numpy())
    assert abs(from_average - from_trained) > 1e-3


def test_the_average_is_the_default_and_zero_turns_it_off():
    assert RunConfig().train.ema_decay == 0.999
    gan = build_gan(small_config(ema_decay=0.0), steps_per_epoch=4)
    assert gan.ema_generator is None and gan.inference_generator is gan.generator


def saved_run(tmp_path, ema_decay: float):
    """A run folder (config.json + a checkpoint after 3 steps) and its GAN."""
    config = small_config(ema_decay)
    config.run_dir = str(tmp_path / "run")
    gan = build_gan(config, steps_per_epoch=4)
    for step in range(3):
        gan.train_on_batch(*random_pairs(step))
    (tmp_path / "run").mkdir()
    save_json(config, tmp_path / "run" / runs.CONFIG_FILE)
    RunCheckpoint(gan, tmp_path / "run" / runs.CHECKPOINT_DIR).save()
    return tmp_path / "run", gan, config


def test_the_average_resumes_exactly_from_a_checkpoint(tmp_path):
    run_dir, gan, config = saved_run(tmp_path, DECAY)
    resumed = build_gan(config, steps_per_epoch=4)
    assert RunCheckpoint(resumed, run_dir / runs.CHECKPOINT_DIR).restore_latest()
    for network in ("generator", "ema_generator"):
        for a, b in zip(getattr(gan, network).weights, getattr(resumed, network).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    # The next update uses the restored step count: the decay of step 4, not of step 1.
    before = trainable(resumed.ema_generator, resumed.generator)
    resumed.train_on_batch(*random_pairs(9))
    assert int(resumed.g_optimizer.iterations) == 4
    decay = min(DECAY, 5 / 14)
    weights = trainable(resumed.generator)
    for got, average, weight in zip(trainable(resumed.ema_generator, resumed.generator), before, weights):
        np.testing.assert_allclose(got, decay * average + (1 - decay) * weight, atol=1e-6)


def test_evaluate_and_export_read_the_average_unless_asked_for_the_trained_weights(tmp_path):
    run_dir, gan, _ = saved_run(tmp_path, DECAY)
    averaged, _, _ = runs.restore_generator(run_dir)
    trained, _, _ = runs.restore_generator(run_dir, averaged=False)
    for a, b in zip(averaged.weights, gan.ema_generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(trained.weights, gan.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    sketches = np.random.default_rng(3).integers(0, 256, (2, SIZE, SIZE, 3), dtype=np.uint8)
    default, raw = evaluate.load_model(run_dir), evaluate.load_model(run_dir, averaged=False)
    assert not np.array_equal(default.predict(sketches), raw.predict(sketches))


def test_asking_for_an_average_the_run_never_kept_is_a_clear_error(tmp_path):
    run_dir, _, _ = saved_run(tmp_path, 0.0)
    with pytest.raises(ConfigError, match="with --ema-decay 0"):
        runs.restore_generator(run_dir, averaged=True)
    with pytest.raises(evaluate.EvaluationError, match="with --ema-decay 0"):
        evaluate.load_model(run_dir, averaged=True)


def test_the_decay_must_be_below_one():
    config = small_config(1.0)
    with pytest.raises(ConfigError, match="ema_decay"):
        config.train.validate()


def test_a_run_saved_before_the_average_was_the_default_resumes_without_one(tmp_path):
    # Its config.json has no ema_decay key and its checkpoints hold no averaged copy.
    run_dir, gan, config = saved_run(tmp_path, 0.0)
    config_file = run_dir / runs.CONFIG_FILE
    saved = json.loads(config_file.read_text())
    del saved["train"]["ema_decay"]
    config_file.write_text(json.dumps(saved))
    assert runs.load_run_config(run_dir).train.ema_decay == 0.0

    requested = small_config(RunConfig().train.ema_decay)  # today's default, not given as a flag
    requested.run_dir = str(run_dir)
    resumed_config, resumed = runs.prepare_run_dir(requested, explicit=set())
    assert resumed and resumed_config.train.ema_decay == 0.0
    resumed_gan = build_gan(resumed_config, steps_per_epoch=4)
    assert RunCheckpoint(resumed_gan, run_dir / runs.CHECKPOINT_DIR).restore_latest()
    for a, b in zip(gan.generator.weights, resumed_gan.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Asking for the average on that run is refused by name, as for any run without one.
    requested.train.ema_decay = 0.999
    with pytest.raises(runs.RunConfigError, match="ema_decay=0.0"):
        runs.prepare_run_dir(requested, explicit={("train", "ema_decay")})

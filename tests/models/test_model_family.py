"""The generators and discriminator added beside pix2pix: SGRU (Liu, Chen & Hu 2019), the
reference-palette colorizer (2020), the ConvNet baseline (Fu, Hsu & Yang 2017) and the spectral-norm PatchGAN.

Behaviour is checked on 32-64 px inputs with narrow widths; the default (full-width) 256 px
models are only built once each and checked through their output shapes and a few widths.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from sketch2color.models import DISCRIMINATORS, GENERATORS, build_discriminator, build_generator
from sketch2color.models.blocks import all_layers
from sketch2color.models.convnet import convnet_generator
from sketch2color.models.patchgan import patch_grid_size, patchgan_spectral_discriminator
from sketch2color.models.reference import (
    REFERENCE_INPUT_CHANNELS,
    AttentionGate,
    DecodingBlock,
    NoiseInjection,
    ResidualBlock,
    WSConv2D,
    reference_generator,
)
from sketch2color.models.sgru import sgru_generator

# name -> sketch channels the generator takes by default
NEW_GENERATORS = {"sgru": 3, "reference_unet": REFERENCE_INPUT_CHANNELS, "convnet": 3}
TINY = dict(base_filters=8)  # narrow widths for everything that runs forward passes


def random_images(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Uniform [-1, 1] float32 images."""
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def output_shape(model: keras.Model, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The model's output shape for ``input_shape``, inferred symbolically (no computation)."""
    return tuple(model.compute_output_spec(keras.KerasTensor(input_shape)).shape)


@pytest.fixture(scope="module")
def tiny_generators() -> dict[str, keras.Model]:
    """Each new generator, narrow, for 64 px (depth 5; 4 for the ConvNet), built once."""
    keras.utils.set_random_seed(13)
    return {name: build_generator(name, image_size=64, **TINY) for name in NEW_GENERATORS}


@pytest.fixture(scope="module")
def default_generators() -> dict[str, keras.Model]:
    """Each new generator at its default (paper) widths for 256 px, built once."""
    keras.utils.set_random_seed(10)
    return {name: build_generator(name, image_size=256) for name in NEW_GENERATORS}


# --- shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [64, 256])
@pytest.mark.parametrize("name", sorted(NEW_GENERATORS))
def test_generator_output_matches_input_size(name, size, tiny_generators):
    channels = NEW_GENERATORS[name]
    generator = tiny_generators[name] if size == 64 else build_generator(name, image_size=size, **TINY)
    assert [tensor.name for tensor in generator.inputs] == ["sketch"]
    assert tuple(generator.input.shape) == (None, None, None, channels)
    color = generator(random_images((1, size, size, channels)), training=False)
    assert tuple(color.shape) == (1, size, size, 3)
    assert color.dtype == tf.float32
    assert np.all(np.abs(color.numpy()) <= 1.0)  # tanh


@pytest.mark.parametrize("name", sorted(NEW_GENERATORS))
def test_default_generators_at_256(name, default_generators):
    generator = default_generators[name]
    channels = NEW_GENERATORS[name]
    assert output_shape(generator, (2, 256, 256, channels)) == (2, 256, 256, 3)
    assert generator.output.dtype == "float32"


def test_default_widths_follow_the_sources(default_generators):
    reference = default_generators["reference_unet"]
    assert [reference.get_layer(f"encoder_{i}").filters for i in range(1, 8)] == [
        64,
        128,
        256,
        512,
        512,
        512,
        512,
    ]
    assert [reference.get_layer(f"decoder_{i}").filters for i in range(6, 0, -1)] == [
        512,
        512,
        512,
        256,
        128,
        64,
    ]
    assert reference.get_layer("output_upsample").filters == 32

    sgru = default_generators["sgru"]
    down = [sgru.get_layer(f"sgb_down_{i}_residual_2_conv").filters for i in range(1, 6)]
    up = [sgru.get_layer(f"sgb_up_{i}_residual_2_conv").filters for i in range(5, 0, -1)]
    assert down == [96, 192, 288, 384, 480]
    assert up == [512, 480, 384, 288, 192]
    assert sgru.get_layer("head_3_conv").filters == 96

    convnet = default_generators["convnet"]
    encoder = [convnet.get_layer(f"encoder_{i}").layers[0].filters for i in range(1, 7)]
    decoder = [convnet.get_layer(f"decoder_{i}").layers[0].filters for i in range(1, 6)]
    assert encoder == [64, 128, 256, 512, 512, 512]
    assert decoder == [512, 512, 256, 128, 64]


@pytest.mark.parametrize("name", sorted(NEW_GENERATORS))
def test_generators_run_at_non_square_multiples(name, tiny_generators):
    channels = NEW_GENERATORS[name]
    generator = tiny_generators[name]  # depth 5 (4 for the ConvNet): multiples of 32 (16)
    color = generator(random_images((1, 64, 96, channels)), training=False)
    assert tuple(color.shape) == (1, 64, 96, 3)


@pytest.mark.parametrize("builder", [sgru_generator, reference_generator, convnet_generator])
def test_generators_reject_sizes_that_do_not_halve_evenly(builder):
    with pytest.raises(ValueError, match="multiple"):
        builder(image_size=96, depth=6)
    with pytest.raises(ValueError, match="depth"):
        builder(image_size=256, depth=0)


def test_convnet_has_no_skips_unless_asked(tiny_generators):
    plain = tiny_generators["convnet"]
    assert not any(isinstance(layer, keras.layers.Concatenate) for layer in plain.layers)
    with_skips = convnet_generator(image_size=64, skip_connections=True, **TINY)
    assert sum(isinstance(layer, keras.layers.Concatenate) for layer in with_skips.layers) == 3
    batch_norms = [layer for layer in all_layers(plain) if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(batch_norms) == 4 + 3  # every encoding layer, every decoding layer but the output


def test_sgru_skips_and_shortcuts_are_swish_gated(tiny_generators):
    generator = tiny_generators["sgru"]
    gates = [layer.name for layer in generator.layers if isinstance(layer, keras.layers.Multiply)]
    # one gated skip per level, one gated shortcut per SGB (5 down + 5 up)
    assert sorted(name for name in gates if name.startswith("skip_")) == [
        f"skip_{i}_gated" for i in range(1, 6)
    ]
    assert len([name for name in gates if "_shortcut_" in name]) == 10


# --- reference colorizer blocks ----------------------------------------------------------


def test_ws_conv_uses_a_standardized_kernel():
    conv = WSConv2D(16, 3, name="ws")
    x = random_images((2, 8, 8, 5))
    conv.build(x.shape)
    rng = np.random.default_rng(1)
    conv.kernel.assign(rng.normal(3.0, 5.0, conv.kernel.shape).astype("float32"))  # far from standard
    kernel = conv.standardized_kernel().numpy().reshape(-1, 16)  # (h * w * in, out)
    np.testing.assert_allclose(kernel.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(kernel.std(axis=0), 1.0, rtol=1e-4)
    # ... and the convolution really uses it.
    expected = tf.nn.conv2d(x, conv.standardized_kernel(), 1, "SAME") + conv.bias
    np.testing.assert_allclose(conv(x).numpy(), expected.numpy(), atol=1e-4)


def test_noise_injection_is_random_in_training_only():
    noise = NoiseInjection(seed=3)
    x = random_images((2, 8, 8, 4))
    np.testing.assert_array_equal(noise(x, training=True), x)  # scale starts at 0
    noise.scale.assign([0.5, 1.0, -2.0, 0.0])
    first, second = noise(x, training=True).numpy(), noise(x, training=True).numpy()
    assert np.abs(first - second).max() > 0.1
    # one (B, H, W, 1) map shared by the channels, times each channel's scale
    unit = (first - x)[..., 1]
    np.testing.assert_allclose((first - x)[..., 0], 0.5 * unit, atol=1e-6)
    np.testing.assert_allclose((first - x)[..., 2], -2.0 * unit, atol=1e-5)
    np.testing.assert_array_equal((first - x)[..., 3], 0.0)
    np.testing.assert_array_equal(noise(x, training=False), x)
    np.testing.assert_array_equal(noise(x, training=False), noise(x))


def test_attention_gate_scales_the_skip_by_coefficients_in_0_1():
    gate = AttentionGate(8)
    gating, skip = random_images((2, 8, 8, 16), seed=1), random_images((2, 8, 8, 12), seed=2)
    gated = gate([gating, skip]).numpy()
    alpha = gate.coefficients([gating, skip]).numpy()
    assert gated.shape == skip.shape
    assert alpha.shape == (2, 8, 8, 1)
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert alpha.std() > 0.05  # it does attend: not a constant map
    np.testing.assert_allclose(gated, skip * alpha, atol=1e-6)


@pytest.mark.parametrize("sampling, size", [("down", 4), ("up", 16), (None, 8)])
def test_residual_block_sampling(sampling, size):
    block = ResidualBlock(12, sampling=sampling)
    assert tuple(block(random_images((2, 8, 8, 6))).shape) == (2, size, size, 12)
    assert block.has_projection  # 6 -> 12 channels needs the 1x1 shortcut
    same_width = ResidualBlock(6, sampling=sampling)
    same_width(random_images((2, 8, 8, 6)))
    assert not same_width.has_projection
    with pytest.raises(ValueError, match="sampling"):
        ResidualBlock(6, sampling="sideways")


def test_residual_block_uses_group_norm_and_ws_convs():
    block = ResidualBlock(64, sampling="down")
    block(random_images((1, 8, 8, 32)))
    convs = [layer for layer in all_layers(block) if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 3 and all(isinstance(conv, WSConv2D) for conv in convs)
    norms = [layer for layer in all_layers(block) if isinstance(layer, keras.layers.GroupNormalization)]
    assert len(norms) == 3 and {norm.groups for norm in norms} == {32}
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in all_layers(block))


def test_decoding_block_doubles_the_size():
    block = DecodingBlock(16, seed=1)
    out = block([random_images((2, 4, 4, 24)), random_images((2, 8, 8, 8))], training=True)
    assert tuple(out.shape) == (2, 8, 8, 16)


def test_reference_generator_is_deterministic_at_inference(tiny_generators):
    generator = tiny_generators["reference_unet"]
    noises = [layer for layer in all_layers(generator) if isinstance(layer, NoiseInjection)]
    assert len(noises) == 1 + 4 + 1  # bottleneck, each decoding block (depth 5), before the output
    for layer in noises:  # (only training=True calls see the scales: other tests are unaffected)
        layer.scale.assign(np.full(layer.scale.shape, 0.5, "float32"))
    sketch = random_images((2, 32, 32, REFERENCE_INPUT_CHANNELS))  # a multiple of 2**5 is enough
    np.testing.assert_array_equal(generator(sketch, training=False), generator(sketch, training=False))
    assert np.abs(generator(sketch, training=True) - generator(sketch, training=True)).max() > 1e-3


def test_reference_generator_keras_file_round_trip(tmp_path, tiny_generators):
    generator = tiny_generators["reference_unet"]
    for layer in all_layers(generator):
        if isinstance(layer, NoiseInjection):  # non-default weights must survive too
            layer.scale.assign(np.linspace(-1, 1, layer.scale.shape[0]).astype("float32"))
    sketch = random_images((2, 32, 32, REFERENCE_INPUT_CHANNELS))
    path = tmp_path / "reference.keras"
    generator.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(restored(sketch, training=False), generator(sketch, training=False))
    assert isinstance(restored.get_layer("decoder_1"), DecodingBlock)
    assert len(restored.weights) == len(generator.weights)
    for saved, loaded in zip(generator.weights, restored.weights):
        np.testing.assert_array_equal(saved.numpy(), loaded.numpy(), err_msg=saved.path)


# --- gradients -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(NEW_GENERATORS))
def test_one_gradient_step_reduces_l1(name):
    keras.utils.set_random_seed(7)
    channels = NEW_GENERATORS[name]
    # Two levels are enough to put every kind of block (attention, noise, WS conv) in the path.
    generator = build_generator(name, image_size=32, depth=2, **TINY)
    sketch = tf.constant(random_images((2, 32, 32, channels), seed=8))
    target = tf.constant(random_images((2, 32, 32, 3), seed=9))

    def l1():
        return tf.reduce_mean(tf.abs(generator(sketch, training=True) - target))

    with tf.GradientTape() as tape:
        before = l1()
    variables = generator.trainable_variables
    gradients = tape.gradient(before, variables)
    missing = [v.path for v, g in zip(variables, gradients) if g is None]
    assert not missing, f"no gradient reaches {missing}"
    flowing = {v.path for v, g in zip(variables, gradients) if float(tf.reduce_max(tf.abs(g))) > 0}
    if name == "reference_unet":  # through the attention gates, the noise scales, the WS convs
        for part in ("attention/psi_conv", "attention/gating_projection", "noise/scale", "merge/conv_1"):
            assert any(part in path for path in flowing), part
    keras.optimizers.Adam(1e-4).apply_gradients(zip(gradients, variables))
    assert float(l1()) < float(before)


# --- spectral-norm PatchGAN ----------------------------------------------------------------


def test_spectral_patchgan_at_256():
    keras.utils.set_random_seed(11)
    discriminator = build_discriminator(
        "patchgan_spectral", image_size=256, input_channels=REFERENCE_INPUT_CHANNELS
    )
    assert [tensor.name for tensor in discriminator.inputs] == ["sketch", "image"]
    assert tuple(discriminator.inputs[0].shape) == (None, None, None, REFERENCE_INPUT_CHANNELS)
    sketch = np.zeros((2, 256, 256, REFERENCE_INPUT_CHANNELS), "float32")
    logits = discriminator([sketch, np.zeros((2, 256, 256, 3), "float32")], training=False)
    assert tuple(logits.shape) == (2, 30, 30, 1) and logits.dtype == tf.float32
    assert patch_grid_size(256) == 30
    wrapped = [
        layer for layer in all_layers(discriminator) if isinstance(layer, keras.layers.SpectralNormalization)
    ]
    assert len(wrapped) == 5  # three stride-2 convs, the C512 conv, the logits conv
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in all_layers(discriminator))


def test_spectral_norm_of_every_kernel_is_one_after_training_steps():
    keras.utils.set_random_seed(12)
    discriminator = patchgan_spectral_discriminator(image_size=64, base_filters=8)
    pair = [random_images((2, 64, 64, 3), seed=1), random_images((2, 64, 64, 3), seed=2)]
    for _ in range(15):  # each training call runs one power iteration and rescales the kernel
        discriminator(pair, training=True)
    wrapped = [
        layer for layer in all_layers(discriminator) if isinstance(layer, keras.layers.SpectralNormalization)
    ]
    assert len(wrapped) == 5
    for layer in wrapped:
        kernel = layer.layer.kernel.numpy()
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert sigma == pytest.approx(1.0, abs=0.05), layer.name
        assert layer.layer.use_bias


def test_unconditional_spectral_patchgan():
    discriminator = patchgan_spectral_discriminator(image_size=64, base_filters=8, conditional=False)
    assert [tensor.name for tensor in discriminator.inputs] == ["image"]
    logits = discriminator(random_images((1, 64, 64, 3)), training=True)
    assert tuple(logits.shape) == (1, patch_grid_size(64), patch_grid_size(64), 1)


# --- mixed precision and registry ----------------------------------------------------------


def test_reference_generator_under_mixed_precision():
    # The custom layers' own dtype handling: WS statistics in float32, bf16 noise, float32 tanh.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        generator = reference_generator(image_size=32, depth=2, **TINY)
        assert generator.get_layer("encoder_1").conv_1.compute_dtype == "bfloat16"
        color = generator(random_images((1, 32, 32, REFERENCE_INPUT_CHANNELS)), training=True)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert color.dtype == tf.float32
    assert np.all(np.isfinite(color.numpy()))


def test_registry_has_the_new_models():
    assert GENERATORS["sgru"] is sgru_generator
    assert GENERATORS["reference_unet"] is reference_generator
    assert GENERATORS["convnet"] is convnet_generator
    assert DISCRIMINATORS["patchgan_spectral"] is patchgan_spectral_discriminator


def test_sgru_without_normalization():
    generator = sgru_generator(image_size=32, depth=2, norm="none", **TINY)
    assert not any(isinstance(layer, keras.layers.GroupNormalization) for layer in generator.layers)
    assert all(layer.use_bias for layer in generator.layers if isinstance(layer, keras.layers.Conv2D))
    assert tuple(generator(random_images((1, 32, 32, 3))).shape) == (1, 32, 32, 3)
    with pytest.raises(ValueError, match="norm"):
        sgru_generator(norm="batch")

"""The pix2pix networks built for real: shapes, the paper's architecture details, the registry.

256 px models are only built for shape/structure checks (they are large but cheap to build);
everything that runs many forward passes uses small images or narrow widths.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from sketch2color.models import (
    DISCRIMINATORS,
    GENERATORS,
    build_discriminator,
    build_generator,
    register_generator,
)
from sketch2color.models.blocks import all_layers
from sketch2color.models.patchgan import patch_grid_size, patchgan_discriminator
from sketch2color.models.unet import unet_generator


def blocks_of(model: keras.Model) -> list[keras.Sequential]:
    """The named Sequential blocks (encoder_*, decoder_*, disc_*) of a model."""
    return [layer for layer in model.layers if isinstance(layer, keras.Sequential)]


def layer_types(block: keras.Sequential) -> list[type]:
    """The classes of a block's layers, in order."""
    return [type(layer) for layer in block.layers]


@pytest.fixture(scope="module")
def generator_256() -> keras.Model:
    """The full-size pix2pix U-Net (54M weights), built once for the structure checks."""
    keras.utils.set_random_seed(1)
    return unet_generator(image_size=256)


@pytest.fixture(scope="module")
def discriminator_256() -> keras.Model:
    """The full-size conditional PatchGAN."""
    keras.utils.set_random_seed(2)
    return patchgan_discriminator(image_size=256)


# --- U-Net generator ---------------------------------------------------------------------


@pytest.mark.parametrize("size, depth", [(64, 6), (128, 7), (256, 8)])
def test_generator_output_shape_equals_input_shape(size, depth):
    generator = build_generator("unet", image_size=size)
    encoder = [b for b in blocks_of(generator) if b.name.startswith("encoder_")]
    decoder = [b for b in blocks_of(generator) if b.name.startswith("decoder_")]
    assert (len(encoder), len(decoder)) == (depth, depth - 1)

    sketch = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype("float32")
    color = generator(sketch, training=False)
    assert tuple(color.shape) == (2, size, size, 3)
    assert color.dtype == tf.float32


def test_generator_bottleneck_is_1x1_at_full_depth(generator_256):
    bottleneck = keras.Model(generator_256.input, generator_256.get_layer("encoder_8").output)
    assert tuple(bottleneck(np.zeros((1, 256, 256, 3), "float32")).shape) == (1, 1, 1, 512)


def test_generator_is_fully_convolutional(generator_256):
    # Built for 256 px, it runs on any multiple of 2**8, e.g. a 256x512 landscape sketch.
    color = generator_256(np.zeros((1, 256, 512, 3), "float32"), training=False)
    assert tuple(color.shape) == (1, 256, 512, 3)


def test_generator_filters_follow_pix2pix(generator_256):
    def filters(prefix, count):
        return [generator_256.get_layer(f"{prefix}_{i}").layers[0].filters for i in range(1, count + 1)]

    assert filters("encoder", 8) == [64, 128, 256, 512, 512, 512, 512, 512]
    assert filters("decoder", 7) == [512, 512, 512, 512, 256, 128, 64]


def test_smaller_generator_keeps_first_encoder_filters():
    generator = unet_generator(image_size=64)  # depth 6
    encoder = [generator.get_layer(f"encoder_{i}").layers[0].filters for i in range(1, 7)]
    decoder = [generator.get_layer(f"decoder_{i}").layers[0].filters for i in range(1, 6)]
    assert encoder == [64, 128, 256, 512, 512, 512]
    assert decoder == [512, 512, 256, 128, 64]


def test_dropout_only_in_first_three_decoder_blocks(generator_256):
    with_dropout = {
        block.name
        for block in blocks_of(generator_256)
        if any(isinstance(layer, keras.layers.Dropout) for layer in block.layers)
    }
    assert with_dropout == {"decoder_1", "decoder_2", "decoder_3"}
    rates = {layer.rate for layer in all_layers(generator_256) if isinstance(layer, keras.layers.Dropout)}
    assert rates == {0.5}


def test_batch_norm_placement_in_encoder(generator_256):
    has_bn = {
        block.name: keras.layers.BatchNormalization in layer_types(block)
        for block in blocks_of(generator_256)
    }
    assert has_bn["encoder_1"] is False  # C64: no batch norm
    assert all(has_bn[f"encoder_{i}"] for i in range(2, 8))
    assert has_bn["encoder_8"] is False  # 1x1 bottleneck: no batch norm ...
    assert layer_types(generator_256.get_layer("encoder_8"))[-1] is keras.layers.ReLU  # ... ReLU
    assert all(has_bn[f"decoder_{i}"] for i in range(1, 8))


def test_activations_leaky_down_plain_up(generator_256):
    for i in range(1, 8):
        assert layer_types(generator_256.get_layer(f"encoder_{i}"))[-1] is keras.layers.LeakyReLU
    for i in range(1, 8):
        assert layer_types(generator_256.get_layer(f"decoder_{i}"))[-1] is keras.layers.ReLU


@pytest.mark.parametrize("network", ["generator_256", "discriminator_256"])
def test_leaky_relu_slopes_are_0_2(network, request):
    model = request.getfixturevalue(network)
    slopes = [
        layer.negative_slope for layer in all_layers(model) if isinstance(layer, keras.layers.LeakyReLU)
    ]
    assert len(slopes) >= 4
    assert slopes == pytest.approx([0.2] * len(slopes))


@pytest.mark.parametrize("network", ["generator_256", "discriminator_256"])
def test_no_conv_bias_before_batch_norm(network, request):
    model = request.getfixturevalue(network)
    checked = 0
    for block in blocks_of(model):
        for layer, following in zip(block.layers, block.layers[1:]):
            if isinstance(layer, keras.layers.Conv2D):  # Conv2DTranspose is a subclass
                followed_by_bn = isinstance(following, keras.layers.BatchNormalization)
                assert layer.use_bias is not followed_by_bn, f"{block.name}/{layer.name}"
                assert (layer.bias is None) is followed_by_bn
                checked += followed_by_bn
    assert checked >= 3


def test_kernel_init_is_normal_0_02(generator_256, discriminator_256):
    # encoder_5's kernel has 4*4*512*512 = 4M entries: the sample std is within ~0.1% of 0.02.
    kernel = generator_256.get_layer("encoder_5").layers[0].kernel.numpy()
    assert kernel.size == 4 * 4 * 512 * 512
    assert abs(kernel.mean()) < 1e-3
    assert kernel.std() == pytest.approx(0.02, rel=0.02)
    transposed = generator_256.get_layer("decoder_2").layers[0].kernel.numpy()
    assert transposed.std() == pytest.approx(0.02, rel=0.02)
    disc_kernel = discriminator_256.get_layer("disc_conv_512").layers[0].kernel.numpy()
    assert disc_kernel.std() == pytest.approx(0.02, rel=0.02)


def test_generator_output_is_tanh_bounded():
    keras.utils.set_random_seed(3)
    generator = unet_generator(image_size=32, base_filters=8)
    # Blow up the last conv so that, without tanh, outputs would be far outside [-1, 1].
    output_conv = generator.get_layer("output_conv")
    output_conv.kernel.assign(output_conv.kernel * 1e4)
    sketch = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    color = generator(sketch, training=False).numpy()
    assert np.all(np.abs(color) <= 1.0)
    assert np.abs(color).max() > 0.99


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(image_size=100), "multiple"),  # depth 6 -> needs a multiple of 64
        (dict(image_size=96, depth=6), "multiple"),
        (dict(image_size=256, depth=9), "depth"),
        (dict(image_size=1), "too small"),
    ],
)
def test_generator_rejects_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        unet_generator(**kwargs)


# --- PatchGAN discriminator ----------------------------------------------------------------


def test_discriminator_outputs_30x30_logits_at_256(discriminator_256):
    assert [tensor.name for tensor in discriminator_256.inputs] == ["sketch", "image"]
    images = np.zeros((2, 256, 256, 3), "float32")
    logits = discriminator_256([images, images], training=False)
    assert tuple(logits.shape) == (2, 30, 30, 1)
    assert logits.dtype == tf.float32
    assert patch_grid_size(256) == 30


def test_discriminator_structure(discriminator_256):
    assert keras.layers.BatchNormalization not in layer_types(discriminator_256.get_layer("disc_down_1"))
    for name in ("disc_down_2", "disc_down_3", "disc_conv_512"):
        assert keras.layers.BatchNormalization in layer_types(discriminator_256.get_layer(name))
    conv_512 = discriminator_256.get_layer("disc_conv_512").layers[0]
    assert (conv_512.filters, conv_512.strides, conv_512.padding) == (512, (1, 1), "valid")
    assert discriminator_256.get_layer("logits_conv").filters == 1


def test_unconditional_discriminator_takes_the_image_only():
    for discriminator in (
        build_discriminator("patchgan_unconditional", image_size=64, base_filters=8),
        build_discriminator("patchgan", image_size=64, base_filters=8, conditional=False),
    ):
        assert [tensor.name for tensor in discriminator.inputs] == ["image"]
        logits = discriminator(np.zeros((3, 64, 64, 3), "float32"))
        assert tuple(logits.shape) == (3, patch_grid_size(64), patch_grid_size(64), 1)


def test_discriminator_without_norm():
    discriminator = patchgan_discriminator(image_size=64, norm="none", base_filters=8)
    layers = all_layers(discriminator)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers)
    assert all(layer.use_bias for layer in layers if isinstance(layer, keras.layers.Conv2D))
    with pytest.raises(ValueError, match="norm"):
        patchgan_discriminator(norm="spectral-ish")


def test_discriminator_rejects_too_small_images():
    with pytest.raises(ValueError, match="image_size"):
        patchgan_discriminator(image_size=16)


def window_rows(cell: int) -> tuple[int, int]:
    """Input rows (inclusive) seen by output row ``cell``: three stride-2 4x4 'same' convs
    (pad 1 before) then two 4x4 valid convs after a 1-pixel zero padding."""
    return 8 * cell - 23, 8 * cell + 46


def test_each_logit_sees_a_70x70_window():
    # Reverse view: the input pixels an output cell depends on (non-zero gradient).
    keras.utils.set_random_seed(4)
    discriminator = patchgan_discriminator(image_size=128, base_filters=8)
    pair = [
        tf.constant(np.random.default_rng(1).uniform(-1, 1, (1, 128, 128, 3)), tf.float32) for _ in range(2)
    ]
    with tf.GradientTape() as tape:
        tape.watch(pair)
        logits = discriminator(pair, training=False)  # (1, 14, 14, 1)
        cell = logits[0, 7, 7, 0]
    influence = sum(np.abs(g.numpy()[0]).sum(axis=-1) for g in tape.gradient(cell, pair))
    rows, cols = np.nonzero(influence)
    assert (rows.min(), rows.max()) == window_rows(7)
    assert (cols.min(), cols.max()) == window_rows(7)
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


@pytest.mark.parametrize("pixel", [(64, 64), (61, 70), (40, 90)])
def test_one_pixel_changes_only_patches_whose_window_contains_it(pixel):
    # Forward view: perturb one sketch pixel and see which logits move.
    keras.utils.set_random_seed(5)
    discriminator = patchgan_discriminator(image_size=128, base_filters=8)
    rng = np.random.default_rng(2)
    sketch = rng.uniform(-1, 1, (1, 128, 128, 3)).astype("float32")
    image = rng.uniform(-1, 1, (1, 128, 128, 3)).astype("float32")
    before = discriminator([sketch, image], training=False).numpy()[0, ..., 0]
    sketch[0, pixel[0], pixel[1], :] += 1.5
    after = discriminator([sketch, image], training=False).numpy()[0, ..., 0]

    changed = np.argwhere(before != after)
    assert len(changed) > 0
    grid = before.shape[0]
    expected = {
        (i, j)
        for i in range(grid)
        for j in range(grid)
        if window_rows(i)[0] <= pixel[0] <= window_rows(i)[1]
        and window_rows(j)[0] <= pixel[1] <= window_rows(j)[1]
    }
    assert {tuple(cell) for cell in changed} <= expected
    # The changed cells span at most ceil(70 / 8) = 9 rows and columns (8 px output stride).
    extent = changed.max(axis=0) - changed.min(axis=0) + 1
    assert np.all(extent <= 9)
    assert np.all(extent >= 8)  # and the window really is that wide, not smaller


# --- registry ------------------------------------------------------------------------------


def test_registry_names():
    assert GENERATORS["unet"] is unet_generator
    assert DISCRIMINATORS["patchgan"] is patchgan_discriminator
    assert "patchgan_unconditional" in DISCRIMINATORS


def test_registry_unknown_names_list_valid_ones():
    with pytest.raises(ValueError, match=r"unknown generator 'resnet9'.*'unet'"):
        build_generator("resnet9")
    with pytest.raises(
        ValueError, match=r"unknown discriminator 'nope'.*'patchgan'.*'patchgan_unconditional'"
    ):
        build_discriminator("nope")


def test_registering_a_different_builder_under_a_taken_name_fails():
    with pytest.raises(ValueError, match="already registered"):
        register_generator("unet")(lambda **kwargs: None)
    assert GENERATORS["unet"] is unet_generator

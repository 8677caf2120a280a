"""Generator and discriminator builders, looked up by name so configs can pick them.

    generator = build_generator("unet", image_size=256)
    discriminator = build_discriminator("patchgan", image_size=256)

Registered names:

- generators: ``"unet"`` (pix2pix U-Net, :func:`unet_generator`), ``"sgru"`` (Swish-gated
  residual U-Net, Liu, Chen & Hu 2019, :func:`sgru_generator`), ``"reference_unet"`` (the
  reference colorizer's residual attention U-Net with noise, 30-channel sketch + palette input,
  "Anime Sketch Colorizer" 2020, :func:`reference_generator`) and ``"convnet"`` (plain
  encoder-decoder of the "ConvNet with L2 loss" baseline, Fu, Hsu & Yang 2017,
  :func:`convnet_generator`).
- discriminators: ``"patchgan"`` (conditional 70x70 PatchGAN, :func:`patchgan_discriminator`;
  it also accepts ``conditional=False``) and ``"patchgan_unconditional"`` (the same with
  ``conditional=False`` fixed, for configs that only carry a name), plus ``"patchgan_spectral"``
  (conditional, spectral normalization on every conv, no batch norm; Miyato et al. 2018, as in
  the reference colorizer).

New architectures register themselves with the ``register_generator(name)`` /
``register_discriminator(name)`` decorators.
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from sketch2color.models.blocks import downsample, upsample
from sketch2color.models.convnet import convnet_generator
from sketch2color.models.patchgan import patchgan_discriminator, patchgan_spectral_discriminator
from sketch2color.models.reference import reference_generator
from sketch2color.models.sgru import sgru_generator
from sketch2color.models.unet import unet_generator

Builder = Callable[..., keras.Model]

GENERATORS: dict[str, Builder] = {}
DISCRIMINATORS: dict[str, Builder] = {}


def _register(registry: dict[str, Builder], kind: str, name: str) -> Callable[[Builder], Builder]:
    """Decorator factory adding a builder under ``name``; a second, different builder is an error."""

    def decorator(builder: Builder) -> Builder:
        existing = registry.get(name)
        if existing is not None and existing is not builder:
            raise ValueError(f"a {kind} named {name!r} is already registered ({existing!r})")
        registry[name] = builder
        return builder

    return decorator


def register_generator(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``build_generator(name, ...)`` call the decorated builder."""
    return _register(GENERATORS, "generator", name)


def register_discriminator(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``build_discriminator(name, ...)`` call the decorated builder."""
    return _register(DISCRIMINATORS, "discriminator", name)


def _lookup(registry: dict[str, Builder], kind: str, name: str) -> Builder:
    """The builder registered as ``name``, or a ValueError listing the valid names."""
    try:
        return registry[name]
    except KeyError:
        valid = ", ".join(repr(key) for key in sorted(registry))
        raise ValueError(f"unknown {kind} {name!r}; valid names: {valid}") from None


def build_generator(name: str, **kwargs) -> keras.Model:
    """Build the generator registered as ``name`` with the builder's keyword arguments."""
    return _lookup(GENERATORS, "generator", name)(**kwargs)


def build_discriminator(name: str, **kwargs) -> keras.Model:
    """Build the discriminator registered as ``name`` with the builder's keyword arguments."""
    return _lookup(DISCRIMINATORS, "discriminator", name)(**kwargs)


def patchgan_unconditional(**kwargs) -> keras.Model:
    """The PatchGAN judging the image alone (no sketch input)."""
    return patchgan_discriminator(conditional=False, **kwargs)


register_generator("unet")(unet_generator)
register_discriminator("patchgan")(patchgan_discriminator)
register_discriminator("patchgan_unconditional")(patchgan_unconditional)
register_generator("sgru")(sgru_generator)
register_generator("reference_unet")(reference_generator)
register_generator("convnet")(convnet_generator)
register_discriminator("patchgan_spectral")(patchgan_spectral_discriminator)

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "build_discriminator",
    "build_generator",
    "convnet_generator",
    "downsample",
    "patchgan_discriminator",
    "patchgan_spectral_discriminator",
    "patchgan_unconditional",
    "reference_generator",
    "register_discriminator",
    "register_generator",
    "sgru_generator",
    "unet_generator",
    "upsample",
]

"""Named setups that reproduce the systems of the papers the project grew from.

Each preset is a set of overrides on the default :class:`~sketch2color.config.RunConfig`
(whose defaults are pix2pix's). ``python -m sketch2color.train --preset NAME`` applies one;
flags given on the command line still win, and the run's ``config.json`` records the result.

The presets:

- ``pix2pix``: generator U-Net (8 levels); adversary 70x70 PatchGAN, BN; losses BCE + 100 L1.
  Notes: Isola et al. 2017; Liao, Ahmed & Shrestha, "Anime Sketch Colorization using GAN-based
  Techniques".
- ``unet-l1``: generator the pix2pix U-Net at a quarter of its width (16 base filters); adversary
  none; losses L1; Adam lr 1e-3. Notes: the L1-only ablation of Isola et al. 2017, sized for a
  CPU: on real anime art it gets the most PSNR per CPU-minute of any preset (blurrier colors
  than the GAN presets, which trade PSNR for sharpness). With ``--hints`` it is the hint model.
- ``convnet-l2``: generator encoder-decoder, no skips; adversary none; losses L2.
  Notes: Fu, Hsu & Yang 2017, "Colorization Using ConvNet and GAN": gray input, batch 64,
  Adam beta_1 0.9.
- ``sgru``: generator swish-gated residual U-Net; adversary PatchGAN, spectral norm;
  losses BCE + 100 L1 + 1e-4 VGG.
  Notes: Liu, Chen & Hu 2019, "Anime Sketch Coloring with Swish-Gated Residual U-Net".
- ``sgru-hints``: generator the same + color hints; adversary PatchGAN, spectral norm;
  losses BCE + 100 L1 + 1e-4 VGG.
  Notes: the same with sparse color hint maps.
- ``reference``: generator residual GN+WS U-Net, attention gates, noise; adversary PatchGAN,
  spectral norm; losses LSGAN + 100 L1 + 1e-4 VGG + 1e-2 TV.
  Notes: "Anime Sketch Colorizer: Automatic Sketch Colorization with Reference Image" (2020):
  K-means palette of a reference, batch 2; Qiao et al. 2019 (Weight Standardization), Oktay et
  al. 2018 (attention gates), Karras et al. 2019 (noise), Miyato et al. 2018 (spectral norm).
"""

from __future__ import annotations

import copy

from sketch2color.config import ConfigError, RunConfig

Override = dict[tuple[str, str], object]

PRESETS: dict[str, Override] = {
    "pix2pix": {},
    "unet-l1": {
        ("model", "discriminator"): "none",
        ("model", "generator_kwargs"): {"base_filters": 16},
        ("train", "learning_rate"): 1e-3,
    },
    "convnet-l2": {
        ("model", "generator"): "convnet",
        ("model", "discriminator"): "none",
        ("train", "l1_weight"): 0.0,
        ("train", "l2_weight"): 1.0,
        ("train", "beta_1"): 0.9,
        ("train", "epochs"): 20,
        ("data", "batch_size"): 64,
        ("data", "input_mode"): "gray",
    },
    "sgru": {
        ("model", "generator"): "sgru",
        ("model", "discriminator"): "patchgan_spectral",
        ("train", "feature_weight"): 1e-4,
    },
    "sgru-hints": {
        ("model", "generator"): "sgru",
        ("model", "discriminator"): "patchgan_spectral",
        ("train", "feature_weight"): 1e-4,
        ("data", "hints"): True,
    },
    "reference": {
        ("model", "generator"): "reference_unet",
        ("model", "discriminator"): "patchgan_spectral",
        ("train", "adversarial_loss"): "lsgan",
        ("train", "l1_weight"): 100.0,
        ("train", "feature_weight"): 1e-4,
        ("train", "tv_weight"): 1e-2,
        ("data", "palette"): True,
        ("data", "batch_size"): 2,
    },
}


def apply_preset(config: RunConfig, name: str) -> RunConfig:
    """Set the preset's values on ``config`` (in place) and record its name."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    for (section, key), value in PRESETS[name].items():
        setattr(getattr(config, section), key, copy.deepcopy(value))
    config.preset = name
    return config

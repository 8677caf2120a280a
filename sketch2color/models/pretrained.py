"""Pretrained ImageNet networks: VGG16 (feature loss) and InceptionV3 (FID/KID), and their weight files.

One resolver finds the weights for both: ``"imagenet"`` is the file Keras itself caches
(``$KERAS_HOME/models`` or ``~/.keras/models``), a path is a local ``.h5`` / ``.weights.h5``
file, None is random weights (tests and benchmarks only). The file is looked for *before* Keras
is asked for anything, so an offline run stops at once with a message naming the file and the
ways to get it, instead of a download traceback. Networks are built with ``weights=None`` and
then loaded, so Keras never starts a download on its own; only ``allow_download=True`` fetches
the file, with Keras' ``get_file`` into the same cache.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import keras

from sketch2color.models.blocks import precision_policy


class PretrainedWeightsUnavailable(RuntimeError):
    """Pretrained weights that are not on this machine (nothing is downloaded unless allowed)."""


@dataclasses.dataclass(frozen=True)
class PretrainedWeights:
    """One Keras ImageNet weights file and how a user of this package gets or replaces it."""

    network: str
    purpose: str
    file_name: str
    url: str
    md5: str
    size: str
    local_file_option: str  # how to pass a file you have
    other_options: str  # what else the user can do


VGG16_NOTOP = PretrainedWeights(
    network="VGG16",
    purpose="the feature loss",
    file_name="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    url="https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    md5="6d6bbae143d832006294945121d1f1fc",  # Keras' own file_hash for the notop file
    size="58 MB",
    local_file_option="--vgg-weights FILE (weights=FILE)",
    other_options="This machine may be offline, so nothing is downloaded; --vgg-weights random "
    "(weights=None) gives random weights (tests only: the loss is then meaningless).",
)
INCEPTION_V3 = PretrainedWeights(
    network="InceptionV3",
    purpose="FID/KID",
    file_name="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    url="https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    md5="bcbd6486424b2319ff4ef7d526e38f63",
    size="84 MB",
    local_file_option="--inception-weights FILE (python -m sketch2color.evaluate) / weights=FILE",
    other_options="Or allow the download (--download-inception), or skip FID/KID with --no-fid.",
)


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded weights: ``$KERAS_HOME/models`` or ``~/.keras/models``.

    Mirrors Keras' own rule (including its /tmp fallback when home is not writable), read at
    call time: Keras fixes its own copy of the location when it is first imported.
    """
    if "KERAS_HOME" in os.environ:
        base = Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        home = Path("~").expanduser()
        base = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
    return base / "models"


def how_to_get(spec: PretrainedWeights, folder: Path) -> str:
    """The instructions every missing- or broken-weights error ends with."""
    return (
        f"Get {spec.file_name} ({spec.size}, md5 {spec.md5}) from {spec.url}, or run "
        f'`python -c "import keras; keras.applications.{spec.network}(include_top=False)"` on a machine '
        f"with internet and copy ~/.keras/models/{spec.file_name}; then put it in {folder} or pass its path "
        f"with {spec.local_file_option}. {spec.other_options}"
    )


def weights_path(
    spec: PretrainedWeights,
    weights: str | os.PathLike | None = "imagenet",
    cache_dir: str | os.PathLike | None = None,
    allow_download: bool = False,
) -> Path | None:
    """The local weights file for ``weights`` ("imagenet", a file, or None for random weights).

    Raises PretrainedWeightsUnavailable, naming the file and the options, when it is missing.
    """
    if weights is None:
        return None
    folder = Path(cache_dir).expanduser() if cache_dir is not None else keras_cache_dir()
    if str(weights) != "imagenet":
        path = Path(weights).expanduser()
        if not path.is_file():
            raise PretrainedWeightsUnavailable(
                f"{path}: {spec.network} weights file not found. {how_to_get(spec, folder)}"
            )
        return path
    path = folder / spec.file_name
    if path.is_file():
        return path
    if allow_download:
        return Path(
            keras.utils.get_file(
                spec.file_name,
                spec.url,
                cache_subdir="models",
                cache_dir=str(folder.parent),
                file_hash=spec.md5,
            )
        )
    raise PretrainedWeightsUnavailable(
        f"{spec.network} ImageNet weights for {spec.purpose} not found: {path} does not exist "
        f"and downloading is off. {how_to_get(spec, folder)}"
    )


def load_weights(model: keras.Model, path: Path | None, spec: PretrainedWeights) -> keras.Model:
    """Load ``path`` into ``model`` (nothing for None), or PretrainedWeightsUnavailable naming the file."""
    if path is not None:
        try:
            model.load_weights(str(path))
        except (OSError, ValueError) as error:
            raise PretrainedWeightsUnavailable(
                f"{path}: cannot load {spec.network} no-top weights from this file ({error}). "
                f"{how_to_get(spec, keras_cache_dir())}"
            ) from error
    return model


def vgg16_features(layers: tuple[str, ...], weights="imagenet", cache_dir=None) -> keras.Model:
    """A frozen float32 VGG16 (no top): preprocessed input -> the named layers' outputs."""
    path = weights_path(VGG16_NOTOP, weights, cache_dir)
    with precision_policy(mixed=False):  # loss networks stay float32 inside mixed-precision training
        vgg = load_weights(
            keras.applications.VGG16(include_top=False, weights=None, input_shape=(None, None, 3)),
            path,
            VGG16_NOTOP,
        )
        model = keras.Model(vgg.input, [vgg.get_layer(name).output for name in layers], name="vgg16_features")
    model.trainable = False
    return model


def inception_v3_pool_features(path: Path | None, image_size: int) -> keras.Model:
    """Float32 InceptionV3 (no top, global average pool: 2048 features) with the weights in ``path``."""
    with precision_policy(mixed=False):  # the FID protocol is float32, even inside mixed-precision training
        network = keras.applications.InceptionV3(
            include_top=False, pooling="avg", weights=None, input_shape=(image_size, image_size, 3)
        )
    return load_weights(network, path, INCEPTION_V3)

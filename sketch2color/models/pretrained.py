"""Pretrained ImageNet networks: VGG16 (feature loss) and InceptionV3 (FID/KID), and their weight files.

One resolver finds the weights for both, the way Keras does: ``"imagenet"`` is the file in the
Keras cache (``$KERAS_HOME/models`` or ``~/.keras/models``), downloaded there once with
``keras.utils.get_file`` and Keras' published hash when it is missing; a path is a local ``.h5`` /
``.weights.h5`` file; None is random weights (tests and benchmarks only). A failed download
(offline, a proxy, a bad hash) is one :class:`PretrainedWeightsUnavailable` line naming the file
and the ways out, raised while the run is being set up, never a traceback mid-training.
Networks are built with ``weights=None`` and then loaded, so only this module ever downloads.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path

import keras

from sketch2color.models.blocks import precision_policy


class PretrainedWeightsUnavailable(RuntimeError):
    """Pretrained weights that could not be found, downloaded or read (the message says which)."""


DOWNLOAD_TIMEOUT_SECONDS = 60  # per connection attempt and read: a dead network fails, never hangs


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
    random_option: str  # how to go on with random weights, and what that costs
    skip_option: str  # how to go on without the network at all


VGG16_NOTOP = PretrainedWeights(
    network="VGG16",
    purpose="the feature loss",
    file_name="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    url="https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    md5="6d6bbae143d832006294945121d1f1fc",  # Keras' own file_hash for the notop file
    size="58 MB",
    local_file_option="--vgg-weights FILE",
    random_option="--vgg-weights random (random features: the feature loss then means nothing)",
    skip_option="--feature-weight 0 (no feature loss)",
)
INCEPTION_V3 = PretrainedWeights(
    network="InceptionV3",
    purpose="FID/KID",
    file_name="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    url="https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    md5="bcbd6486424b2319ff4ef7d526e38f63",
    size="84 MB",
    local_file_option="--inception-weights FILE",
    random_option="--inception-weights random (FID/KID values then mean nothing)",
    skip_option="--fid-every 0 (train) or --no-fid (evaluate) to skip FID/KID",
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


def ways_out(spec: PretrainedWeights, folder: Path) -> str:
    """The three ways on that every missing- or broken-weights message ends with."""
    return (
        f"Either put {spec.file_name} ({spec.size}, md5 {spec.md5}, from {spec.url}) in {folder} "
        f"or pass a copy with {spec.local_file_option}; or {spec.random_option}; or {spec.skip_option}."
    )


def weights_path(
    spec: PretrainedWeights,
    weights: str | os.PathLike | None = "imagenet",
    cache_dir: str | os.PathLike | None = None,
) -> Path | None:
    """The local weights file for ``weights`` ("imagenet", a file, or None for random weights).

    "imagenet" downloads the file into the cache once (Keras' progress bar, hash checked), as
    ``keras.applications`` does. Raises PretrainedWeightsUnavailable, naming the file and the
    ways out, when a named file is missing or the download fails.
    """
    if weights is None:
        return None
    folder = Path(cache_dir).expanduser() if cache_dir is not None else keras_cache_dir()
    if str(weights) != "imagenet":
        path = Path(weights).expanduser()
        if not path.is_file():
            raise PretrainedWeightsUnavailable(
                f"{path}: {spec.network} weights file not found. {ways_out(spec, folder)}"
            )
        return path
    path = folder / spec.file_name
    if path.is_file():
        return path
    return download(spec, folder)


def download(spec: PretrainedWeights, folder: Path) -> Path:
    """Fetch ``spec``'s file into ``folder`` with Keras' ``get_file`` (checked against its md5)."""
    try:  # get_file would quietly fall back to /tmp/.keras for a folder that does not exist yet
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PretrainedWeightsUnavailable(
            f"{folder}: cannot create the weights cache folder ({error.strerror or error}). "
            f"{ways_out(spec, folder)}"
        ) from error
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)
    try:
        fetched = keras.utils.get_file(
            spec.file_name,
            spec.url,
            cache_subdir=folder.name,
            cache_dir=str(folder.parent),
            file_hash=spec.md5,
        )
    except Exception as error:  # get_file re-raises URL, HTTP, socket and hash failures as bare Exception
        for partial in folder.glob(f"{spec.file_name}*"):  # a half-written download must not stay
            partial.unlink(missing_ok=True)
        reason = " ".join(str(error).split()) or type(error).__name__
        raise PretrainedWeightsUnavailable(
            f"{spec.network} ImageNet weights for {spec.purpose}: {folder / spec.file_name} is not on "
            f"this machine and downloading it failed ({reason}; offline?). {ways_out(spec, folder)}"
        ) from error
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return Path(fetched)


def load_weights(model: keras.Model, path: Path | None, spec: PretrainedWeights) -> keras.Model:
    """Load ``path`` into ``model`` (nothing for None), or PretrainedWeightsUnavailable naming the file."""
    if path is not None:
        try:
            model.load_weights(str(path))
        except (OSError, ValueError) as error:
            raise PretrainedWeightsUnavailable(
                f"{path}: cannot load {spec.network} no-top weights from this file ({error}). "
                f"{ways_out(spec, keras_cache_dir())}"
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

"""The pretrained-weights resolver: "imagenet" is downloaded once into the cache (hash checked),
as Keras does; a failed download is one error naming the file and the ways out.

Nothing here touches the internet: the weights "server" is a local HTTP server, and conftest
points every proxy at a closed port for everything else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from sketch2color.models.pretrained import (
    INCEPTION_V3,
    VGG16_NOTOP,
    PretrainedWeightsUnavailable,
    weights_path,
)

PAYLOAD = b"stand-in weights file " * 1000


@pytest.fixture
def weights_server(tmp_path):
    """(base URL, list of requested paths) of a local server of ``tmp_path/served``."""
    served = tmp_path / "served"
    served.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def do_GET(self):  # noqa: N802  (http.server's name)
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served, requests
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("published", [VGG16_NOTOP, INCEPTION_V3], ids=lambda spec: spec.network)
def test_imagenet_weights_are_downloaded_once_into_the_cache(weights_server, tmp_path, published):
    base, served, requests = weights_server
    (served / published.file_name).write_bytes(PAYLOAD)
    spec = dataclasses.replace(
        published, url=f"{base}/{published.file_name}", md5=hashlib.md5(PAYLOAD).hexdigest()
    )
    cache = tmp_path / "keras_home" / "models"
    path = weights_path(spec, "imagenet", cache_dir=cache)
    assert path == cache / spec.file_name and path.read_bytes() == PAYLOAD
    assert weights_path(spec, "imagenet", cache_dir=cache) == path
    assert requests == [f"/{spec.file_name}"], "the second call must use the cached file"


def test_a_download_that_fails_its_hash_leaves_nothing_and_says_so(weights_server, tmp_path):
    base, served, _ = weights_server
    (served / VGG16_NOTOP.file_name).write_bytes(PAYLOAD[:-10])  # cut short on the way
    spec = dataclasses.replace(
        VGG16_NOTOP, url=f"{base}/{VGG16_NOTOP.file_name}", md5=hashlib.md5(PAYLOAD).hexdigest()
    )
    cache = tmp_path / "models"
    with pytest.raises(PretrainedWeightsUnavailable) as caught:
        weights_path(spec, "imagenet", cache_dir=cache)
    assert spec.file_name in str(caught.value) and "downloading it failed" in str(caught.value)
    assert not list(cache.glob("*")), "a file that failed its hash must not stay in the cache"


def test_a_missing_file_on_the_server_names_the_file_and_the_three_ways_out(weights_server, tmp_path):
    base, _, _ = weights_server
    spec = dataclasses.replace(INCEPTION_V3, url=f"{base}/{INCEPTION_V3.file_name}")
    with pytest.raises(PretrainedWeightsUnavailable) as caught:
        weights_path(spec, "imagenet", cache_dir=tmp_path / "models")
    message = str(caught.value)
    assert "\n" not in message and "404" in message
    for way_out in (str(tmp_path / "models"), "--inception-weights FILE", "random", "--fid-every 0"):
        assert way_out in message, way_out


def test_a_local_file_is_used_as_it_is_and_random_needs_no_file(tmp_path):
    local = tmp_path / "my_vgg.h5"
    local.write_bytes(PAYLOAD)
    assert weights_path(VGG16_NOTOP, local, cache_dir=tmp_path / "unused") == local
    assert weights_path(VGG16_NOTOP, None) is None
    with pytest.raises(PretrainedWeightsUnavailable, match="not found"):
        weights_path(VGG16_NOTOP, tmp_path / "missing.h5")
    assert not Path(tmp_path / "unused").exists()

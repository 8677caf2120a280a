"""The app end to end: launched as users launch it, on 127.0.0.1, driven with ``gradio_client``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from app_models import export_models
from app_server import REPO, running_app
from PIL import Image

gradio_client = pytest.importorskip("gradio_client", reason="the app extra: pip install -e '.[app]'")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported_models(tmp_path_factory):
    return export_models(tmp_path_factory.mktemp("app-models"))


def write_image(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


def sketch_file(folder: Path) -> Path:
    sketch = np.full((300, 200, 3), 255, np.uint8)
    sketch[100:106] = 0
    sketch[:, 120:124] = 0
    return write_image(folder / "sketch.png", sketch)


def stroke_file(folder: Path) -> Path:
    """A hint layer as the canvas sends it: RGBA, transparent but for one red stroke."""
    layer = np.zeros((300, 200, 4), np.uint8)
    layer[40:140, 30:110] = [220, 30, 30, 255]
    return write_image(folder / "stroke.png", layer)


def canvas(editor: dict, layers: list[Path]) -> dict:
    """The canvas value the page would send back: the prepared background plus drawn layers."""
    handle = gradio_client.handle_file
    return {
        "background": handle(editor["background"]),
        "layers": [handle(p) for p in layers],
        "composite": None,
    }


def test_the_app_colors_an_upload_at_its_size_and_a_hint_changes_it(tmp_path, exported_models):
    log = tmp_path / "app.log"
    with running_app(["--model", str(exported_models["hints"])], tmp_path, log) as url:
        client = gradio_client.Client(url, verbose=False)
        editor, _, status = client.predict(
            gradio_client.handle_file(sketch_file(tmp_path)), "auto", 40, None, api_name="/prepare"
        )
        assert status == "sketch.png: 200x300, read as sketch"
        (shown_sketch, plain), download, _ = client.predict(canvas(editor, []), "lines", api_name="/colorize")
        (_, hinted), _, _ = client.predict(
            canvas(editor, [stroke_file(tmp_path)]), "lines", api_name="/colorize"
        )
        plain, hinted = np.asarray(Image.open(plain)), np.asarray(Image.open(hinted))
        assert plain.shape == hinted.shape == (300, 200, 3)
        assert np.asarray(Image.open(download["value"])).shape == (300, 200, 3)  # the full-size PNG
        assert np.abs(plain.astype(int) - hinted).mean() > 0.01
        # A bad upload is a message, not a crash: the next call is served as before.
        bad = tmp_path / "notes.png"
        bad.write_text("not an image")
        with pytest.raises(gradio_client.exceptions.AppError, match="notes.png: not an image"):
            client.predict(gradio_client.handle_file(bad), "auto", 40, None, api_name="/prepare")
        again = client.predict(
            gradio_client.handle_file(sketch_file(tmp_path)), "auto", 40, None, api_name="/prepare"
        )
        assert again[2].startswith("sketch.png")
    assert "Traceback" not in log.read_text()
    assert "Running on local URL:  http://127.0.0.1:" in log.read_text()


def non_loopback_address() -> str | None:
    """An address of this machine other than 127.x (None where there is none)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this picks the outgoing interface
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_the_app_serves_this_machine_only_by_default(tmp_path, exported_models):
    with running_app(["--model", str(exported_models["pix2pix"])], tmp_path, tmp_path / "app.log") as url:
        address = non_loopback_address()
        if address is None:
            pytest.skip("this machine has no address but loopback")
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=5).close()


def test_a_palette_model_takes_typed_hex_codes_and_names_a_bad_one(tmp_path, exported_models):
    with running_app(["--model", str(exported_models["palette"])], tmp_path, tmp_path / "app.log") as url:
        client = gradio_client.Client(url, verbose=False)
        *swatches, text = client.predict("#ff8800, #112233", api_name="/palette_from_text")
        assert swatches == ["#ff8800", "#112233"] * 4 + ["#ff8800"] and text.startswith("#ff8800, #112233")
        with pytest.raises(gradio_client.exceptions.AppError, match="palette: bad palette color '#ggg'"):
            client.predict("#ffffff, #ggg", api_name="/palette_from_text")


def test_without_a_model_the_page_says_how_to_train_one(tmp_path):
    log = tmp_path / "app.log"
    # The working folder has no runs/: there is no default model.
    with (
        running_app(["--host", "0.0.0.0"], tmp_path, log) as url,
        urllib.request.urlopen(url + "config", timeout=10) as response,
    ):
        config = json.loads(response.read())
    texts = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])
    assert "No model loaded" in texts and "python -m sketch2color.train" in texts
    output = log.read_text()
    assert "warning: No model at runs/pix2pix-embedded" in output
    assert "warning: --host 0.0.0.0: the app is reachable from other machines" in output


def run_python(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python ARGUMENTS`` to completion, with the checkout importable."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_model_named_but_missing_stops_with_the_train_command(tmp_path):
    result = run_python(["-m", "sketch2color.app", "--model", str(tmp_path / "nothing")], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "error: --model" in result.stderr and "python -m sketch2color.train" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_gradio_the_command_says_which_extra_to_install(tmp_path):
    blocked = "import sys; sys.modules['gradio'] = None  # as if the app extra were not installed\n"
    code = blocked + "from sketch2color.cli.app import main; raise SystemExit(main([]))"
    result = run_python(["-c", code], tmp_path)
    assert result.returncode == 2, result.stderr
    assert 'error: the app needs Gradio (gradio is not installed): pip install -e ".[app]"' in result.stderr

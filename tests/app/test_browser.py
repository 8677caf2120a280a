"""The app in a real browser: Playwright driving Debian's Chromium (``.ci/run`` installs it).

A user's session: upload a pair file of the embedded dataset, wait for the colors, paint a hint
stroke on the canvas, wait for the new colors, and the screenshot of the page. Then every kind
of bad upload, each answered by its message in the page while the app keeps serving.

The model is a one-minute training run on the embedded data; ``SKETCH2COLOR_APP_MODEL=RUN``
uses another, and ``SKETCH2COLOR_SCREENSHOT=FILE`` also saves the screenshot there (the
README's ``docs/app.png`` is made so, with the default 10-minute run trained with ``--hints``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from app_server import REPO, running_app
from PIL import Image

from sketch2color.data.embedded import ensure_embedded_dataset

playwright = pytest.importorskip("playwright.sync_api", reason="the dev extra installs playwright")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)
pytestmark = pytest.mark.slow

# The flags a root sandbox with a closed network needs (no sandbox, no calls home).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def hint_model(tmp_path_factory) -> Path:
    """A hint model trained briefly on the embedded dataset (or SKETCH2COLOR_APP_MODEL)."""
    if os.environ.get("SKETCH2COLOR_APP_MODEL"):
        return Path(os.environ["SKETCH2COLOR_APP_MODEL"])
    run_dir = tmp_path_factory.mktemp("app-run") / "run"
    command = [sys.executable, "-m", "sketch2color.train", "--hints", "--image-size", "64", "--epochs", "1"]
    command += ["--steps-per-epoch", "60", "--batch-size", "8", "--fid-every", "0", "--run-dir", str(run_dir)]
    result = subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="module")
def embedded_pair() -> Path:
    """A validation pair file of the embedded dataset (the same files training uses)."""
    return sorted((Path(ensure_embedded_dataset()) / "val").glob("*.png"))[3]


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def result_image(page) -> tuple[str, np.ndarray]:
    """(address, pixels) of the colored side of the result slider."""
    source = page.locator("#result img").nth(1).get_attribute("src")
    return source, np.asarray(Image.open(io.BytesIO(page.request.get(source).body())).convert("RGB"))


def wait_for_new_result(page, previous: str | None) -> tuple[str, np.ndarray]:
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        images = page.locator("#result img")
        if images.count() >= 2 and images.nth(1).get_attribute("src") != previous:
            return result_image(page)
        time.sleep(0.25)
    raise AssertionError("no new result within the timeout")


def upload(page, path: Path) -> None:
    """Put ``path`` into the upload box, clearing what it held."""
    chooser = page.locator("#upload input[type=file]")
    for _ in range(20):  # the box re-renders while an upload settles: retry until it is empty
        if chooser.count():
            break
        with contextlib.suppress(playwright.TimeoutError):
            page.locator("#upload button[aria-label='Clear']").click(timeout=2000)
    chooser.set_input_files(str(path))


def paint_stroke(page) -> None:
    """Drag the brush across the middle of the hint canvas."""
    box = page.locator("#hints canvas").first.bounding_box()
    x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.4
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(25):
        page.mouse.move(x + step * 2, y + step * 3, steps=3)
    page.mouse.up()


def test_upload_paint_a_hint_and_get_new_colors_in_the_browser(tmp_path, browser, hint_model, embedded_pair):
    log = tmp_path / "app.log"
    with running_app(["--model", str(hint_model)], tmp_path, log) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#model-info", timeout=WAIT_MS)
        assert "color hints" in page.locator("#model-info").inner_text()
        upload(page, embedded_pair)
        first_source, first = wait_for_new_result(page, None)
        height = Image.open(embedded_pair).height
        assert first.shape == (height, height, 3)  # the sketch half, at its full size
        assert "read as pair file" in page.locator("#sketch-info").inner_text()
        paint_stroke(page)
        _, hinted = wait_for_new_result(page, first_source)
        assert hinted.shape == first.shape
        assert np.abs(hinted.astype(int) - first).mean() > 0.05
        page.wait_for_timeout(500)  # the slider's fade-in
        page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        if target := os.environ.get("SKETCH2COLOR_SCREENSHOT"):
            shutil.copy(tmp_path / "app.png", target)
        page.close()
    assert Image.open(tmp_path / "app.png").size[0] == 1400
    assert "Traceback" not in log.read_text()


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """{case: (file, the message the page must show)}."""
    text = folder / "notes.png"
    text.write_text("not an image")
    corrupt = folder / "cut.png"
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(buffer, "PNG")
    corrupt.write_bytes(buffer.getvalue()[:300])
    dot = folder / "dot.png"
    Image.new("RGB", (1, 1)).save(dot)
    animated = folder / "anim.gif"
    frames = [Image.new("RGB", (32, 32), color) for color in ("black", "white")]
    frames[0].save(animated, save_all=True, append_images=frames[1:], duration=100, loop=0)
    bomb = folder / "bomb.png"
    Image.new("L", (6000, 6000), 255).save(bomb, optimize=True)  # 48 kB, 36 megapixels
    large = folder / "large.png"
    large.write_bytes(b"\0" * (2 * 2**20))
    return {
        "non-image": (text, "notes.png: not an image"),
        "corrupt": (corrupt, "cut.png: corrupt or truncated image"),
        "1x1": (dot, "dot.png: 1x1 pixels is too small"),
        "animated": (animated, "anim.gif: an animated image"),
        "decompression bomb": (bomb, "bomb.png: 6000x6000 pixels, more than the limit of 4096x4096"),
        "over the size cap": (large, "large.png"),
    }


def test_bad_uploads_get_a_message_in_the_page_and_the_app_keeps_serving(
    tmp_path, browser, hint_model, embedded_pair
):
    cases = bad_files(tmp_path)
    with running_app(
        ["--model", str(hint_model), "--max-upload-mb", "1"], tmp_path, tmp_path / "app.log"
    ) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#upload", timeout=WAIT_MS)
        for case, (path, message) in cases.items():
            upload(page, path)
            try:
                page.locator(".toast-body", has_text=message).first.wait_for(timeout=30_000)
            except playwright.TimeoutError:
                toasts = [toast.inner_text() for toast in page.locator(".toast-body").all()]
                pytest.fail(f"{case}: no message {message!r} in the page; toasts: {toasts}")
        upload(page, embedded_pair)
        _, color = wait_for_new_result(page, None)
        assert color.shape[0] == Image.open(embedded_pair).height
        page.close()

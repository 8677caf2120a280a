"""The Gradio page: upload a sketch, draw hints, pick a palette, get the colors at full resolution.

    demo = build_app(load_app_model("runs/pix2pix-embedded"))
    serve(demo)   # 127.0.0.1:7860, one job at a time

Only the controls the loaded model uses are built visible; every event calls a plain function
of :mod:`.handlers` and turns its :class:`~.handlers.AppInputError` into a message in the page.
One job runs at a time, and a burst of changes (brush strokes) colorizes once, for the last.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from sketch2color.app import handlers
from sketch2color.app.handlers import DEFAULT_LIMITS, AppInputError, AppModel, UploadLimits
from sketch2color.data.sketch import XDOG_P
from sketch2color.export.inference import DETAIL_MODES

TITLE = "sketch2color"
# Brush colors offered for hints (the user can pick any other): red, blond, brown, skin, navy, sky, grass.
HINT_COLORS = ["#c23b3b", "#e8c65a", "#5a3a2e", "#f6d6c2", "#2f3f73", "#7fb6e6", "#5f9e54", "#ffffff"]
KIND_LABELS = {
    "auto": "auto",
    "sketch": "sketch",
    "pair": "pair file (its sketch half)",
    "illustration": "color illustration (extract its lines)",
}
CONTROLS_HELP = """
**Input**: a sketch, a pair file (its right half is the sketch) or a color illustration (its line
art is extracted; *line strength* sets how many lines). Colors update on every change.
"""


def shown_errors(function):
    """Run a handler; an AppInputError becomes a message in the page (gr.Error), not a traceback."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except AppInputError as error:
            raise gr.Error(str(error), print_exception=False) from None

    return wrapper


class Session:
    """The page's event handlers around one loaded model (Gradio calls them with component values)."""

    def __init__(self, model: AppModel, limits: UploadLimits = DEFAULT_LIMITS):
        self.model = model
        self.limits = limits
        self.out_dir = Path(tempfile.mkdtemp(prefix="sketch2color-app-"))

    # ---------------------------------------------------------------- upload -> sketch

    @shown_errors
    def prepare(self, upload: str | None, kind: str, line_strength: float, editor: dict | None):
        """Upload -> (full-size sketch, hint canvas over it, line-strength slider shown or not)."""
        if not upload:
            return None, None, gr.update(visible=False), ""
        image = handlers.read_upload(upload, self.limits)
        resolved = handlers.resolve_kind(image, kind)
        sketch = handlers.sketch_from_image(image, resolved, line_strength, self.model.input_mode)
        background = handlers.editor_background(sketch)
        layers = [layer for layer in (editor or {}).get("layers") or [] if layer is not None]
        if any(np.shape(layer)[:2] != background.shape[:2] for layer in layers):
            layers = []  # strokes drawn on another picture mean nothing on this one
        canvas = {"background": background, "layers": layers, "composite": None}
        height, width = sketch.shape[:2]
        note = f"{Path(upload).name}: {width}x{height}, read as {KIND_LABELS[resolved]}"
        return sketch, canvas, gr.update(visible=resolved == "illustration"), note

    # ---------------------------------------------------------------- sketch -> colors

    @shown_errors
    def colorize(self, sketch: np.ndarray | None, editor: dict | None, detail: str, *swatches: str):
        """(sketch | colors slider, PNG download, status) for the current sketch, hints and palette."""
        if sketch is None:
            return None, gr.update(visible=False), ""
        hint_layer = handlers.hint_layer_from_editor(editor) if self.model.uses_hints else None
        color = handlers.colorize(self.model, sketch, hint_layer, list(swatches) or None, detail)
        png = (
            Path(tempfile.mkdtemp(dir=self.out_dir)) / "colored.png"
        )  # one per call: sessions run side by side
        Image.fromarray(color).save(png)
        notes = [f"colored at {color.shape[1]}x{color.shape[0]}"]
        if note := handlers.hint_size_message(hint_layer, sketch):
            gr.Warning(note)
            notes.append(note)
        return (sketch, color), gr.update(value=str(png), visible=True), "; ".join(notes)

    # ---------------------------------------------------------------- palette

    @shown_errors
    def palette_from_reference(self, reference: str | None):
        """A reference illustration -> its K-means colors in the swatches and the hex box."""
        if not reference:
            return [gr.update()] * (self.model.palette_colors + 1)
        image = handlers.read_upload(reference, self.limits)
        codes = handlers.palette_from_reference(image, self.model.palette_colors)
        return [*codes, ", ".join(codes)]

    @shown_errors
    def palette_from_text(self, text: str):
        """Typed hex codes -> the swatches (a malformed code is named in the page)."""
        codes = handlers.palette_to_hex(handlers.parse_swatches(text, self.model.palette_colors))
        return [*codes, ", ".join(codes)]

    # ---------------------------------------------------------------- batch

    @shown_errors
    def batch(self, files, kind, line_strength, editor, detail, *swatches, progress=gr.Progress()):  # noqa: B008 (Gradio's way to ask for a progress bar)
        """Several files or zips -> one zip of colored PNGs with the same hints and palette."""
        paths = list(files or [])  # type="filepath": the uploads' paths
        hint_layer = handlers.hint_layer_from_editor(editor) if self.model.uses_hints else None
        out_zip = Path(tempfile.mkdtemp(dir=self.out_dir)) / "colored.zip"
        _, problems = handlers.colorize_batch(
            self.model,
            paths,
            out_zip,
            kind,
            line_strength,
            hint_layer,
            list(swatches) or None,
            detail,
            self.limits,
            progress=lambda done, total: progress((done, total), desc="coloring", unit="images"),
        )
        status = f"skipped {len(problems)}: " + "; ".join(problems) if problems else "all colored"
        return str(out_zip), status


def build_app(model: AppModel | None, limits: UploadLimits = DEFAULT_LIMITS, problem: str = "") -> gr.Blocks:
    """The page for ``model``; without one, a page saying how to train one (``problem`` says why)."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:  # an artist's page calls no one
        gr.Markdown(f"# {TITLE}")
        if model is None:
            gr.Markdown(
                f"**No model loaded.** {problem}\n\nTrain one on the embedded dataset (about 10 minutes "
                f"on 2 CPU cores), then start the app again:\n\n```bash\n{handlers.TRAIN_COMMAND}\n"
                "python -m sketch2color.app --model runs/pix2pix-embedded\n```",
                elem_id="no-model",
            )
            return demo
        _build_controls(Session(model, limits), limits)
    return demo


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def bypass_proxy_for_loopback() -> None:
    """Keep loopback off any HTTP proxy: Gradio checks its own URL at launch, and behind a proxy
    (or an offline one) that check fails although the app serves."""
    for variable in ("NO_PROXY", "no_proxy"):
        present = [host for host in os.environ.get(variable, "").split(",") if host.strip()]
        os.environ[variable] = ",".join(present + [h for h in LOOPBACK_HOSTS if h not in present])


def serve(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
    limits: UploadLimits = DEFAULT_LIMITS,
    block: bool = True,
) -> gr.Blocks:
    """Launch the page: one job at a time, uploads capped at ``limits.max_bytes`` by Gradio too."""
    bypass_proxy_for_loopback()
    demo.queue(default_concurrency_limit=1).launch(
        server_name=host,
        server_port=port,
        share=share,
        max_file_size=limits.max_bytes,
        footer_links=[],
        show_error=False,
        prevent_thread_lock=not block,
        quiet=not block,
    )
    return demo


def _build_controls(session: Session, limits: UploadLimits) -> None:
    model = session.model
    gr.Markdown(model.describe(), elem_id="model-info")
    sketch = gr.State(None)
    with gr.Row():
        with gr.Column():
            side = int(limits.max_pixels**0.5)
            upload = gr.File(
                label=f"Sketch, pair file or color illustration (up to {limits.max_bytes // 2**20} MB, "
                f"{side}x{side})",
                file_types=["image"],
                type="filepath",
                elem_id="upload",
            )
            kind = gr.Radio(
                [(label, key) for key, label in KIND_LABELS.items()], value="auto", label="The upload is"
            )
            line_strength = gr.Slider(
                5, 100, value=XDOG_P, step=1, label="Line strength (XDoG edge emphasis)", visible=False
            )
            editor = gr.ImageEditor(
                label="Hints: paint color strokes over the sketch",
                type="numpy",
                image_mode="RGBA",
                format="png",  # lossless: hint colors arrive as painted
                sources=[],
                transforms=[],
                layers=False,
                brush=gr.Brush(colors=HINT_COLORS, default_color=HINT_COLORS[0], default_size=8),
                eraser=gr.Eraser(default_size=16),
                visible=model.uses_hints,
                elem_id="hints",
            )
            clear_hints = gr.Button("Clear hints", visible=model.uses_hints, size="sm")
            with gr.Group(visible=bool(model.palette_colors)):
                reference = gr.File(
                    label="Palette from a reference illustration", file_types=["image"], type="filepath"
                )
                with gr.Row():
                    swatches = [
                        gr.ColorPicker(value=code, label=f"{index + 1}", min_width=60, elem_classes="swatch")
                        for index, code in enumerate(
                            (handlers.DEFAULT_PALETTE * 2)[: model.palette_colors or 0]
                        )
                    ]
                palette_text = gr.Textbox(
                    value=", ".join((handlers.DEFAULT_PALETTE * 2)[: model.palette_colors or 0]),
                    label="Palette as hex codes (Enter applies)",
                    elem_id="palette-text",
                )
            detail = gr.Radio(
                list(DETAIL_MODES),
                value="lines",
                label="Full resolution: 'lines' keeps your lines over the model's colors, 'none' scales up",
            )
        with gr.Column():
            result = gr.ImageSlider(label="sketch | colors", type="numpy", format="png", elem_id="result")
            download = gr.DownloadButton("Download PNG (full resolution)", visible=False, elem_id="download")
            sketch_info = gr.Markdown(elem_id="sketch-info")
            status = gr.Markdown(elem_id="status")
    with gr.Accordion("Batch: many sketches, the same hints and palette", open=False):
        batch_files = gr.File(
            label="Images or zips of them",
            file_count="multiple",
            file_types=["image", ".zip"],
            type="filepath",
        )
        batch_button = gr.Button("Colorize all")
        batch_zip = gr.File(label="Colored PNGs (zip)")
        batch_status = gr.Markdown()
    gr.Markdown(CONTROLS_HELP)

    color_inputs = [sketch, editor, detail, *swatches]
    color_outputs = [result, download, status]
    colorize = {"fn": session.colorize, "inputs": color_inputs, "outputs": color_outputs}
    last_only = {"trigger_mode": "always_last", "show_progress": "minimal"}

    # Named endpoints are the app's API (gradio_client); the others repeat them for other triggers.
    prepare = {"fn": session.prepare, "inputs": [upload, kind, line_strength, editor]}
    prepare["outputs"] = [sketch, editor, line_strength, sketch_info]
    prepared = [
        upload.change(**prepare, api_name="prepare"),
        kind.change(**prepare, api_name=False),
        line_strength.release(**prepare, api_name=False),
    ]
    for event in prepared:
        event.success(**colorize, api_name="colorize" if event is prepared[0] else False)
    if model.uses_hints:  # each stroke; Gradio does not fire this for the update preparing makes
        editor.change(**colorize, **last_only, api_name=False)
        clear_hints.click(
            lambda canvas: {**canvas, "layers": []} if canvas else canvas, editor, editor, api_name=False
        )
    detail.change(**colorize, **last_only, api_name=False)
    if model.palette_colors:
        palette_outputs = [*swatches, palette_text]
        for swatch in swatches:
            swatch.input(**colorize, **last_only, api_name=False)
        reference.change(
            session.palette_from_reference, reference, palette_outputs, api_name="palette_from_reference"
        ).success(**colorize, api_name=False)
        palette_text.submit(
            session.palette_from_text, palette_text, palette_outputs, api_name="palette_from_text"
        ).success(**colorize, api_name=False)
    batch_inputs = [batch_files, kind, line_strength, editor, detail, *swatches]
    batch_button.click(session.batch, batch_inputs, [batch_zip, batch_status], api_name="batch")

"""The interactive colorization app (``python -m sketch2color.app``; needs ``pip install -e ".[app]"``).

    handlers.py   what the app does, as plain numpy functions (no Gradio): uploads, hints, palette
    ui.py         the Gradio page around them

Import :mod:`.handlers` freely; :mod:`.ui` imports Gradio.
"""

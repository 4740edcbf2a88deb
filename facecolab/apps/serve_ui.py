"""The page of ``facecolab serve``: Gradio tabs over the functions of
``facecolab.apps.serve`` (``pip install 'facecolab[app]'``).

Four tabs (Parse a face, Recolour, Portrait with a live webcam stream, Uncertainty), each
button also a named API endpoint (``/parse``, ``/recolour``, ``/portrait``, ``/uncertainty``:
an image in, an image first among the outputs) for ``gradio_client``. A ``ValueError`` from
the work (a bad upload, no face for the uncertainty maps) becomes a ``gr.Error``: a message
in the page, or an error the client raises, and the server carries on. Requests wait in
Gradio's queue (one at a time per button, at most ``QUEUE_SIZE`` waiting).

Import it after ``facecolab.apps.serve.server_environment()``: Gradio reads its temporary
folder when it is imported.
"""

from __future__ import annotations

import functools
import ipaddress
import sys
import time

import gradio as gr

from facecolab.apps.serve import (
    BACKGROUNDS,
    DEFAULT_PARSER,
    DEFAULT_PORTRAIT,
    DEFAULT_SAMPLES,
    MAX_SAMPLES,
    MAX_UPLOAD_BYTES,
    UNCERTAINTY_MODEL,
    ModelPool,
    default_choice,
    model_card,
    parse_tab,
    part_names,
    portrait_frame,
    portrait_tab,
    read_upload,
    recolour_tab,
    render_parse,
    uncertainty_tab,
)
from facecolab.apps.webcam import MaskSmoother

QUEUE_SIZE = 32  # requests waiting beyond this are refused with a message
STREAM_EVERY = 0.1  # s between webcam frames sent by the browser
THEME_FONTS = ("ui-sans-serif", "system-ui", "sans-serif")  # local fonts: no font download


def unopened(image: gr.Image) -> gr.Image:
    """``image`` (``type="filepath"``) handing the uploaded file's path over unopened, so that
    ``serve.read_upload``, not Gradio's own decoding, judges a bad file and says in words what
    is wrong with it. (An instance attribute: a ``gr.Image`` subclass would make Gradio write
    a ``.pyi`` stub beside this module.)"""
    decode = image.preprocess

    def preprocess(payload):
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return str(payload.path)
        return decode(payload)

    image.preprocess = preprocess
    return image


def answered(fn):
    """``fn`` with its ``ValueError`` turned into a ``gr.Error`` (shown in the page)."""

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except ValueError as error:
            raise gr.Error(str(error), title="Cannot do that") from None

    return wrapper


def photo_input(elem_id: str, label: str = "Photo (upload, or a webcam snapshot)"):
    return unopened(
        gr.Image(
            label=label, sources=["upload", "webcam"], type="filepath", elem_id=elem_id, height=360
        )
    )


def output_image(label: str, elem_id: str):
    return gr.Image(label=label, elem_id=elem_id, format="png", interactive=False, height=420)


def parse_block(pool: ModelPool) -> None:
    default = default_choice(DEFAULT_PARSER, pool.parsers)
    gr.Markdown("Faces found by BlazeFace, each parsed as the model's training faces were framed.")
    with gr.Row():
        with gr.Column():
            photo = photo_input("parse-photo")
            model = gr.Dropdown(pool.parsers, value=default, label="Model", elem_id="parse-model")
            button = gr.Button("Parse", variant="primary", elem_id="parse-button")
        with gr.Column():
            shown = output_image("Overlay with legend", "parse-output")
            labels = output_image("Colour label map", "parse-labels")
            parts = gr.CheckboxGroup([], label="Parts shown", elem_id="parse-parts")
    info = gr.Markdown(model_card(default) if default else "", elem_id="parse-info")
    state = gr.State()

    def run(path, name):
        colours, blended, parsed = parse_tab(pool, path, name)
        names = part_names(parsed.spec)
        return (
            blended.image,
            colours.image,
            blended.info,
            gr.update(choices=names, value=names),
            parsed,
        )

    def toggle(parsed, chosen):
        if parsed is None:
            return gr.update(), gr.update()
        colours, blended = render_parse(parsed, chosen)
        return blended, colours

    button.click(
        answered(run),
        [photo, model],
        [shown, labels, info, parts, state],
        api_name="parse",
        concurrency_id="models",
    )
    parts.input(toggle, [state, parts], [shown, labels], api_visibility="private")
    model.change(model_card, [model], [info], api_visibility="private")


def recolour_block(pool: ModelPool) -> None:
    names = sorted(
        set(pool.recolourers("hair")) | set(pool.recolourers("lips")), key=pool.names.index
    )
    default = default_choice(DEFAULT_PARSER, names)
    gr.Markdown("Hair and lips recoloured in HSV, texture kept, faded in over a feathered edge.")
    with gr.Row():
        with gr.Column():
            photo = photo_input("recolour-photo")
            model = gr.Dropdown(names, value=default, label="Model", elem_id="recolour-model")
            with gr.Row():
                hair = gr.ColorPicker("#7a3cff", label="Hair colour")
                lips = gr.ColorPicker("#d0103a", label="Lip colour")
            parts = gr.CheckboxGroup(["hair", "lips"], value=["hair", "lips"], label="Recolour")
            strength = gr.Slider(0, 1, value=0.8, step=0.05, label="Strength")
            feather = gr.Slider(0, 20, value=0, step=1, label="Feather, px (0: 1 % of the side)")
            button = gr.Button("Recolour", variant="primary", elem_id="recolour-button")
        with gr.Column():
            out = output_image("Recoloured", "recolour-output")
    info = gr.Markdown(model_card(default) if default else "", elem_id="recolour-info")

    def run(path, name, hair, lips, chosen, strength, feather):
        result = recolour_tab(
            pool,
            path,
            name,
            hair if "hair" in chosen else None,
            lips if "lips" in chosen else None,
            float(strength),
            float(feather) or None,
        )
        return result.image, result.info

    button.click(
        answered(run),
        [photo, model, hair, lips, parts, strength, feather],
        [out, info],
        api_name="recolour",
        concurrency_id="models",
    )
    model.change(model_card, [model], [info], api_visibility="private")


@functools.lru_cache(maxsize=4)
def _background(path: str):
    return read_upload(path)


def portrait_block(pool: ModelPool) -> None:
    default = default_choice(DEFAULT_PORTRAIT, pool.portraits)
    gr.Markdown(
        "The person cut out with the model's soft alpha, over a blurred or new background, "
        "or alone on a transparent one."
    )
    with gr.Row():
        with gr.Column():
            photo = photo_input("portrait-photo")
            model = gr.Dropdown(
                pool.portraits, value=default, label="Model", elem_id="portrait-model"
            )
            background = gr.Radio(list(BACKGROUNDS), value="blur", label="Background")
            backdrop = unopened(
                gr.Image(
                    label="Background picture (for 'image')",
                    sources=["upload"],
                    type="filepath",
                    height=160,
                    elem_id="portrait-background",
                )
            )
            button = gr.Button("Cut out", variant="primary", elem_id="portrait-button")
        with gr.Column():
            out = output_image("Portrait", "portrait-output")
    info = gr.Markdown(model_card(default) if default else "", elem_id="portrait-info")
    with gr.Accordion("Live webcam (where the browser allows the camera)", open=False):
        with gr.Row():
            camera = gr.Image(
                sources=["webcam"], streaming=True, type="numpy", label="Camera", height=300
            )
            live = gr.Image(label="Live portrait", height=300, interactive=False)
        live_info = gr.Markdown()
    smoother = gr.State(None)  # the stream's MaskSmoother, one per browser session
    backdrop_path = gr.State(None)  # the background picture, kept out of the API

    def run(path, name, choice, backdrop_path=None):
        result = portrait_tab(pool, path, name, choice, backdrop_path)
        return result.image, result.info

    def stream(frame, name, choice, backdrop_path, state):
        if frame is None:
            return gr.update(), gr.update(), state
        state = state or MaskSmoother()
        target = choice
        if choice == "image":
            target = _background(backdrop_path) if backdrop_path else "blur"
        result = portrait_frame(pool, frame, name, target, state)
        return result.image, result.info, state

    button.click(
        answered(run),
        [photo, model, background, backdrop_path],
        [out, info],
        api_name="portrait",
        concurrency_id="models",
    )
    camera.stream(
        answered(stream),
        [camera, model, background, backdrop_path, smoother],
        [live, live_info, smoother],
        stream_every=STREAM_EVERY,
        concurrency_limit=2,
        api_visibility="private",
    )
    model.change(model_card, [model], [info], api_visibility="private")
    backdrop.change(lambda path: path, [backdrop], [backdrop_path], api_visibility="private")


def uncertainty_block(pool: ModelPool) -> None:
    gr.Markdown(
        "Monte-Carlo dropout of the Bayesian SegNet over the most confident face: the mean "
        "prediction, predictive entropy and mutual information (what more data would settle)."
    )
    with gr.Row():
        with gr.Column():
            photo = photo_input("uncertainty-photo")
            samples = gr.Slider(
                2, MAX_SAMPLES, value=DEFAULT_SAMPLES, step=1, label="MC-dropout samples"
            )
            button = gr.Button("Sample", variant="primary", elem_id="uncertainty-button")
        with gr.Column():
            out = output_image(
                "Face · mean labels · entropy · mutual information", "uncertainty-output"
            )
    info = gr.Markdown(model_card(UNCERTAINTY_MODEL), elem_id="uncertainty-info")

    def run(path, count):
        result = uncertainty_tab(pool, path, int(count))
        return result.image, result.info

    button.click(
        answered(run),
        [photo, samples],
        [out, info],
        api_name="uncertainty",
        concurrency_id="models",
    )


def build_app(pool: ModelPool) -> gr.Blocks:
    """The page: one tab per job, over the models of ``pool``."""
    with gr.Blocks(title="facecolab", analytics_enabled=False) as app:
        gr.Markdown(
            "# facecolab\nThe shipped face-segmentation models on your photos, on this "
            "machine's CPU. Nothing leaves the server; uploads stay in its temporary folder."
        )
        with gr.Tabs():
            if pool.parsers:
                with gr.Tab("Parse a face", id="parse"):
                    parse_block(pool)
                with gr.Tab("Recolour", id="recolour"):
                    recolour_block(pool)
            if pool.portraits:
                with gr.Tab("Portrait", id="portrait"):
                    portrait_block(pool)
            if UNCERTAINTY_MODEL in pool.names:
                with gr.Tab("Uncertainty", id="uncertainty"):
                    uncertainty_block(pool)
    app.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return app


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve(host: str = "127.0.0.1", port: int = 7860, models=None, block: bool = True):
    """Start the server on ``host:port`` (the models load in the background, the page answers
    at once); ``block``: until interrupted. Returns the ``gr.Blocks``."""
    start = time.perf_counter()
    pool = ModelPool(models)
    app = build_app(pool)
    if not is_loopback(host):
        print(
            f"facecolab serve: listening on {host}: reachable from other machines", file=sys.stderr
        )
    app.launch(
        server_name=host,
        server_port=port,
        max_file_size=MAX_UPLOAD_BYTES,
        show_error=True,
        ssr_mode=False,
        prevent_thread_lock=True,
        quiet=True,
        share=False,
        theme=gr.themes.Default(font=THEME_FONTS, font_mono=("ui-monospace", "monospace")),
    )
    print(
        f"facecolab serve: http://{host}:{port}/ ready in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    pool.warm()
    print(f"facecolab serve: models loaded ({', '.join(pool.names)})", flush=True)
    if block:
        app.block_thread()
    return app

"""The studio's page, on Gradio: six tabs of widgets wired to the jobs; no logic of its own.

Every heavy event (paint, colour, compose, tell, explain) shares one concurrency group, so on a
CPU machine one job runs at a time and the others wait in Gradio's queue, each page showing its
place in it. Light events (checking an upload, filling the canvas, Stop, the gallery) bypass the
queue. A job's progress and, for the doodle, the painting as it forms stream into the page
through :func:`artkit.studio.runner.stream`; a failed job shows its one ``error: ...`` line in
the tab's status and the page goes on serving.

Gradio is imported here only, after :func:`artkit.studio.cli.gradio_environment` has set its
environment (no analytics, uploads into the work folder, nothing fetched from the network).
"""

from __future__ import annotations

import html
import json
import threading
from typing import Any, Iterator

import gradio as gr

from artkit.core.errors import ArtkitError
from artkit.explain import method_names
from artkit.music.chords import list_progressions
from artkit.core.presets import list_presets
from artkit.studio import jobs
from artkit.studio.jobs import Studio
from artkit.studio.runner import Update, error_line, stream
from artkit.studio.styles import BUNDLED, Style, analyse, bundled, canvas_size, example_doodle
from artkit.studio.workspace import MAX_UPLOAD_BYTES, Item

HEAVY = "artkit-heavy"  # the concurrency group of every job that computes
IMAGE_TYPES = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"]
STARTS = ("the example doodle", "the style's own map", "a blank canvas")
CSS = """
#doodle-result img, #music-roll img { width: 100%; height: 100%; object-fit: contain; }
.swatches { display: flex; flex-wrap: wrap; gap: 8px; }
.swatch { display: flex; align-items: center; gap: 6px; font-size: 0.85em; }
.swatch span.chip { width: 28px; height: 28px; border-radius: 6px; border: 1px solid #8884; }
#doodle-status p, #color-status p, #music-status p, #story-status p, #explain-status p { margin: 0; }
"""


class Stops:
    """One Stop flag per browser session (a second tab's Stop never ends your painting)."""

    def __init__(self) -> None:
        self._flags: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def fresh(self, session: str) -> threading.Event:
        with self._lock:
            self._flags[session] = flag = threading.Event()
            return flag

    def stop(self, session: str) -> None:
        with self._lock:
            flag = self._flags.get(session)
        if flag is not None:
            flag.set()


def swatches_html(style: Style) -> str:
    """Each region's colour beside the painting's average colour there."""
    rows = []
    for i, (colour, mean, share) in enumerate(style.swatches(), 1):
        rows.append(f'<div class="swatch"><span class="chip" style="background:{colour}"></span>'
                    f'→<span class="chip" style="background:{mean}" title="the painting here">'
                    f'</span>region {i} <code>{colour}</code> ({share:.0%})</div>')
    return (f'<div class="swatches" data-style="{html.escape(style.name)}" '
            f'data-regions="{len(rows)}">{"".join(rows)}</div>')


def _status(update: Update) -> str:
    if update.kind == "error":
        return html.escape(update.message)
    if update.kind == "done":
        notes = "; ".join(update.item.notes) if update.item else ""
        return html.escape(f"done: {update.item.title}" + (f" ({notes})" if notes else ""))
    return html.escape(update.message)


def _files(item: Item) -> list[str]:
    """The item's outputs (manifests included) for the downloads box."""
    return [str(item.folder / n) for n in dict.fromkeys(item.outputs.values())
            if (item.folder / n).is_file()]


def build(studio: Studio, *, concurrency: int = 1):
    """The page: a ``gr.Blocks`` with the six tabs, queued.

    Args:
        studio: the jobs' shared state (work folder, device, loaded networks).
        concurrency: how many heavy jobs may run at once.
    """
    stops = Stops()
    first = bundled(next(iter(BUNDLED)), studio.workspace.styles)
    heavy = dict(concurrency_id=HEAVY, concurrency_limit=concurrency)

    def editor_for(style: Style, start: str = STARTS[0], fill: int = 0) -> dict[str, Any]:
        """The canvas's value and palette for a style (and how to start it)."""
        size = canvas_size(style)
        picture = (example_doodle(style) if start == STARTS[0] else
                   style.map_canvas(size) if start == STARTS[1] else style.blank(size, fill))
        brush = max(3, size[0] // 32)
        return dict(value={"background": picture, "layers": [], "composite": picture},
                    canvas_size=size, eraser=gr.Eraser(default_size=brush),
                    brush=gr.Brush(colors=style.colours, default_color=style.colours[0],
                                   color_mode="fixed", default_size=brush))

    def canvas_update(style: Style, start: str = STARTS[0], fill: int = 0):
        return gr.ImageEditor(**editor_for(style, start, fill))

    with gr.Blocks(title="artkit studio", analytics_enabled=False) as page:
        gr.Markdown("## artkit studio\nEverything runs on this machine, offline. What you make is "
                    f"kept in `{studio.workspace.root}` with the command that makes it again.")
        with gr.Tabs():
            # ---------------------------------------------------------------- doodle
            with gr.Tab("Doodle", elem_id="tab-doodle"):
                style_state = gr.State(first)
                with gr.Row():
                    with gr.Column(scale=3):
                        canvas = gr.ImageEditor(
                            **editor_for(first), label="your doodle: paint with the style map's "
                            "colours (or upload one)", layers=False, transforms=(),
                            sources=["upload"], format="png", image_mode="RGB", type="pil",
                            height=420, elem_id="doodle-canvas")
                        with gr.Row():
                            style_pick = gr.Dropdown(list(BUNDLED), value=first.name,
                                                     label="style", elem_id="doodle-style")
                            start = gr.Radio(list(STARTS), value=STARTS[0], label="start from",
                                             elem_id="doodle-start")
                        with gr.Row():
                            fill_with = gr.Dropdown(
                                [(f"region {i + 1} {c}", i) for i, c in enumerate(first.colours)],
                                value=0, label="fill colour", elem_id="doodle-fill-colour")
                            fill = gr.Button("Fill the canvas", elem_id="doodle-fill")
                        with gr.Accordion("your own style (a painting and its map)", open=False):
                            with gr.Row():
                                own_painting = gr.File(label="painting", file_types=IMAGE_TYPES,
                                                       elem_id="doodle-own-painting")
                                own_map = gr.File(label="semantic map", file_types=IMAGE_TYPES,
                                                  elem_id="doodle-own-map")
                            use_own = gr.Button("Use this style", elem_id="doodle-use-own")
                    with gr.Column(scale=2):
                        swatches = gr.HTML(swatches_html(first), elem_id="doodle-swatches",
                                           label="regions: map colour → the painting there")
                        with gr.Row():
                            engine = gr.Radio(["patch", "neural"], value="patch", label="engine",
                                              elem_id="doodle-engine")
                            preset = gr.Dropdown(["(none)", *list_presets("doodle")],
                                                 value="(none)", label="preset",
                                                 elem_id="doodle-preset")
                        with gr.Row():
                            iterations = gr.Slider(10, 300, value=100, step=10,
                                                   label="neural steps per phase")
                            seed_d = gr.Number(0, precision=0, label="seed")
                        with gr.Row():
                            paint = gr.Button("Paint", variant="primary", elem_id="doodle-paint")
                            stop = gr.Button("Stop (keep the picture)", variant="stop",
                                             elem_id="doodle-stop")
                        painting = gr.Image(label="the painting", type="pil", format="png",
                                            interactive=False, height=320,
                                            buttons=["download", "fullscreen"],
                                            elem_id="doodle-result")
                        status_d = gr.Markdown(elem_id="doodle-status")
                        files_d = gr.File(label="downloads (PNG and its manifest)",
                                          file_count="multiple", interactive=False,
                                          elem_id="doodle-files")

            # ---------------------------------------------------------------- colorize
            with gr.Tab("Colorize", elem_id="tab-colorize"):
                with gr.Row():
                    with gr.Column(scale=3):
                        photo_c = gr.File(label="a photo (made gray first)", file_types=IMAGE_TYPES,
                                          elem_id="color-photo")
                        hints = gr.ImageEditor(
                            label="scribble colours on the gray photo (hints)", type="pil",
                            image_mode="RGBA", format="png", sources=[], transforms=(),
                            layers=False, interactive=True, elem_id="color-canvas",
                            brush=gr.Brush(colors=["#d33f2a", "#f2c14e", "#3c8d2f", "#2f6db5",
                                                   "#7b4fa0", "#c98b5a"], color_mode="defaults"),
                            eraser=gr.Eraser())
                    with gr.Column(scale=2):
                        method = gr.Radio(["auto", "model", "exemplar", "hints"], value="auto",
                                          label="method (auto: hints when drawn, else exemplar "
                                                "when references are given, else the model)",
                                          elem_id="color-method")
                        refs = gr.File(label="reference photos (exemplar)", file_count="multiple",
                                       file_types=IMAGE_TYPES, elem_id="color-references")
                        with gr.Row():
                            explain_c = gr.Checkbox(label="explain the model's colours",
                                                    elem_id="color-explain")
                            seed_c = gr.Number(0, precision=0, label="seed")
                        run_c = gr.Button("Colour it", variant="primary", elem_id="color-run")
                        status_c = gr.Markdown(elem_id="color-status")
                compare = gr.ImageSlider(label="before / after", type="filepath", height=420,
                                         elem_id="color-compare")
                figure_c = gr.Image(label="what drove each colour (explain)", type="filepath",
                                    interactive=False, elem_id="color-figure")
                files_c = gr.File(label="downloads", file_count="multiple", interactive=False,
                                  elem_id="color-files")

            # ---------------------------------------------------------------- music
            with gr.Tab("Music", elem_id="tab-music"):
                with gr.Row():
                    with gr.Column(scale=2):
                        progression = gr.Dropdown(list_progressions(), value="jazz-blues",
                                                  label="progression", elem_id="music-progression")
                        chords = gr.Textbox(label="or your chords (bars split by |)",
                                            placeholder="Dm7 G7 | Cmaj7 | Cmaj7",
                                            elem_id="music-chords")
                        with gr.Row():
                            key = gr.Dropdown(["(as written)", "C", "Db", "D", "Eb", "E", "F",
                                               "F#", "G", "Ab", "A", "Bb", "B"],
                                              value="(as written)", label="key")
                            mood = gr.Dropdown(["(none)", *jobs.moods()], value="(none)",
                                               label="mood")
                        with gr.Row():
                            bars = gr.Slider(1, 64, value=12, step=1, label="bars",
                                             elem_id="music-bars")
                            tempo = gr.Slider(0, 300, value=0, step=5,
                                              label="tempo (0: the mood's, or 130)")
                        with gr.Row():
                            patches = gr.Slider(1, 8, value=1, step=1, label="phrases (patches)")
                            transition = gr.Radio(["soft", "hard"], value="soft",
                                                  label="transition")
                            seed_m = gr.Number(0, precision=0, label="seed",
                                               elem_id="music-seed")
                        run_m = gr.Button("Compose", variant="primary", elem_id="music-run")
                        status_m = gr.Markdown(elem_id="music-status")
                    with gr.Column(scale=3):
                        audio = gr.Audio(label="listen", type="filepath", interactive=False,
                                         elem_id="music-audio")
                        roll = gr.Image(label="piano roll", type="filepath", interactive=False,
                                        elem_id="music-roll")
                        files_m = gr.File(label="downloads (MIDI, MusicXML, WAV, manifest)",
                                          file_count="multiple", interactive=False,
                                          elem_id="music-files")

            # ---------------------------------------------------------------- story
            with gr.Tab("Story", elem_id="tab-story"):
                with gr.Row():
                    with gr.Column(scale=2):
                        photo_s = gr.File(label="a photo", file_types=IMAGE_TYPES,
                                          elem_id="story-photo")
                        with gr.Row():
                            style_s = gr.Dropdown(jobs.story_styles(), value="noir",
                                                  label="style", elem_id="story-style")
                            passages = gr.File(label="or your passages (.txt)",
                                               file_types=[".txt"], elem_id="story-passages")
                        with gr.Row():
                            length = gr.Slider(20, 1000, value=150, step=10, label="words",
                                               elem_id="story-length")
                            temperature = gr.Slider(0, 2, value=0.7, step=0.05,
                                                    label="temperature")
                            seed_s = gr.Number(0, precision=0, label="seed")
                        run_s = gr.Button("Tell", variant="primary", elem_id="story-run")
                        status_s = gr.Markdown(elem_id="story-status")
                with gr.Row():
                    shown = gr.Image(label="the photo", type="filepath", interactive=False,
                                     height=360, elem_id="story-shown")
                    with gr.Column():
                        story = gr.Markdown(elem_id="story-text")
                        facts = gr.Markdown(elem_id="story-facts")

            # ---------------------------------------------------------------- explain
            with gr.Tab("Explain", elem_id="tab-explain"):
                with gr.Row():
                    with gr.Column(scale=2):
                        picture = gr.File(label="a picture", file_types=IMAGE_TYPES,
                                          elem_id="explain-image")
                        model = gr.Dropdown(list(jobs.EXPLAIN_MODELS),
                                            value=jobs.EXPLAIN_MODELS[0], label="model")
                        which = gr.Radio(["all", *method_names()], value="all",
                                         label="method (all: side by side)",
                                         elem_id="explain-method")
                        seed_e = gr.Number(0, precision=0, label="seed")
                        run_e = gr.Button("Explain", variant="primary", elem_id="explain-run")
                        status_e = gr.Markdown(elem_id="explain-status")
                    with gr.Column(scale=3):
                        figure_e = gr.Image(label="what the network looks at", type="filepath",
                                            interactive=False, elem_id="explain-figure")

            # ---------------------------------------------------------------- gallery
            with gr.Tab("Gallery", elem_id="tab-gallery") as gallery_tab:
                refresh = gr.Button("Refresh", elem_id="gallery-refresh")
                grid = gr.Gallery(label="made in this studio", columns=5, height=360,
                                  allow_preview=False, elem_id="gallery-grid")
                chosen = gr.State([])
                title = gr.Markdown(elem_id="gallery-title")
                command = gr.Code(label="the command that makes it again (run it in the item's "
                                        "folder; add --force, or -o another name)",
                                  language="shell", interactive=False, buttons=["copy"],
                                  elem_id="gallery-command")
                with gr.Row():
                    files_g = gr.File(label="files", file_count="multiple", interactive=False)
                    manifest = gr.Code(label="manifest", language="json", interactive=False,
                                       elem_id="gallery-manifest")

        # -------------------------------------------------------------------- doodle events
        def pick_style(name: str, start_from: str):
            try:
                style = bundled(name, studio.workspace.styles)
            except ArtkitError as exc:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip(), error_line(exc)
            return (style, canvas_update(style, start_from), swatches_html(style),
                    _fill_choices(style), "")

        def _fill_choices(style: Style):
            return gr.Dropdown([(f"region {i + 1} {c}", i) for i, c in enumerate(style.colours)],
                               value=0)

        def own_style(painting_file, map_file, start_from: str):
            try:
                if not painting_file or not map_file:
                    raise ArtkitError("upload both the painting and its semantic map")
                style = analyse("uploaded", painting_file, map_file)
            except ArtkitError as exc:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip(), error_line(exc)
            return (style, canvas_update(style, start_from), swatches_html(style),
                    _fill_choices(style), f"using your style ({len(style.colours)} regions)")

        def restart(style: Style, start_from: str, region: int):
            return canvas_update(style, start_from, int(region or 0))

        def fill_canvas(style: Style, region: int):
            return canvas_update(style, STARTS[2], int(region or 0))

        def run_doodle(style, editor, eng, pre, steps, seed, request: gr.Request) -> Iterator:
            flag = stops.fresh(request.session_hash)
            doodle = (editor or {}).get("composite")
            if doodle is None:
                yield gr.skip(), "error: the canvas is empty (paint a doodle first)", gr.skip()
                return
            for u in stream(studio.paint, stop=flag, frames=True, style=style, doodle=doodle,
                            engine=eng, preset=None if pre == "(none)" else pre,
                            iterations=int(steps) if eng == "neural" else None,
                            seed=int(seed or 0)):
                if u.kind == "frame":
                    yield u.image, _status(u), gr.skip()
                elif u.kind == "done":
                    yield str(u.item.path("painting")), _status(u), _files(u.item)
                else:
                    yield gr.skip(), _status(u), gr.skip()

        style_pick.change(pick_style, [style_pick, start],
                          [style_state, canvas, swatches, fill_with, status_d], queue=False)
        use_own.click(own_style, [own_painting, own_map, start],
                      [style_state, canvas, swatches, fill_with, status_d], queue=False)
        start.change(restart, [style_state, start, fill_with], canvas, queue=False)
        fill.click(fill_canvas, [style_state, fill_with], canvas, queue=False)
        paint.click(run_doodle, [style_state, canvas, engine, preset, iterations, seed_d],
                    [painting, status_d, files_d], **heavy)

        def stop_run(request: gr.Request) -> None:
            stops.stop(request.session_hash)

        stop.click(stop_run, None, None, queue=False)

        # -------------------------------------------------------------------- colorize events
        def load_photo(file):
            if not file:
                return gr.skip(), ""
            try:
                gray = jobs.gray_preview(file)
            except ArtkitError as exc:
                return gr.ImageEditor(value=None), error_line(exc)
            return (gr.ImageEditor(value={"background": gray, "layers": [], "composite": gray},
                                   canvas_size=gray.size),
                    f"gray photo {gray.size[0]}×{gray.size[1]}: scribble colours on it, or "
                    "choose the model")

        def run_color(file, editor, how, references, explain, seed):
            if not file:
                yield gr.skip(), gr.skip(), "error: upload a photo first", gr.skip()
                return
            layers = (editor or {}).get("layers") or []
            for u in stream(studio.colorize, photo=file, method=how,
                            hints=layers[0] if layers else None, references=references or [],
                            explain=bool(explain), seed=int(seed or 0)):
                if u.kind == "done":
                    it = u.item
                    fig = str(it.path("explain")) if "explain" in it.outputs else None
                    yield ((str(it.path("gray")), str(it.path("colour"))), fig, _status(u),
                           _files(it))
                else:
                    yield gr.skip(), gr.skip(), _status(u), gr.skip()

        photo_c.change(load_photo, photo_c, [hints, status_c], queue=False)
        run_c.click(run_color, [photo_c, hints, method, refs, explain_c, seed_c],
                    [compare, figure_c, status_c, files_c], **heavy)

        # -------------------------------------------------------------------- music events
        def run_music(prog, typed, k, md, n, bpm, phrases, trans, seed):
            for u in stream(studio.compose, progression=prog, chords=typed,
                            key=None if k == "(as written)" else k,
                            bars=int(n), tempo=float(bpm) if bpm else None,
                            mood=None if md == "(none)" else md, patches=int(phrases),
                            transition=trans, seed=int(seed or 0)):
                if u.kind == "done":
                    it = u.item
                    yield (str(it.path("wav")), str(it.path("pianoroll")), _status(u),
                           _files(it))
                else:
                    yield gr.skip(), gr.skip(), _status(u), gr.skip()

        run_m.click(run_music, [progression, chords, key, mood, bars, tempo, patches, transition,
                                seed_m], [audio, roll, status_m, files_m], **heavy)

        # -------------------------------------------------------------------- story events
        def show_photo(file):
            if not file:
                return gr.skip(), ""
            try:
                jobs.check_image(file, "photo", max_pixels=jobs.PHOTO_PIXELS)
            except ArtkitError as exc:
                return None, error_line(exc)
            return file, ""

        def run_story(file, style, own, words, temp, seed):
            if not file:
                yield gr.skip(), gr.skip(), "error: upload a photo first"
                return
            for u in stream(studio.tell, photo=file, style=style, style_file=own or None,
                            length=int(words), temperature=float(temp), seed=int(seed or 0)):
                if u.kind == "done":
                    d = u.item.details
                    yield (f"### {d['title']}\n\n{d['text']}",
                           "**What it used from the photo:** " + " ".join(d["facts"]),
                           _status(u))
                else:
                    yield gr.skip(), gr.skip(), _status(u)

        photo_s.change(show_photo, photo_s, [shown, status_s], queue=False)
        run_s.click(run_story, [photo_s, style_s, passages, length, temperature, seed_s],
                    [story, facts, status_s], **heavy)

        # -------------------------------------------------------------------- explain events
        def run_explain(file, name, how, seed):
            if not file:
                yield gr.skip(), "error: upload a picture first"
                return
            for u in stream(studio.explain, image=file, model=name, method=how,
                            seed=int(seed or 0)):
                if u.kind == "done":
                    yield str(u.item.path("figure")), _status(u)
                else:
                    yield gr.skip(), _status(u)

        run_e.click(run_explain, [picture, model, which, seed_e], [figure_e, status_e], **heavy)

        # -------------------------------------------------------------------- gallery events
        def list_items():
            items = studio.workspace.items()
            shown_items = [it for it in items if it.thumbnail() is not None]
            return ([(str(it.thumbnail()), f"{it.kind}: {it.title}") for it in shown_items],
                    [it.name for it in shown_items])

        def show_item(names: list[str], evt: gr.SelectData):
            try:
                it = studio.workspace.item(names[evt.index])
            except (ArtkitError, IndexError):
                return "item not found (refresh the gallery)", "", [], ""
            notes = "".join(f"\n- {html.escape(n)}" for n in it.notes)
            head = (f"### {html.escape(it.title)}\n`{it.folder}` · {it.kind} · {it.created}"
                    + notes)
            return (head, f"cd {it.folder}\n{it.command}", [str(p) for p in it.files()],
                    json.dumps(it.manifest() or {}, indent=2))

        for event in (refresh.click, gallery_tab.select):
            event(list_items, None, [grid, chosen], queue=False)
        grid.select(show_item, chosen, [title, command, files_g, manifest], queue=False)
    page.queue(default_concurrency_limit=concurrency)
    return page


def launch(studio: Studio, *, host: str = "127.0.0.1", port: int = 7860,
           open_browser: bool = False, concurrency: int = 1, block: bool = True):
    """Start the page.

    Returns:
        ``(page, url)``; with ``block`` it returns only when the server stops.
    """
    page = build(studio, concurrency=concurrency)
    _, url, _ = page.launch(server_name=host, server_port=port, inbrowser=open_browser,
                            prevent_thread_lock=not block, quiet=True, share=False,
                            footer_links=[], allowed_paths=[str(studio.workspace.root)],
                            max_file_size=MAX_UPLOAD_BYTES, show_error=False, css=CSS,
                            mcp_server=False, ssr_mode=False, pwa=False,
                            enable_monitoring=False)
    return page, url

"""The studio and the gallery page, driven in headless Chromium (Debian's ``chromium``) with
Playwright for Python pointed at that browser.

These tests need Gradio, Playwright (both in ``pip install -e '.[test]'``: without them they
fail) and Chromium (``apt-get install -y chromium``: without it they skip, saying so, so the
README's test command works on a machine without a browser; CI installs Chromium and sets
``ARTKIT_REQUIRE_BROWSER_TESTS=1``, which turns that skip into a failure). The server binds
127.0.0.1 on a free port and stops when the module ends; every request the page makes to any
other address is refused and recorded, and a test fails if there was one.

Each tab's screenshot is saved to ``gallery/studio/`` (the README's pictures come from there).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "gallery" / "studio"
REQUIRE_ENV = "ARTKIT_REQUIRE_BROWSER_TESTS"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 90_000


def chromium_path() -> str | None:
    for candidate in (os.environ.get("ARTKIT_CHROMIUM"), shutil.which("chromium"),
                      shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def need_browser() -> str:
    """The Chromium executable. Without Gradio or Playwright fail; without Chromium skip, or
    fail when ``ARTKIT_REQUIRE_BROWSER_TESTS=1`` (CI)."""
    missing = [name for name in ("gradio", "playwright") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail("the studio's browser tests need " + ", ".join(missing)
                    + ": pip install -e '.[test]' brings them", pytrace=False)
    browser = chromium_path()
    if browser is not None:
        return browser
    why = "the studio's browser tests need chromium (apt-get install -y chromium)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{why}; {REQUIRE_ENV}=1 requires them", pytrace=False)
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium():
    path = need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def served(chromium, tmp_path_factory):
    """The studio on 127.0.0.1 (a free port), its work folder temporary."""
    saved = dict(os.environ)
    workdir = tmp_path_factory.mktemp("studio-work")
    from artkit.studio.cli import gradio_environment

    gradio_environment(workdir)
    os.environ["GRADIO_TEMP_DIR"] = str(workdir / "uploads")
    from artkit.studio.app import launch
    from artkit.studio.jobs import Studio

    studio = Studio(workdir, device="cpu")
    page, url = launch(studio, host="127.0.0.1", port=free_port(), block=False)
    assert url.startswith("http://127.0.0.1:")
    yield studio, url
    page.close()
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def page(chromium, served):
    """A fresh browser page on the studio; fails the test if it asked for any other address."""
    _, url = served
    context = chromium.new_context(viewport={"width": 1360, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(url.rstrip("/")) or r.request.url.startswith("data:") \
                or r.request.url.startswith("blob:"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    tab.route("**/*", route)
    tab.goto(url)
    tab.wait_for_selector("#doodle-canvas canvas")
    yield tab
    context.close()
    assert outside == [], f"the page asked for addresses outside the studio: {outside[:5]}"


def shot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.wait_for_timeout(400)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def choose(tab, dropdown: str, option: str) -> None:
    tab.locator(f"{dropdown} input").click()
    tab.get_by_role("option", name=option, exact=True).click()


def settled(tab, selector: str) -> None:
    """Wait until ``selector``'s pending update (Gradio's status tracker) has arrived."""
    tab.wait_for_timeout(300)
    tab.wait_for_function(
        f"() => [...document.querySelectorAll('{selector} [data-testid=status-tracker]')]"
        ".every(t => t.classList.contains('hide'))")


def wait_done(tab, status: str) -> str:
    tab.wait_for_function(
        f"() => /^(done|error)/m.test(document.querySelector('{status}')?.innerText || '')")
    return tab.inner_text(status).strip()


def stroke(tab, canvas: str, points: list[tuple[float, float]]) -> None:
    """A mouse stroke through ``points`` given as fractions of the canvas element's box."""
    box = tab.locator(f"{canvas} canvas").first.bounding_box()
    xy = [(box["x"] + box["width"] * a, box["y"] + box["height"] * b) for a, b in points]
    tab.mouse.move(*xy[0])
    tab.mouse.down()
    for x, y in xy[1:]:
        tab.mouse.move(x, y, steps=12)
    tab.mouse.up()


def brush_colour(tab, canvas: str, index: int) -> None:
    """Pick the palette's ``index``-th colour (the editor's hidden custom-colour button aside)."""
    tab.locator(f"{canvas} button[aria-label=Color]").click()
    tab.locator(f"{canvas} button.color:not(.colorpicker)").nth(index).click()


def loaded(tab, selector: str) -> bool:
    return tab.locator(selector).first.evaluate("im => im.complete && im.naturalWidth > 0")


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "chelsea.png"
    Image.fromarray(data.chelsea()).resize((240, 160), Image.Resampling.LANCZOS).save(path)
    return path


# ------------------------------------------------------------------------------- the studio


def test_page_loads_every_tab_and_serves_nothing_outside(page, served):
    _, url = served
    for name in ("Doodle", "Colorize", "Music", "Story", "Explain", "Gallery"):
        assert page.get_by_role("tab", name=name).is_visible()
    assert page.locator("#doodle-swatches .swatch").count() == 4
    for path in ("/etc/hostname", str(REPO / "pyproject.toml")):
        res = page.request.get(f"{url.rstrip('/')}/gradio_api/file={path}")
        assert res.status in (403, 404), f"the studio served {path}"


def test_doodle_strokes_in_two_palette_colours_paint_a_picture(page, served):
    studio, _ = served
    choose(page, "#doodle-style", "textures-small")
    page.wait_for_selector("#doodle-swatches [data-style=textures-small]")
    settled(page, "#doodle-canvas")
    page.click("#doodle-fill")  # the first region's colour everywhere
    settled(page, "#doodle-canvas")
    brush_colour(page, "#doodle-canvas", 1)
    stroke(page, "#doodle-canvas", [(0.38, 0.62), (0.5, 0.6), (0.62, 0.62)])
    brush_colour(page, "#doodle-canvas", 2)
    stroke(page, "#doodle-canvas", [(0.5, 0.3), (0.5, 0.45)])
    page.locator("#doodle-engine").get_by_text("patch").click()
    page.click("#doodle-paint")
    status = wait_done(page, "#doodle-status")
    assert status.startswith("done"), status
    page.wait_for_function("() => document.querySelector('#doodle-result img')?.naturalWidth > 0")
    item = studio.workspace.items("doodle")[0]
    doodle = np.asarray(Image.open(item.path("doodle")).convert("RGB")).reshape(-1, 3)
    colours = {tuple(c) for c in np.unique(doodle, axis=0)}
    style = studio.workspace.styles / "textures-small"
    assert {(0, 0, 255), (0, 255, 0), (255, 0, 0)} <= colours, colours  # blank + two strokes
    with Image.open(item.path("painting")) as im:
        assert im.size == Image.open(style / "style.png").size
    shot(page, "doodle")


def test_music_tab_plays_the_piece_for_its_duration(page, served):
    studio, _ = served
    page.get_by_role("tab", name="Music").click()
    choose(page, "#music-progression", "ii-v-i")  # a 4-bar chorus: seconds to compose and play
    bars = page.locator("#music-bars input[type=number]")
    bars.fill("4")
    bars.press("Enter")
    page.click("#music-run")
    status = wait_done(page, "#music-status")
    assert status.startswith("done"), status
    item = studio.workspace.items("music")[0]
    assert item.details["bars"] == 4 and "--progression ii-v-i --bars 4" in item.command
    with wave.open(str(item.path("wav"))) as w:
        seconds = w.getnframes() / w.getframerate()
    # Gradio's player keeps its <audio> in the waveform's shadow root, loaded from a blob
    duration = page.wait_for_function(
        "() => { for (const e of document.querySelectorAll('#music-audio *')) {"
        " const a = e.shadowRoot && e.shadowRoot.querySelector('audio');"
        " if (a && a.duration > 0) return a.duration; } return 0; }").json_value()
    assert abs(duration - seconds) < 0.05, (duration, seconds)
    assert loaded(page, "#music-roll img")
    shot(page, "music")


def test_a_corrupt_upload_shows_the_error_and_a_valid_job_still_works(page, served, photo,
                                                                      tmp_path):
    page.get_by_role("tab", name="Colorize").click()
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.locator("#color-photo input[type=file]").set_input_files(str(corrupt))
    page.wait_for_function(
        "() => (document.querySelector('#color-status')?.innerText || '').startsWith('error:')")
    assert "cannot be used" in page.inner_text("#color-status")
    page.locator("#color-photo button[aria-label='Clear']").first.click()
    page.locator("#color-photo input[type=file]").set_input_files(str(photo))
    page.wait_for_function(
        "() => (document.querySelector('#color-status')?.innerText || '').startsWith('gray')")
    settled(page, "#color-canvas")
    page.wait_for_timeout(1500)
    brush_colour(page, "#color-canvas", 0)
    stroke(page, "#color-canvas", [(0.35, 0.25), (0.65, 0.25)])
    brush_colour(page, "#color-canvas", 3)
    stroke(page, "#color-canvas", [(0.35, 0.8), (0.65, 0.8)])
    page.click("#color-run")
    status = wait_done(page, "#color-status")
    assert status.startswith("done") and "hints" in status, status
    item = served[0].workspace.items("colorize")[0]
    hints = np.asarray(Image.open(item.path("hints")).convert("RGBA")).astype(int)
    colour = np.asarray(Image.open(item.path("colour")).convert("RGB")).astype(int)
    drawn = hints[..., 3] > 127
    red = drawn & (hints[..., 0] > hints[..., 2] + 60)   # the palette's red stroke
    blue = drawn & (hints[..., 2] > hints[..., 0] + 60)  # and its blue one
    assert red.any() and blue.any(), "both strokes reach the job"
    assert (colour[red, 0] - colour[red, 2]).mean() > 0 < (colour[blue, 2] - colour[blue, 0]).mean()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#color-compare img')].some(i => i.naturalWidth > 0)")
    shot(page, "colorize")


def test_story_and_explain_tabs(page, served, photo, real_weights):
    from artkit.weights import is_cached

    page.get_by_role("tab", name="Explain").click()
    page.locator("#explain-image input[type=file]").set_input_files(str(photo))
    if is_cached("efficientnet-lite0"):
        page.click("#explain-run")
        status = wait_done(page, "#explain-status")
        assert status.startswith("done") and "says" in status, status
        assert loaded(page, "#explain-figure img")
    shot(page, "explain")
    page.get_by_role("tab", name="Story").click()
    page.locator("#story-photo input[type=file]").set_input_files(str(photo))
    page.wait_for_function("() => document.querySelector('#story-shown img')?.naturalWidth > 0")
    if all(is_cached(n) for n in ("efficientnet-lite0", "minilm-l6", "smollm2-135m")):
        page.locator("#story-length input[type=number]").fill("40")
        page.locator("#story-length input[type=number]").press("Enter")
        page.click("#story-run")
        status = wait_done(page, "#story-status")
        assert status.startswith("done"), status
        assert page.locator("#story-text h3").count() == 1
        assert len(page.inner_text("#story-text").split()) > 30
        assert "cat" in page.inner_text("#story-facts").lower()
    shot(page, "story")


def test_gallery_tab_shows_each_item_with_its_command(page, served):
    studio, _ = served
    if not studio.workspace.items():
        studio.compose(progression="ii-v-i", bars=4, seed=0)
    page.get_by_role("tab", name="Gallery").click()
    page.wait_for_function("() => document.querySelectorAll('#gallery-grid img').length > 0")
    page.locator("#gallery-grid img").first.click()
    page.wait_for_function(
        "() => (document.querySelector('#gallery-command')?.innerText || '').includes('artkit ')")
    newest = studio.workspace.items()[0]
    assert newest.command in page.inner_text("#gallery-command")
    shot(page, "gallery")


# ------------------------------------------------------------------------------- the page


def test_repository_gallery_is_built_by_artkit_and_loads_from_file(chromium, tmp_path):
    from artkit.gallery import collect, page as render

    built = render(collect(REPO / "gallery"), title="artkit gallery")
    committed = (REPO / "gallery" / "index.html").read_text(encoding="utf-8")
    assert committed == built, ("gallery/index.html is out of date: run "
                                "`artkit gallery build gallery -o gallery --force`")
    context = chromium.new_context()
    tab = context.new_page()
    outside: list[str] = []
    tab.on("request", lambda r: outside.append(r.url) if not r.url.startswith("file:") else None)
    tab.goto((REPO / "gallery" / "index.html").as_uri())
    images = tab.locator("img")
    assert images.count() >= 10
    tab.wait_for_function("() => [...document.images].every(i => i.complete)")
    broken = tab.evaluate("() => [...document.images].filter(i => !i.naturalWidth)"
                          ".map(i => i.getAttribute('src'))")
    assert broken == []
    audio = tab.locator("audio")
    assert audio.count() >= 1
    tab.wait_for_function("() => [...document.querySelectorAll('audio')]"
                          ".every(a => a.readyState >= 1 || a.error)")
    failed = tab.evaluate("() => [...document.querySelectorAll('audio')].filter(a => a.error)"
                          ".map(a => a.getAttribute('src'))")
    assert failed == []
    context.close()
    assert outside == []

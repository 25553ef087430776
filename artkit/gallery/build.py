"""A static HTML page of artkit outputs that works from ``file://``: pictures, music, stories.

:func:`collect` walks a folder and groups what it finds into cards:

* a **studio item** (a folder with ``item.json``): its main outputs and the command that makes
  them again;
* **music**: files sharing a stem — ``piece.wav`` (an audio player), ``piece.png`` (the piano
  roll), ``piece.mid`` / ``piece.musicxml`` (links);
* a **story**: a Markdown file, rendered, its photo included (images it references are not
  shown again on their own);
* a **picture**: any other image.

An output's manifest (``OUT.json`` beside it, as every artkit command writes) gives the card
the command that made it. :func:`page` renders the cards as one HTML file with inline CSS and
no script, font or address outside the page's own folder: every link is relative, so the page
works when opened from disk, from a web server, or zipped and sent.

Example:
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (8, 8), "red").save(d / "red.png")
    >>> [c.kind for c in collect(d)]
    ['picture']
    >>> "<img" in page(collect(d), title="demo")
    True
"""

from __future__ import annotations

import html
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

from artkit.core.errors import ArtkitError
from artkit.core.manifest import manifest_path

IMAGES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
AUDIO = (".wav", ".mp3", ".ogg", ".flac")
SCORES = (".mid", ".midi", ".musicxml")
STORIES = (".md",)
ITEM_FILE = "item.json"
SKIP = {"index.html", "index.json"}
_IMG_REF = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


@dataclass
class Card:
    """One thing shown on the page.

    Args:
        kind: ``picture``, ``music``, ``story`` or a studio item's kind.
        title: the caption.
        section: the sub-folder it came from (the page groups cards by it).
        images, audio, links: files (relative to the scanned folder) shown as pictures, as
            players, and as links.
        html: rendered text (a story).
        command: the ``artkit ...`` command that made it, when a manifest or item says so.
    """

    kind: str
    title: str
    section: str
    images: list[str] = field(default_factory=list)
    audio: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    html: str = ""
    command: str = ""

    @property
    def files(self) -> list[str]:
        """Every file the card shows or links to."""
        return [*self.images, *self.audio, *self.links]


def command_of(output: Path) -> str:
    """The ``artkit ...`` command that made ``output``, from its manifest ("" when unknown)."""
    mpath = manifest_path(output)
    if not mpath.is_file():
        return ""
    try:
        m = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not isinstance(m, dict) or "artkit" not in m:
        return ""
    studio = (m.get("extra") or {}).get("studio") or {}
    if studio.get("command"):
        return str(studio["command"])
    argv = m.get("argv") or []
    if argv and Path(str(argv[0])).name in ("artkit", "__main__.py") and len(argv) > 1:
        return shlex.join(["artkit", *map(str, argv[1:])])
    return str(m.get("command", ""))


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _story(md: Path, root: Path) -> tuple[Card, set[Path]]:
    text = md.read_text(encoding="utf-8", errors="replace")
    used = set()
    for ref in _IMG_REF.findall(text):
        target = (md.parent / ref).resolve()
        if target.is_file() and target.is_relative_to(root):
            used.add(target)
    title = next((line.lstrip("# ").strip() for line in text.splitlines()
                  if line.startswith("#")), md.stem)
    section = md.parent.relative_to(root).as_posix() or "."
    card = Card("story", title, section, links=[_rel(md, root)],
                html="", command=command_of(md))
    card.images = [_rel(p, root) for p in sorted(used)]
    renderer = MarkdownIt("commonmark", {"html": False})
    body = _IMG_REF.sub("", text)  # the photo is shown by the card itself
    card.html = renderer.render(body)
    return card, used


def _item_card(folder: Path, root: Path) -> Card | None:
    try:
        item = json.loads((folder / ITEM_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    outputs = {k: folder / v for k, v in (item.get("outputs") or {}).items()
               if (folder / v).is_file()}
    if not outputs:
        return None
    card = Card(str(item.get("kind", "item")), str(item.get("title") or folder.name),
                folder.parent.relative_to(root).as_posix() or ".",
                command=f"cd {folder.name} && {item.get('command', '')}")
    order = ("gray", "colour", "painting", "pianoroll", "figure", "explain")
    for role, path in sorted(outputs.items(),
                             key=lambda kv: order.index(kv[0]) if kv[0] in order else 99):
        rel = _rel(path, root)
        if role == "story":
            card.html = MarkdownIt("commonmark", {"html": False}).render(
                _IMG_REF.sub("", path.read_text(encoding="utf-8", errors="replace")))
            card.links.append(rel)
        elif path.suffix.lower() in IMAGES:
            card.images.append(rel)
        elif path.suffix.lower() in AUDIO:
            card.audio.append(rel)
        else:
            card.links.append(rel)
    for role, name in (item.get("inputs") or {}).items():
        path = folder / name
        if role in ("picture", "doodle") and path.suffix.lower() in IMAGES \
                and path.is_file():
            card.images.insert(0, _rel(path, root))
    return card


def collect(folder: str | os.PathLike, *, exclude: str | os.PathLike | None = None
            ) -> list[Card]:
    """The cards of every artkit output under ``folder`` (hidden files skipped).

    Args:
        folder: the folder of outputs.
        exclude: a folder whose contents are not scanned (the page's own output folder).

    Raises:
        ArtkitError: ``folder`` is missing or holds nothing to show.
    """
    if not Path(folder).is_dir():
        raise ArtkitError(f"folder '{folder}' does not exist")
    root = Path(folder).resolve()
    skip = Path(exclude).resolve() if exclude is not None else None
    cards: list[Card] = []
    shown: set[Path] = set()
    for here, dirs, names in os.walk(root):
        base = Path(here)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (skip is None or (base / d).resolve() != skip))
        files = sorted(base / n for n in names if not n.startswith("."))
        if (base / ITEM_FILE).is_file() and base != root:
            card = _item_card(base, root)
            if card is not None:
                cards.append(card)
                continue
        section = base.relative_to(root).as_posix() or "."
        for md in (f for f in files if f.suffix.lower() in STORIES):
            card, used = _story(md, root)
            if card.html.strip():
                cards.append(card)
                shown |= used
        stems: dict[str, list[Path]] = {}
        for f in files:
            if f.name in SKIP and base == root:
                continue
            stems.setdefault(f.stem, []).append(f)
        for stem, group in stems.items():
            sounds = [f for f in group if f.suffix.lower() in AUDIO]
            scores = [f for f in group if f.suffix.lower() in SCORES]
            pics = [f for f in group if f.suffix.lower() in IMAGES and f.resolve() not in shown]
            if sounds or scores:
                main = (sounds or scores)[0]
                cards.append(Card("music", stem, section, [_rel(p, root) for p in pics],
                                  [_rel(p, root) for p in sounds],
                                  [_rel(p, root) for p in scores], command=command_of(main)))
                continue
            for p in pics:
                cards.append(Card("picture", p.name, section, [_rel(p, root)],
                                  command=command_of(p)))
    if not cards:
        raise ArtkitError(f"folder '{root}' holds no pictures, music or stories",
                          "point it at a folder of artkit outputs")
    return cards


# ----------------------------------------------------------------------------------- the page

CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem;
       color: #222; background: #fafafa; }
h1 { font-weight: 600; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 1rem; }
.card { background: #fff; border: 1px solid #e2e2e2; border-radius: 8px; padding: 0.8rem; }
.card.wide { grid-column: 1 / -1; }
.card img { max-width: 100%; display: block; margin: 0 auto 0.5rem; border-radius: 4px; }
.card audio { width: 100%; margin: 0.3rem 0; }
.card h3 { margin: 0.2rem 0 0.5rem; font-size: 1rem; }
.card .kind { color: #888; font-size: 0.8rem; text-transform: uppercase; letter-spacing: .05em; }
.card pre { white-space: pre-wrap; word-break: break-all; background: #f3f3f3; padding: .5rem;
            font-size: 0.8rem; border-radius: 4px; }
.card .links a { margin-right: 0.8rem; font-size: 0.9rem; }
.story { max-height: 30rem; overflow: auto; font-size: 0.95rem; line-height: 1.45; }
.pics { display: flex; gap: .5rem; align-items: flex-start; }
.pics img { min-width: 0; flex: 1 1 0; }
"""


def _href(rel: str, prefix: str) -> str:
    return html.escape("/".join(p for p in (prefix.rstrip("/"), rel) if p), quote=True)


def _card_html(card: Card, prefix: str) -> str:
    e = html.escape
    parts = [f'<div class="card{" wide" if card.html else ""}" data-kind="{e(card.kind)}">',
             f'<div class="kind">{e(card.kind)}</div><h3>{e(card.title)}</h3>']
    if card.images:
        pics = "".join(f'<img src="{_href(p, prefix)}" alt="{e(Path(p).name)}">'
                       for p in card.images)
        parts.append(f'<div class="pics">{pics}</div>')
    for a in card.audio:
        parts.append(f'<audio controls preload="metadata" src="{_href(a, prefix)}"></audio>')
    if card.html:
        parts.append(f'<div class="story">{card.html}</div>')
    if card.links or card.audio:
        links = "".join(f'<a href="{_href(p, prefix)}">{e(Path(p).name)}</a>'
                        for p in [*card.audio, *card.links])
        parts.append(f'<div class="links">{links}</div>')
    if card.command:
        parts.append(f"<pre>{e(card.command)}</pre>")
    parts.append("</div>")
    return "".join(parts)


def page(cards: list[Card], *, title: str = "artkit gallery", prefix: str = "") -> str:
    """The HTML page of ``cards``, grouped by section; file links are ``prefix/relative path``.

    Args:
        cards: from :func:`collect`.
        title: the page's heading.
        prefix: where the scanned folder's files lie, relative to the page.
    """
    sections: dict[str, list[Card]] = {}
    for c in cards:
        sections.setdefault(c.section, []).append(c)
    body = []
    for name in sorted(sections, key=lambda s: (s != ".", s)):
        heading = "" if name == "." else f"<h2>{html.escape(name)}</h2>"
        cards_html = "".join(_card_html(c, prefix) for c in sections[name])
        body.append(f'{heading}<div class="cards">{cards_html}</div>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>"
            f"<p>{len(cards)} pieces made with artkit; each shows the command that made it "
            "where its manifest says.</p>" + "".join(body) + "</body></html>\n")

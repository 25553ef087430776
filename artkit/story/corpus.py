"""Style corpora: the passages whose voice a story imitates.

* ``romance``: Jane Austen's six novels, read from the Debian package ``r-cran-janeaustenr``
  (fetched with ``artkit weights fetch janeausten``; an R lazy-load database, see
  :mod:`artkit.story.rdata`), split into paragraphs and cached as JSON under ``ARTKIT_HOME``.
* ``fairytale``, ``noir``, ``scifi``, ``adventure``: short passages written for artkit
  (``presets/story/<name>.txt``).
* any UTF-8 text file: paragraphs (blank-line separated) are the passages.

Example:
    >>> corpus = load_style("noir")
    >>> corpus.name, len(corpus.passages) > 20
    ('noir', True)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from artkit.core.errors import ArtkitError
from artkit.core.files import atomic_write_text
from artkit.core.presets import presets_root
from artkit.story.rdata import RFormatError, read_rdb
from artkit.weights import store

BUILTIN_STYLES = ("romance", "fairytale", "noir", "scifi", "adventure")
AUSTEN_NOVELS = ("sensesensibility", "prideprejudice", "mansfieldpark", "emma",
                 "northangerabbey", "persuasion")
AUSTEN_DB = "usr/lib/R/site-library/janeaustenr/data/Rdata"
MIN_WORDS, MAX_WORDS = 8, 90
MAX_FILE_BYTES = 50 << 20

_HEADING = re.compile(r"^(chapter|volume|book|part)\b|^[^a-z]*$", re.IGNORECASE)


@dataclass(frozen=True)
class StyleCorpus:
    """A style: its name, its passages and where they came from."""

    name: str
    passages: tuple[str, ...]
    source: str

    @property
    def digest(self) -> str:
        """A short hash of the passages (keys the embedding cache)."""
        h = hashlib.sha256("\n\n".join(self.passages).encode("utf-8"))
        return h.hexdigest()[:16]


def clean(text: str) -> str:
    """One passage on one line: whitespace folded, Gutenberg ``_italics_`` marks dropped."""
    text = text.replace("_", "").replace("\u00a0", " ")
    return " ".join(text.split())


_SENT = re.compile(r"[^.!?]*[.!?]+[\"'\u201d\u2019)]*(?=\s|$)|[^.!?]+$")


_ABBREV = re.compile(r"\b(Mr|Mrs|Ms|Dr|St|Col|Capt|Prof|Jr|Sr|vs|etc|e\.g|i\.e)\.$")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (cut after ``.``, ``!`` or ``?`` and any closing quotes)."""
    out: list[str] = []
    for m in _SENT.finditer(text):
        piece = m.group(0).strip()
        if not piece:
            continue
        if out and _ABBREV.search(out[-1]):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


def _chunks(paragraph: str) -> list[str]:
    """A paragraph as passages of at most ``MAX_WORDS`` words, cut between sentences."""
    words = paragraph.split()
    if len(words) <= MAX_WORDS:
        return [paragraph]
    sentences = split_sentences(paragraph)
    out, cur = [], []
    for s in sentences:
        n = len(s.split())
        if cur and sum(len(c.split()) for c in cur) + n > MAX_WORDS:
            out.append(" ".join(cur))
            cur = []
        cur.append(s)
    if cur:
        out.append(" ".join(cur))
    return [c for c in out if len(c.split()) <= MAX_WORDS * 2]


def split_passages(text: str) -> list[str]:
    """Paragraphs of ``text`` (blank-line separated; ``#`` comment lines skipped) as passages.

    Headings (``CHAPTER IV``, all-capital lines) and passages shorter than ``MIN_WORDS`` words
    are dropped; long paragraphs are cut between sentences.
    """
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if not ln.lstrip().startswith("#")]
    out = []
    for para in re.split(r"\n\s*\n", "\n".join(lines)):
        para = clean(para)
        if not para or _HEADING.match(para):
            continue
        for chunk in _chunks(para):
            if len(chunk.split()) >= MIN_WORDS:
                out.append(chunk)
    return out


def _cache_dir() -> Path:
    return store.artkit_home() / "cache" / "story"


def austen_db(root: str | os.PathLike | None = None) -> Path:
    """The Jane Austen R database (``.../Rdata``, without suffix) inside the fetched data set.

    The data set's folder may hold the package's ``data/`` files directly or the whole extracted
    package tree (``usr/lib/R/site-library/janeaustenr/data/``); both are accepted.

    Raises:
        ArtkitError: the data set is not fetched (the hint names the command).
    """
    how = "run `artkit weights fetch janeausten` (or `artkit weights fetch --all`)"
    if root is None:
        try:
            root = store.data_path("janeausten")
        except (ArtkitError, AttributeError) as exc:
            detail = exc.message if isinstance(exc, ArtkitError) else "this artkit has no data sets"
            raise ArtkitError(f"the romance corpus (Jane Austen, janeausten) is not fetched: "
                              f"{detail}", how) from None
    root = Path(root)
    for base in (root / AUSTEN_DB, root / "Rdata", root / "data" / "Rdata"):
        if base.with_suffix(".rdb").is_file() and base.with_suffix(".rdx").is_file():
            return base
    raise ArtkitError(f"the romance corpus is not fetched (no Rdata.rdb / Rdata.rdx in {root})", how)


def austen_novels(root: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """The six novels as ``{name: lines}``, read from the R database (no cache)."""
    try:
        objs = read_rdb(austen_db(root), list(AUSTEN_NOVELS))
    except RFormatError as exc:
        raise ArtkitError(f"cannot read the Jane Austen corpus: {exc.message}",
                          "run `artkit weights fetch janeausten --force`") from None
    out = {}
    for name, obj in objs.items():
        lines = getattr(obj, "value", None)
        if not isinstance(lines, list):
            raise ArtkitError(f"Jane Austen object '{name}' is not a character vector",
                              "run `artkit weights fetch janeausten --force`")
        out[name] = [ln or "" for ln in lines]
    return out


def austen_passages(root: str | os.PathLike | None = None) -> list[str]:
    """Jane Austen's paragraphs as passages, parsed once and cached as JSON under ARTKIT_HOME."""
    rdb = austen_db(root).with_suffix(".rdb")
    st = rdb.stat()
    key = hashlib.sha256(f"{rdb.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    cache = _cache_dir() / f"janeausten-{key}.json"
    if cache.is_file():
        try:
            return json.loads(cache.read_text(encoding="utf-8"))["passages"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below
    passages = []
    for lines in austen_novels(rdb.parent).values():
        passages.extend(split_passages("\n".join(lines)))
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(cache, json.dumps({"source": str(rdb), "passages": passages}))
    return passages


def _builtin_file(name: str) -> Path:
    return Path(str(presets_root() / "story" / f"{name}.txt"))


def check_style(style: str | os.PathLike) -> None:
    """Check, cheaply and before any network loads, that ``style`` can be loaded: a built-in
    name, the romance corpus fetched, or a readable UTF-8 text file with passages.

    Raises:
        ArtkitError: what is wrong, and how to fix it.
    """
    if str(style) == "romance":
        austen_db()
    else:
        load_style(style)


def load_style(style: str | os.PathLike) -> StyleCorpus:
    """Load a style corpus by built-in name or text-file path.

    Raises:
        ArtkitError: unknown name, missing / empty / binary file, corpus not fetched.
    """
    text_style = str(style)
    if text_style == "romance":
        return StyleCorpus("romance", tuple(austen_passages()), "janeausten (Jane Austen's novels)")
    if text_style in BUILTIN_STYLES:
        path = _builtin_file(text_style)
        return StyleCorpus(text_style, tuple(split_passages(path.read_text(encoding="utf-8"))),
                           f"presets/story/{text_style}.txt")
    path = Path(style)
    if not path.exists():
        raise ArtkitError(f"unknown style '{style}'",
                          f"use one of {', '.join(BUILTIN_STYLES)} or a UTF-8 .txt file")
    if not path.is_file():
        raise ArtkitError(f"style '{path}' is a folder, not a text file")
    data = path.read_bytes()[:MAX_FILE_BYTES]
    if b"\x00" in data[:8192]:
        raise ArtkitError(f"style file '{path}' is binary, not text",
                          "give a UTF-8 text file of passages separated by blank lines")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArtkitError(f"style file '{path}' is not UTF-8 text",
                          "convert it, e.g. `iconv -t UTF-8`") from None
    passages = split_passages(text)
    if not passages:
        raise ArtkitError(f"style file '{path}' has no passages of {MIN_WORDS}+ words",
                          "give paragraphs of prose separated by blank lines")
    return StyleCorpus(path.stem, tuple(passages), str(path))

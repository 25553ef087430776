"""The studio's work folder: one folder per thing made, uploads checked like CLI inputs.

Everything the studio makes lives under ``ARTKIT_HOME/studio/`` (``--workdir`` moves it)::

    studio/
      styles/<name>/style.png, style_sem.png      bundled doodle styles, drawn once
      uploads/                                    what browsers uploaded (Gradio's cache)
      20261101-142233-doodle-3f2a/                one item: its inputs, outputs, manifests
        style.png  style_sem.png  doodle.png      the inputs, copied in (the command reads them)
        painting.png  painting.json               the output and its manifest, as the CLI writes
        item.json                                 kind, title, files, and the `artkit ...` command

An item folder is self-contained: ``cd`` into it and its command makes the same output again
(with ``-o`` another name, or ``--force``). Item folders are made with an exclusive ``mkdir``, so
two jobs never share one, and an item only gets its ``item.json`` once every output has been
written (through :class:`artkit.core.outputs.OutputPlan`): a folder without one is a job that
failed or was stopped before its first picture, and the gallery skips it.

Uploads are checked before any network is loaded, with the same loaders the CLI uses: a file
too large in bytes, an image over the pixel budget (read from its header, before decoding), a
corrupt or truncated file, or a text that is not UTF-8, each give an :class:`ArtkitError` whose
one line the page shows.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.core.files import atomic_write_text
from artkit.core.images import load_image
from artkit.weights import artkit_home

ITEM_FILE = "item.json"
THUMBNAIL_ROLES = ("painting", "colour", "pianoroll", "figure", "photo", "picture")
KINDS = ("doodle", "colorize", "music", "story", "explain")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024   # per file; Gradio refuses larger uploads before we see them
MAX_UPLOAD_PIXELS = 4096 * 4096       # per picture, checked from the header
MAX_TEXT_BYTES = 5 * 1024 * 1024      # a style corpus of passages
_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def default_workdir() -> Path:
    """``ARTKIT_HOME/studio``."""
    return artkit_home() / "studio"


# ----------------------------------------------------------------------------------- uploads


def _size_ok(path: Path, what: str, limit: int) -> None:
    if not path.is_file():
        raise ArtkitError(f"the {what} was not received", "upload the file again")
    size = path.stat().st_size
    if size == 0:
        raise ArtkitError(f"the {what} '{path.name}' is empty")
    if size > limit:
        raise ArtkitError(f"the {what} '{path.name}' is {size / 2**20:.1f} MB, more than the "
                          f"studio takes ({limit / 2**20:.0f} MB)", "scale it down first")


def check_image(path: str | os.PathLike, what: str = "image", *,
                max_pixels: int = MAX_UPLOAD_PIXELS, mode: str = "RGB") -> Image.Image:
    """An uploaded picture, loaded as the CLI loads one (size, header, decoding checked).

    Args:
        path: the uploaded file.
        what: how messages name it ("photo", "style map").
        max_pixels: the largest width × height accepted.
        mode: the PIL mode to convert to.

    Raises:
        ArtkitError: missing, empty, too large, not an image, truncated.
    """
    path = Path(path)
    _size_ok(path, what, MAX_UPLOAD_BYTES)
    try:
        return load_image(path, mode, max_pixels=max_pixels)
    except ArtkitError as exc:
        message = exc.message.replace(f" '{path}'", "")
        raise ArtkitError(f"the {what} '{path.name}' cannot be used: {message}",
                          exc.hint) from None


def check_text(path: str | os.PathLike, what: str = "text file") -> str:
    """An uploaded UTF-8 text (a style's passages), size-checked and decoded.

    Raises:
        ArtkitError: missing, empty, too large, not UTF-8 text.
    """
    path = Path(path)
    _size_ok(path, what, MAX_TEXT_BYTES)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArtkitError(f"the {what} '{path.name}' is not UTF-8 text",
                          "save the passages as plain text (UTF-8)") from None
    if "\x00" in text or not text.strip():
        raise ArtkitError(f"the {what} '{path.name}' holds no text")
    return text


def safe_name(name: str, default: str) -> str:
    """A file name made of safe characters (no folders, no leading dot)."""
    stem = _NAME.sub("-", Path(name).name).strip(".-")
    return stem or default


# ----------------------------------------------------------------------------------- items


@dataclass
class Item:
    """One thing made in the studio: a folder with its inputs, outputs and manifests.

    Args:
        folder: the item's folder.
        kind: ``doodle``, ``colorize``, ``music``, ``story`` or ``explain``.
        title: a short caption.
        command: the ``artkit ...`` command that makes the main output again, run in ``folder``.
        outputs: role → file name (``{"painting": "painting.png", "manifest": ...}``).
        inputs: role → file name of the inputs copied in.
        notes: what a person should know (a size rounded, a run stopped early).
        created: UTC time, ISO 8601.
        details: kind-specific figures (a story's title and facts, a piece's duration).
    """

    folder: Path
    kind: str
    title: str = ""
    command: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    created: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.folder.name

    def path(self, role: str) -> Path:
        """The file of an output or input role."""
        name = self.outputs.get(role) or self.inputs.get(role)
        if name is None:
            raise KeyError(role)
        return self.folder / name

    def thumbnail(self) -> Path | None:
        """The picture that shows the item best (the painting, the piano roll...)."""
        for role in THUMBNAIL_ROLES:
            name = self.outputs.get(role) or self.inputs.get(role)
            if name and (self.folder / name).is_file():
                return self.folder / name
        return None

    def files(self) -> list[Path]:
        """Every file of the item that exists: outputs (manifests included), then inputs."""
        names = list(dict.fromkeys([*self.outputs.values(), *self.inputs.values()]))
        return [self.folder / n for n in names if (self.folder / n).is_file()]

    def manifest(self) -> dict | None:
        """The main output's manifest (``outputs["manifest"]``), or ``None``."""
        name = self.outputs.get("manifest")
        if not name or not (self.folder / name).is_file():
            return None
        return json.loads((self.folder / name).read_text(encoding="utf-8"))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "command": self.command,
                "outputs": self.outputs, "inputs": self.inputs, "notes": self.notes,
                "created": self.created, "details": self.details}

    def save(self) -> None:
        """Write ``item.json`` (last, once the outputs exist)."""
        atomic_write_text(self.folder / ITEM_FILE,
                          json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)
                          + "\n")

    @classmethod
    def load(cls, folder: Path) -> "Item":
        """Read an item folder's ``item.json``.

        Raises:
            ArtkitError: no item file, or not one the studio wrote.
        """
        path = folder / ITEM_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("kind") not in KINDS:
                raise ValueError(data.get("kind"))
        except (OSError, ValueError, AttributeError):
            raise ArtkitError(f"'{folder}' is not a studio item") from None
        return cls(folder, data["kind"], data.get("title", ""), data.get("command", ""),
                   dict(data.get("outputs", {})), dict(data.get("inputs", {})),
                   list(data.get("notes", [])), data.get("created", ""),
                   dict(data.get("details", {})))


class Workspace:
    """The studio's work folder (see the module docstring).

    Args:
        root: the folder (default ``ARTKIT_HOME/studio``); made when missing.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_workdir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArtkitError(f"cannot make the studio's work folder '{self.root}': "
                              f"{exc.strerror}", "give another with --workdir") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise ArtkitError(f"the studio's work folder '{self.root}' is not writable",
                              "give another with --workdir")

    @property
    def styles(self) -> Path:
        return self.root / "styles"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    def new_item(self, kind: str, title: str = "") -> Item:
        """A fresh, empty item folder (unique: made with an exclusive mkdir)."""
        if kind not in KINDS:
            raise ValueError(kind)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        for _ in range(100):
            folder = self.root / f"{stamp}-{kind}-{secrets.token_hex(2)}"
            try:
                folder.mkdir(parents=True)
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover - 100 collisions of 16 random bits in one second
            raise ArtkitError("cannot make a new item folder")
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return Item(folder, kind, title, created=created)

    def copy_in(self, item: Item, role: str, source: str | os.PathLike, name: str) -> Path:
        """Copy an input file into the item as ``name`` (its bytes, unchanged)."""
        target = item.folder / name
        shutil.copyfile(source, target)
        item.inputs[role] = name
        return target

    def save_input(self, item: Item, role: str, image: Image.Image, name: str) -> Path:
        """Save a picture made in the page (a painted doodle, scribbles) into the item, as PNG."""
        target = item.folder / name
        image.save(target, "PNG")
        item.inputs[role] = name
        return target

    def discard(self, item: Item) -> None:
        """Remove an item folder that got no output (a failed or stopped job)."""
        if item.folder.parent == self.root and not (item.folder / ITEM_FILE).exists():
            shutil.rmtree(item.folder, ignore_errors=True)

    def items(self, kind: str | None = None) -> list[Item]:
        """Every finished item, newest first (folders without ``item.json`` are skipped)."""
        found = []
        for folder in sorted(self.root.iterdir(), reverse=True):
            if not folder.is_dir() or not (folder / ITEM_FILE).is_file():
                continue
            try:
                item = Item.load(folder)
            except ArtkitError:
                continue
            if kind is None or item.kind == kind:
                found.append(item)
        return found

    def item(self, name: str) -> Item:
        """An item by folder name (only folders directly in the work folder).

        Raises:
            ArtkitError: no such item.
        """
        if not name or Path(name).name != name or name.startswith("."):
            raise ArtkitError(f"no studio item '{name}'")
        return Item.load(self.root / name)


def command_line(*argv: Any) -> str:
    """``artkit ...`` as a shell line, each argument quoted where needed (``None`` skipped)."""
    return shlex.join(["artkit", *(str(a) for a in argv if a is not None)])

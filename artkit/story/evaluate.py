"""Measure stories: subject naming, grounding, style accuracy, fluency, against baselines.

Over N photos × styles, each in several conditions — ``full`` (the defaults: people and scenes,
confidence in the words, the style's passages and opening), the baselines ``no_facts`` (the
same writer told only the style), ``no_exemplars`` (facts; the style named but no passages,
opening or bias) and ``labels_only`` (the facts as artkit had them before people and scenes:
the top ImageNet label is the subject, told as certain), and the ablations ``free_opening`` and
``bias``:

* subject naming: with a label file (what a person sees in each photo, a few nouns), the share of
  stories naming one of the photo's nouns (whole words, plurals count); reported for all photos
  and for those with people;
* grounding: the share of stories naming the subject artkit chose (or a synonym) and one of the
  photo's three dominant colours;
* style accuracy: the share of stories whose MiniLM embedding is nearer (cosine) to their own
  style corpus' centroid than to any other style's;
* fluency: mean distinct-2, repeated sentences in all, the share within 60–125 % of the target
  length, mean words and seconds per story.

Every story of one photo and style starts from the same random state (a generator seeded from
the evaluation's generator once), so conditions differ only by what they change.

A label file is plain text, one photo a line: ``NAME<TAB>noun, noun, ...<TAB>people`` (the
number of people in it, 0 for none); ``#`` starts a comment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import artkit.story.writer as W
from artkit.core.errors import ArtkitError
from artkit.core.images import list_images, load_image
from artkit.core.progress import ProgressCallback, report
from artkit.core.result import Evaluation, Timer
from artkit.core.runtime import default_generator, make_generator

CONDITIONS: dict[str, dict[str, Any]] = {
    "full": {},
    "no_facts": {"use_facts": False},          # baseline: the writer is told only the style
    "no_exemplars": {"use_exemplars": False},  # baseline: no passages, style opening or bias
    "labels_only": {"people": False},          # baseline: the top label as the subject, as before
    "free_opening": {"opening": False},        # ablation: the story's first words are not seeded
    "bias": {"style_strength": 1.0},           # ablation: the vocabulary bias at strength 1
}
DEFAULT_CONDITIONS = ["full", "no_facts", "no_exemplars"]
MAX_LABEL_BYTES = 1 << 20


@dataclass
class PhotoLabel:
    """What a person sees in one photo: nouns (any one names the subject) and how many people."""

    nouns: tuple[str, ...]
    people: int = 0


def read_labels(path: str | os.PathLike) -> dict[str, PhotoLabel]:
    """A label file (see the module docstring) as ``{photo name: PhotoLabel}``.

    Raises:
        ArtkitError: missing, too large, not UTF-8, or a malformed line (named).
    """
    path = Path(path)
    if not path.is_file():
        raise ArtkitError(f"label file '{path}' does not exist")
    if path.stat().st_size > MAX_LABEL_BYTES:
        raise ArtkitError(f"label file '{path}' is larger than 1 MB", "give a small text file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ArtkitError(f"label file '{path}' is not UTF-8 text") from None
    out: dict[str, PhotoLabel] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("\t")]
        nouns = tuple(w.strip().lower() for w in parts[1].split(",") if w.strip()) if len(parts) > 1 else ()
        if len(parts) not in (2, 3) or not parts[0] or not nouns:
            raise ArtkitError(f"{path}:{n}: expected 'NAME<TAB>noun, noun, ...<TAB>people'")
        try:
            people = int(parts[2]) if len(parts) == 3 and parts[2] else 0
        except ValueError:
            raise ArtkitError(f"{path}:{n}: the people count must be a whole number") from None
        out[parts[0]] = PhotoLabel(nouns, max(0, people))
    return out


@dataclass(kw_only=True)
class StoryEvaluation(Evaluation):
    """The figures of :func:`evaluate`.

    Attributes:
        summary: ``{condition: figures}`` over every story, each with ``by_style``.
        stories: one record per story (photo, style, condition, title, text, scores).
        settings: what was run.
    """

    summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    stories: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def style_centroids(teller, styles: list[str]) -> torch.Tensor:
    """(S, D) unit centroids of the styles' corpus embeddings."""
    cents = [teller.style(s)[2].mean(0) for s in styles]
    return torch.nn.functional.normalize(torch.stack(cents), dim=-1)


def summarise(records: list[dict], target: int) -> dict[str, Any]:
    """Aggregate figures of a list of story records."""
    n = len(records)
    if n == 0:
        return {"n": 0}
    out = {
        "n": n,
        "grounding": round(sum(r["grounded"] for r in records) / n, 3),
        "style_accuracy": round(sum(r["style_hit"] for r in records) / n, 3),
        "distinct2": round(sum(r["distinct2"] for r in records) / n, 3),
        "repeated_sentences": int(sum(r["repeated"] for r in records)),
        "length_ok": round(sum(0.6 * target <= r["words"] <= 1.25 * target for r in records) / n, 3),
        "words": round(sum(r["words"] for r in records) / n, 1),
        "seconds": round(sum(r["seconds"] for r in records) / n, 2),
    }
    labelled = [r for r in records if r["subject_named"] is not None]
    people = [r for r in labelled if r["people"] > 0]
    out["subject_naming"] = round(sum(r["subject_named"] for r in labelled) / len(labelled), 3) \
        if labelled else None
    out["subject_naming_people"] = round(sum(r["subject_named"] for r in people) / len(people), 3) \
        if people else None
    return out


def evaluate(photos: list[str | os.PathLike], styles: list[str], teller, *,
             labels: dict[str, PhotoLabel] | None = None, length: int = 120,
             temperature: float = 0.7, conditions: list[str] | None = None, retries: int = 2,
             generator: torch.Generator | None = None,
             progress: ProgressCallback | None = None) -> StoryEvaluation:
    """Write a story per photo × style × condition and score them.

    Args:
        photos: image files or folders.
        styles: two or more style names or files (style accuracy needs something to confuse).
        teller: a loaded :class:`~artkit.story.api.Storyteller`.
        labels: what a person sees in each photo (by file name), for subject naming.
        length, temperature, retries: as in :meth:`Storyteller.tell`.
        conditions: names from :data:`CONDITIONS` (default: full, no_facts, no_exemplars).
        generator: the source of each photo-and-style's seed.
        progress: receives one event per story.

    Raises:
        ArtkitError: fewer than two styles, an unknown condition, no photos.
    """
    if len(styles) < 2:
        raise ArtkitError("style accuracy needs at least two styles", "e.g. --styles romance,noir")
    conditions = conditions or list(DEFAULT_CONDITIONS)
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise ArtkitError(f"unknown condition(s) {', '.join(unknown)}", f"use {', '.join(CONDITIONS)}")
    timer = Timer().__enter__()
    files = list_images(photos)
    gen = default_generator(generator)
    cents = style_centroids(teller, styles)
    names = [teller.style(s)[0].name for s in styles]
    labels = labels or {}
    total = len(files) * len(styles) * len(conditions)
    records: list[dict] = []
    report(progress, "evaluate", 0, total)
    for path in files:
        image = load_image(path)
        label = labels.get(path.name)
        for si, style in enumerate(styles):
            seed = int(torch.randint(0, 1 << 31, (1,), generator=gen))
            for cond in conditions:
                opts = dict(CONDITIONS[cond])
                if not opts.get("use_facts", True):
                    opts["retries"] = 0
                story = teller.tell(image, style, length=length, temperature=temperature,
                                    generator=make_generator(seed), **{"retries": retries, **opts})
                records.append(_record(story, path.name, names, si, cond, label, cents, teller))
                report(progress, "evaluate", len(records), total, f"{path.name} {names[si]} {cond}")
    summary = {}
    for c in conditions:
        mine = [r for r in records if r["condition"] == c]
        summary[c] = summarise(mine, length)
        summary[c]["by_style"] = {s: summarise([r for r in mine if r["style"] == s], length)
                                  for s in names}
    return StoryEvaluation(summary=summary, stories=records, seconds=round(timer.elapsed, 1),
                           weights=dict(teller.weights),
                           settings={"photos": [p.name for p in files], "styles": names,
                                     "length": length, "temperature": temperature,
                                     "retries": retries, "conditions": conditions,
                                     "labelled": sum(p.name in labels for p in files)})


def _record(story, photo: str, names: list[str], si: int, cond: str, label: PhotoLabel | None,
            cents: torch.Tensor, teller) -> dict[str, Any]:
    """One story's scores."""
    subj, cols = story.facts.grounding_words()
    vec = teller.embedder.encode([story.text])[0]  # (D,)
    pred = int((cents @ vec).argmax())
    return {
        "photo": photo, "style": names[si], "condition": cond, "title": story.title,
        "text": story.text, "subject": story.facts.subject.phrase,
        "subject_kind": story.facts.subject.kind,
        "labels": story.facts.describe_labels(), "colours": [c.name for c in story.facts.colours],
        "grounded": W.mentions(story.text, subj) and W.mentions(story.text, cols),
        "subject_named": None if label is None else W.mentions(story.text, label.nouns),
        "people": 0 if label is None else label.people,
        "people_found": 0 if story.facts.people is None else story.facts.people.count,
        "style_hit": pred == si, "predicted_style": names[pred],
        "distinct2": W.distinct_n(story.text), "repeated": W.repeated_sentences(story.text),
        "words": len(story.text.split()), "attempts": story.attempts,
        "seconds": round(story.seconds, 2),
    }

"""Measure stories: grounding, style accuracy, fluency, against two baselines.

Over N photos x styles, each in three conditions — ``full`` (facts, style passages and the style's
opening), ``no_facts`` (the same writer told only the style) and
``no_exemplars`` (facts; the style named but no passages, no style opening, no bias);
``free_opening`` (the writer starts freely) and ``bias`` (decoding with the vocabulary bias at
strength 1) are optional ablations:

* grounding: the fraction of stories naming the photo's top label (its plain noun, the label or
  a hypernym) and one of its three dominant colours;
* style accuracy: the fraction of stories whose MiniLM embedding is nearer (cosine) to their own
  style corpus' centroid than to any other style's;
* fluency: mean distinct-2, repeated sentences in all, the fraction whose length is within
  60-125 % of the target, mean words and seconds per story.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.story import writer as W

CONDITIONS: dict[str, dict[str, bool]] = {
    "full": {},
    "no_facts": {"use_facts": False},          # baseline: the writer is told only the style
    "no_exemplars": {"use_exemplars": False},  # baseline: no passages, style opening or bias
    "free_opening": {"opening": False},        # ablation: the story's first words are not seeded
    "bias": {"style_strength": 1.0},           # ablation: the vocabulary bias at strength 1
}
DEFAULT_CONDITIONS = ["full", "no_facts", "no_exemplars"]
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def photo_files(folder: str | os.PathLike, limit: int | None = None) -> list[Path]:
    """The images in ``folder`` (sorted), at most ``limit``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtkitError(f"'{folder}' is not a folder of photos")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ArtkitError(f"no photos (.jpg, .png, ...) in '{folder}'")
    return files[:limit] if limit else files


def style_centroids(teller, styles: list[str]) -> torch.Tensor:
    """(S, D) unit centroids of the styles' corpus embeddings."""
    cents = [teller.style(s)[2].mean(0) for s in styles]
    return torch.nn.functional.normalize(torch.stack(cents), dim=-1)


def summarise(records: list[dict], target: int) -> dict[str, Any]:
    """Aggregate figures of one condition's stories."""
    n = len(records)
    if n == 0:
        return {"n": 0}
    return {
        "n": n,
        "grounding": round(sum(r["grounded"] for r in records) / n, 3),
        "style_accuracy": round(sum(r["style_hit"] for r in records) / n, 3),
        "distinct2": round(sum(r["distinct2"] for r in records) / n, 3),
        "repeated_sentences": int(sum(r["repeated"] for r in records)),
        "length_ok": round(sum(0.6 * target <= r["words"] <= 1.25 * target for r in records) / n, 3),
        "words": round(sum(r["words"] for r in records) / n, 1),
        "seconds": round(sum(r["seconds"] for r in records) / n, 2),
    }


def evaluate(photos: list[str | os.PathLike], styles: list[str], teller, *, length: int = 120,
             temperature: float = 0.7, seed: int = 0, conditions: list[str] | None = None,
             retries: int = 2, progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Write a story per photo x style x condition and score them.

    Args:
        photos: image files.
        styles: two or more style names or files (style accuracy needs something to confuse).
        teller: a loaded :class:`~artkit.story.api.Storyteller`.
        length, temperature, seed, retries: as in :meth:`Storyteller.tell`.
        conditions: any of ``full``, ``no_facts``, ``no_exemplars``, ``free_opening``
            (default: the first three).

    Returns:
        ``{"summary": {condition: figures}, "stories": [...], "settings": {...}}``.
    """
    from artkit.core.images import load_image

    if len(styles) < 2:
        raise ArtkitError("style accuracy needs at least two styles", "e.g. --styles romance,noir")
    conditions = conditions or list(DEFAULT_CONDITIONS)
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise ArtkitError(f"unknown condition(s) {unknown}", f"use {', '.join(CONDITIONS)}")
    cents = style_centroids(teller, styles)
    names = [teller.style(s)[0].name for s in styles]
    images = [(Path(p), load_image(p)) for p in photos]
    total = len(images) * len(styles) * len(conditions)
    records: list[dict] = []
    done = 0
    report(progress, "evaluate", 0, total)
    for path, image in images:
        for si, style in enumerate(styles):
            for cond in conditions:
                opts = CONDITIONS[cond]
                t0 = time.perf_counter()
                story = teller.tell(image, style, length=length, temperature=temperature,
                                    seed=seed, retries=retries if opts.get("use_facts", True) else 0,
                                    **opts)
                seconds = time.perf_counter() - t0
                subj, cols = story.facts.grounding_words()
                grounded = W.mentions(story.text, subj) and W.mentions(story.text, cols)
                vec = teller.embedder.encode([story.text])[0]  # (D,)
                pred = int((cents @ vec).argmax())
                records.append({
                    "photo": path.name, "style": names[si], "condition": cond,
                    "title": story.title, "text": story.text, "subject": story.facts.subject.noun,
                    "colours": [c.name for c in story.facts.colours],
                    "grounded": grounded, "style_hit": pred == si, "predicted_style": names[pred],
                    "distinct2": W.distinct_n(story.text), "repeated": W.repeated_sentences(story.text),
                    "words": len(story.text.split()), "attempts": story.attempts,
                    "seconds": round(seconds, 2),
                })
                done += 1
                report(progress, "evaluate", done, total, f"{path.name} {names[si]} {cond}")
    summary = {c: summarise([r for r in records if r["condition"] == c], length) for c in conditions}
    return {"summary": summary, "stories": records,
            "settings": {"photos": [p.name for p, _ in images], "styles": names,
                         "length": length, "temperature": temperature, "seed": seed,
                         "retries": retries, "conditions": conditions}}

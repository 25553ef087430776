"""``artkit story --explain``: which part of the photo made the label the story is about.

The story's subject comes from an ImageNet label (or from a face, or from the starfield rule).
For the label, :mod:`artkit.explain`'s public API draws what EfficientNet-Lite0 saw: its
PatternAttribution map (how much each pixel contributed, red for, blue against) and its
PatternNet signal (the signal the network detected), with the patterns artkit ships, beside the
photo with any faces found boxed. When the subject came from no label (a face, a night sky), the
figure says so and shows the top label's evidence.
"""

from __future__ import annotations

import torch
from PIL import Image, ImageDraw

from artkit.explain import Explainer, grid, load_model
from artkit.story.facts import Facts
from artkit.story.labels import PERSON_CUES, SCENE_CLASSES, Label

METHODS = ("patternattribution", "patternnet")


def pick_label(facts: Facts) -> tuple[Label, str]:
    """The label the story is about, and how it relates to the subject (for the title)."""
    s = facts.subject
    if s.kind == "person":
        cue = next((lab for lab in facts.labels if lab.label in PERSON_CUES), None)
        if cue is not None:
            return cue, f"what the {s.noun} wears, holds or uses"
        return facts.top, f"the {s.noun} came from a face; the top label"
    if s.kind == "scene":
        scene = next((lab for lab in facts.labels if lab.label in SCENE_CLASSES), facts.top)
        return scene, "the place"
    if s.kind in ("sky", "picture"):
        return facts.top, f"no label covers {s.phrase}; the top label"
    return facts.top, "the subject"


def explain_label(image: Image.Image, facts: Facts, *,
                  device: str | torch.device = "cpu") -> tuple[Image.Image, list[str]]:
    """A figure of what made EfficientNet-Lite0 see the story's label in ``image``, and notes.

    Returns:
        ``(figure, notes)``: the photo (faces boxed), PatternAttribution and PatternNet.
    """
    label, why = pick_label(facts)
    ex = Explainer(load_model("efficientnet-lite0", device), device=device)
    methods = METHODS if ex.patterns is not None else ("gradient",)
    notes = [] if ex.patterns is not None else ["no shipped patterns: the figure shows the gradient"]
    res = ex.explain(ex.prepare(image), methods=methods, target=label.index)
    photo = image.convert("RGB").copy()
    if facts.people is not None and facts.people.faces:
        draw = ImageDraw.Draw(photo)
        width = max(2, min(photo.size) // 150)
        for f in facts.people.faces:
            draw.rectangle(f.box, outline=(255, 210, 0), width=width)
    title = f"{label.label} (p = {label.probability:.2f}): {why}"
    figure = grid(_centre_square(photo), {m: a.cpu() for m, a in res.maps.items()}, title)
    return figure, notes


def _centre_square(image: Image.Image) -> Image.Image:
    """The centre square the classifier looks at (its input is a centre crop)."""
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side))

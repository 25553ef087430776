"""What is in the photo: the subject (a person, a scene, an object), colours, light, layout.

The facts a story may use, most important first:

1. **the subject** — who or what the photo is of, chosen in this order:
   a person (:mod:`artkit.story.people`: faces, and the ImageNet classes that imply a person);
   a *night sky of stars* when the picture is dark and strewn with many small bright points
   (no ImageNet class covers a starfield: EfficientNet-Lite0 calls the Hubble deep field a
   flatworm); a place when the top class is a scene class (``lakeside`` → a lake shore); else the
   top ImageNet class as a plain noun (:mod:`artkit.story.labels`). Each is told with the
   confidence it has: above :data:`~artkit.story.labels.SURE` as a fact, down to
   :data:`~artkit.story.labels.GUESS` as a guess ("what might be a flatworm"), below that not at
   all — the picture is then described by its colours and light;
2. **other things** — further ImageNet labels above the guess threshold;
3. **colours** (:mod:`artkit.story.colours`), **light** (brightness and warmth from mean L*,
   a* and b*, a time-of-day and indoor/outdoor cue) and **layout** (where the top class sits,
   from its class-activation map: the classifier's weights applied to the last feature map).

The subject is named with its colour ("a person in a black lab coat", "a grey valley", "a black
night sky full of stars"): the main colour of its region — the clothes below a face, else where
the class-activation map is at least half its peak — called by the name of the nearest of the
photo's three dominant colours when it is that paint (:func:`~artkit.story.colours.snap_colour`),
so a story's subject and the photo's colours agree in words.

Probabilities are named for what they are: a label's own probability (``tiger cat`` 0.386) and
its group's (``cat``, any of the five cat classes, 0.910).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.nets import class_names, preprocess_pil
from artkit.story.colours import Colour, dominant_colours, region_colour, snap_colour, to_lab
from artkit.story.labels import (
    GUESS,
    SCENE_CLASSES,
    SURE,
    Label,
    article,
    coloured,
    hedge,
    merge_labels,
    top_labels,
)
from artkit.story.people import People, find_people

MIN_SIDE = 8

# --------------------------------------------------------------------------------- light, place

_OUTDOOR = set(range(970, 981)) | {403, 404, 405, 425, 437, 449, 460, 472, 483, 484, 510, 525,
                                   536, 540, 554, 576, 580, 625, 628, 649, 657, 671, 672, 682, 698,
                                   718, 724, 744, 780, 812, 814, 821, 825, 832, 839, 847, 858, 873,
                                   888, 900, 912, 913, 914, 984, 985}
_INDOOR = set(range(923, 970)) | {406, 409, 415, 423, 424, 431, 435, 453, 454, 467, 495, 498, 504,
                                  505, 508, 526, 527, 532, 548, 550, 564, 582, 598, 619, 620, 624,
                                  651, 681, 713, 736, 742, 750, 754, 760, 762, 765, 782, 788, 831,
                                  846, 849, 851, 859, 860, 865, 894, 896}


@dataclass
class Light:
    """Brightness and warmth in [0, 1] / [-1, 1], and the cues read from them."""

    brightness: float
    warmth: float
    time_of_day: str
    setting: str


def light_and_setting(image: Image.Image, top_index: int | None = None) -> Light:
    """Brightness (mean L* / 100), warmth (mean b* + a*/2, scaled), time of day, indoors/outdoors."""
    small = image.convert("RGB").resize((48, 48), Image.Resampling.BILINEAR)
    rgb = np.asarray(small, np.float64) / 255.0  # (H, W, 3)
    lab = to_lab(rgb.reshape(-1, 3)).reshape(48, 48, 3)
    brightness = float(lab[..., 0].mean() / 100.0)
    warmth = float(np.clip((lab[..., 2].mean() + 0.5 * lab[..., 1].mean()) / 30.0, -1, 1))
    top = lab[:16]  # the top third: sky?
    sky = np.mean((top[..., 2] < -8) & (top[..., 0] > 45)) + np.mean(top[..., 0] > 88)
    if top_index in _OUTDOOR or sky > 0.3:
        setting = "outdoors"
    elif top_index in _INDOOR:
        setting = "indoors"
    else:
        setting = "outdoors" if sky > 0.15 else "indoors"
    if brightness < 0.22:
        time = "night"
    elif setting == "outdoors" and warmth > 0.35 and brightness < 0.6:
        time = "evening"
    elif setting == "outdoors":
        time = "day"
    else:
        time = "lamplight" if warmth > 0.3 and brightness < 0.5 else "daylight"
    return Light(round(brightness, 3), round(warmth, 3), time, setting)


def describe_position(cam: np.ndarray) -> tuple[str, float]:
    """Where the mass of a (h, w) activation map sits, in words, and the share of the frame it covers."""
    cam = np.maximum(cam, 0)
    if cam.max() <= 0:
        return "in the middle of the picture", 1.0
    h, w = cam.shape
    ys, xs = np.mgrid[0:h, 0:w]
    total = cam.sum()
    cy, cx = (ys * cam).sum() / total / max(h - 1, 1), (xs * cam).sum() / total / max(w - 1, 1)
    area = float(np.mean(cam >= 0.5 * cam.max()))
    horiz = "left" if cx < 0.4 else "right" if cx > 0.6 else ""
    vert = "top" if cy < 0.4 else "bottom" if cy > 0.6 else ""
    if not horiz and not vert:
        where = "in the centre of the picture"
    elif horiz and vert:
        where = f"at the {vert} {horiz} of the picture"
    else:
        where = f"on the {horiz or vert} of the picture" if horiz else f"at the {vert} of the picture"
    return where, round(area, 3)


# --------------------------------------------------------------------------------- starfield


def starfield(image: Image.Image) -> bool:
    """Whether the picture is a dark field of many small bright points (a night sky of stars).

    On a 256-pixel copy: at least 65 % of the pixels dark (L* < 30), at most 15 % bright
    (L* > 55), and at least 25 separate bright spots, nine in ten of them small (under 0.1 % of
    the picture) and spread over at least three of the four quarters.
    """
    from scipy import ndimage

    small = image.convert("RGB")
    small.thumbnail((256, 256))
    lab = to_lab(np.asarray(small, np.float64).reshape(-1, 3) / 255.0)
    light = lab[:, 0].reshape(small.size[1], small.size[0])  # (h, w) L*
    if np.mean(light < 30) < 0.65 or np.mean(light > 55) > 0.15:
        return False
    spots, n = ndimage.label(light > 55)
    if n < 25:
        return False
    sizes = np.bincount(spots.ravel())[1:]  # (n,)
    if np.mean(sizes < 0.001 * light.size) < 0.9:
        return False
    h, w = light.shape
    centres = ndimage.center_of_mass(light > 55, spots, range(1, n + 1))  # [(y, x)] * n
    quarters = {(int(y >= h / 2), int(x >= w / 2)) for y, x in centres}
    return len(quarters) >= 3


# --------------------------------------------------------------------------------- subject


@dataclass
class Subject:
    """Who or what the photo is of.

    Args:
        kind: ``"person"``, ``"sky"``, ``"scene"``, ``"object"`` or ``"picture"`` (nothing
            confident: described by colour and light).
        noun: one noun for it ("photographer", "cat", "lake shore").
        phrase: how the story names it ("a photographer holding a camera", "what might be a
            lake shore").
        words: words that count as naming it in a story.
        probability: how sure artkit is (1.0 for a found face or a starfield).
        sure: told as a fact (else as a guess).
        colour: the subject's colour in words (see :func:`subject_colour`), or None.
    """

    kind: str
    noun: str
    phrase: str
    words: tuple[str, ...]
    probability: float
    sure: bool = True
    colour: str | None = None


def choose_subject(labels: list[Label], people: People | None, stars: bool,
                   colours: list[Colour], colour: str | None = None) -> Subject:
    """The photo's subject from its facts (see the module docstring for the order); ``colour``
    (the subject region's, :func:`subject_colour`) goes into its phrase."""
    first = colours[0].name if colours else None
    if people is not None:
        sure = people.evidence == "face" or max((lab.probability for lab in labels), default=0) >= SURE
        return Subject("person", people.noun, people.phrase(colour), people.words,
                       1.0 if people.evidence == "face" else labels[0].group_probability, sure,
                       colour)
    if stars:
        return Subject("sky", "night sky", coloured("a night sky full of stars", first),
                       ("sky", "stars", "star", "night sky", "galaxy", "galaxies", "heavens"), 1.0,
                       True, first)
    scene = next((lab for lab in labels if lab.label in SCENE_CLASSES
                  and lab.group_probability >= GUESS), None)
    top = labels[0]
    if scene is not None and (top.group_probability < SURE or scene is top):
        place, words = SCENE_CLASSES[scene.label]
        p = scene.group_probability
        return Subject("scene", place.split(" ", 1)[1], hedge(coloured(place, colour), p),
                       words + scene.words, p, p >= SURE, colour)
    p = top.group_probability
    if p >= GUESS:
        return Subject("object", top.noun, hedge(coloured(f"{article(top.noun)} {top.noun}", colour), p),
                       top.words, p, p >= SURE, colour)
    names = " and ".join(c.name for c in colours[:2]) or "grey"
    return Subject("picture", "picture", f"a picture in {names}", ("picture",), p, False, first)


def cam_box(cam: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) in a ``size`` = (w, h) photo around where a (h', w')
    class-activation map is at least half its maximum (the whole photo when it is flat)."""
    w, h = size
    cam = np.maximum(cam, 0)
    if cam.max() <= 0:
        return 0, 0, w, h
    ys, xs = np.nonzero(cam >= 0.5 * cam.max())
    ch, cw = cam.shape
    return (int(xs.min() * w / cw), int(ys.min() * h / ch), int(np.ceil((xs.max() + 1) * w / cw)),
            int(np.ceil((ys.max() + 1) * h / ch)))


def subject_colour(image: Image.Image, colours: list[Colour],
                   box: tuple[int, int, int, int]) -> str | None:
    """The colour of the subject's region ``box`` (the clothes below a face, or where the
    network looked), named as the nearest of the photo's three dominant colours when close."""
    region = region_colour(image, box)
    if region is None:
        return colours[0].name if colours else None
    return snap_colour(region, colours[:3])


# --------------------------------------------------------------------------------- facts


@dataclass
class Facts:
    """Everything the story may use about the photo (the subject first)."""

    labels: list[Label]
    colours: list[Colour]
    light: Light
    position: str
    coverage: float
    size: tuple[int, int]
    subject: Subject | None = None
    people: People | None = None
    stars: bool = False
    caption: str | None = None
    captions: list[str] = field(default_factory=list)

    @property
    def top(self) -> Label:
        """The most probable ImageNet label (what ``--explain`` explains)."""
        return self.labels[0]

    def grounding_words(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(words naming the subject, words naming a dominant colour)."""
        colours = tuple(w for c in self.colours[:3] for w in c.words)
        return self.subject.words, colours

    def describe_labels(self) -> list[str]:
        """The labels with their probabilities, in words (``tiger cat 0.386, cat (any cat
        class) 0.910``)."""
        return [lab.describe() for lab in self.labels]


def check_image(image: Image.Image) -> Image.Image:
    """An RGB copy of ``image``; refuses images smaller than ``MIN_SIDE`` pixels a side."""
    if min(image.size) < MIN_SIDE:
        raise ArtkitError(f"the photo is {image.size[0]}x{image.size[1]} pixels, too small to "
                          f"describe", f"give a photo at least {MIN_SIDE} pixels a side")
    return image.convert("RGB")


def classify(model, image: Image.Image) -> tuple[torch.Tensor, np.ndarray]:
    """(1000,) ImageNet probabilities of the (centre-cropped) photo, and the class-activation
    map (h, w) of the top class over the whole, uncropped photo."""
    dev = next(model.parameters()).device
    with torch.inference_mode():
        x = preprocess_pil(image, size=224).to(dev)  # (1, 3, 224, 224)
        probs = torch.softmax(model(x).float(), dim=1)[0].cpu()  # (1000,)
        w, h = image.size
        scale = 224 / min(w, h)
        full = image.resize((max(32, round(w * scale)), max(32, round(h * scale))),
                            Image.Resampling.BILINEAR)
        xf = torch.from_numpy(np.asarray(full, np.float32) / 255.0).permute(2, 0, 1)[None].to(dev)
        maps = {}
        hook = model._act1.register_forward_hook(lambda m, i, o: maps.setdefault("a", o))
        try:
            model(xf)
        finally:
            hook.remove()
        fmap = maps["a"][0].float()  # (1280, h, w)
        top = int(probs.argmax())
        cam = torch.einsum("c,chw->hw", model._fc.weight[top].float(), fmap)
    return probs, cam.cpu().numpy()


def extract(image: Image.Image, model, k: int = 5, people: bool = True) -> Facts:
    """All the facts about ``image`` (``model``: an EfficientNet-Lite0 with its ImageNet head).

    Args:
        image: the photo.
        model: the classifier.
        k: how many ImageNet labels to keep.
        people: look for people and starfields (off: the labels alone decide the subject, as
            artkit did before; a baseline for ``evaluate``).
    """
    image = check_image(image)
    probs, cam = classify(model, image)
    labels = merge_labels(top_labels(probs, class_names(), k))
    colours = dominant_colours(image)
    light = light_and_setting(image, labels[0].index)
    position, coverage = describe_position(cam)
    found = find_people(image, probs, class_names()) if people else None
    stars = starfield(image) if people and found is None else False
    facts = Facts(labels, colours, light, position, coverage, image.size, people=found, stars=stars)
    if people:
        box = found.clothes_box if found is not None and found.clothes_box else cam_box(cam, image.size)
        facts.subject = choose_subject(labels, found, stars, colours,
                                       subject_colour(image, colours, box))
    else:  # the old rule: the top label, told as certain
        top = labels[0]
        facts.subject = Subject("object", top.noun, f"{article(top.noun)} {top.noun}", top.words,
                                top.group_probability, colour=colours[0].name if colours else None)
    facts.captions = captions(facts)
    return facts


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def captions(facts: Facts) -> list[str]:
    """Plain sentences stating the facts, the subject first (the storyteller's "captions")."""
    s = facts.subject
    out = [f"A photo of {s.phrase}."]
    if facts.people is not None:
        pp = facts.people
        if pp.faces:
            out.append(f"The {s.noun} {pp.verb} {pp.where}, {pp.facing}: {pp.size}.")
    elif s.kind in ("object", "scene") and s.sure:
        size = ("fills most of the picture" if facts.coverage > 0.45 else
                "is small in the picture" if facts.coverage < 0.12 else "stands out")
        out.append(f"The {s.noun} is {facts.position} and {size}.")
    names = [c.name for c in facts.colours[:3]]
    out.append(f"The main colours are {_join(names)}.")
    light = facts.light
    tone = "warm" if light.warmth > 0.25 else "cool" if light.warmth < -0.1 else "neutral"
    bright = ("bright" if light.brightness > 0.6 else "dark" if light.brightness < 0.3 else "soft")
    when = {"night": "at night", "evening": "in the evening", "day": "in the daytime",
            "lamplight": "in lamplight", "daylight": "in daylight"}[light.time_of_day]
    out.append(f"It is {light.setting} {when}; the light is {bright} and {tone}.")
    said = set(s.words) | {s.noun}
    others = [hedge(f"{article(lab.noun)} {lab.noun}", lab.group_probability)
              for lab in facts.labels if lab.noun not in said and lab.group_probability >= GUESS
              and lab.label not in SCENE_CLASSES][:2]
    if others:
        out.append(f"There is also {_join(others)}.")
    if facts.caption:
        out.append(facts.caption.strip().rstrip(".").capitalize() + ".")
    return out

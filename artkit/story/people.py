"""People in the photo: faces, and what ImageNet's classes say about the person.

ImageNet has no class for a person, so a classifier names what a person wears or holds
(``suit``, ``soccer ball``) and calls a portrait "a suit". Here people become facts of their own:

1. **faces**: scikit-image's LBP frontal-face cascade (Liao et al. 2007's multi-block LBP
   features, as trained for OpenCV) slides over a grey copy of the photo at most 400 pixels a
   side, at scales from 1/20 of the short side up; detections that overlap are merged (a box
   more than half inside another is the same face). A frontal cascade finds faces that look at
   the camera, so a found face also says which way the person faces. In a colour photo a box
   whose middle is less than 60 % skin-coloured (:func:`skin_share`) is dropped: every true
   face of the labelled set measured 0.71–1.0, the cascade's hits on a motorcycle's tank 0.42
   (a tabby's face and a flower pot, at 0.86–0.89, still pass).
2. **cues**: ImageNet classes that imply a person (:data:`~artkit.story.labels.PERSON_CUES`):
   clothing becomes what the person *wears*, balls, instruments and cameras what the person
   *holds*, ``groom`` / ``scuba diver`` / ``ballplayer`` what the person *is*; what a person
   is, holds or uses can name a role (a camera on a tripod: a photographer; a space shuttle
   behind: an astronaut), clothes never do (a jacket read as a military uniform does not make a
   soldier).
3. **the person in words**: "a photographer holding a camera", "a person in a grey suit" — the
   colour of the clothes read from the region below the face.

A person is reported when a face is found, or when the cues are strong without one: something
worn or a person class at probability ≥ 0.25 (or several adding up to 0.4), or something held or
used at ≥ 0.75 (a drum at 0.49 may stand in a room; a camera on a tripod at 0.94 has a
photographer). A suit on a hanger is not a person, but a suit at 0.84 in a photo nearly always
is one.

Example:
    >>> from PIL import Image
    >>> find_faces(Image.new("RGB", (64, 64), (200, 200, 200)))
    []
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from artkit.story.colours import region_colour
from artkit.story.labels import (BODY_WEAR, GUESS, PERSON_CUES, ROLE_CONTEXT, SURE, article,
                                coloured, hedge)

MAX_SIDE = 400
CUE_MIN = 0.03        # a cue class counts from this probability
CUE_ALONE = 0.25      # a wears/is cue this strong means a person even without a face
CUES_TOGETHER = 0.40  # or several worn cues adding up to this
HELD_ALONE = 0.75     # a thing held or used (a ball, a camera on a tripod) only when this sure
MIN_SKIN = 0.6        # a face box needs this share of skin-coloured pixels


@dataclass
class Face:
    """A face box in photo pixels: (left, top, width, height)."""

    left: int
    top: int
    width: int
    height: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.left + self.width, self.top + self.height


@dataclass
class People:
    """Who is in the photo, as far as artkit can tell.

    Args:
        count: how many people (faces found, or 1 from cues alone).
        faces: the face boxes, largest first.
        where: where the (largest) person is, in words.
        size: ``"a close portrait"``, ``"a portrait"``, ``"a figure"`` or ``"small in the picture"``.
        facing: which way the person faces, when a face was found.
        wears, holds: phrases ("a suit", "a camera").
        role: a noun for the person ("photographer"), or None.
        clothes_colour: the colour below the face, or None.
        clothes_box: where that colour was read (left, top, right, bottom), or None.
        evidence: ``"face"`` or ``"cues"``.
    """

    count: int
    faces: list[Face] = field(default_factory=list)
    where: str = ""
    size: str = ""
    facing: str = ""
    wears: list[str] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)
    role: str | None = None
    clothes_colour: str | None = None
    clothes_box: tuple[int, int, int, int] | None = None
    evidence: str = "face"

    @property
    def noun(self) -> str:
        """The person in one noun: the role, else "person" (or "people")."""
        if self.count > 1:
            return f"{self.role}s" if self.role else "people"
        return self.role or "person"

    def phrase(self, colour: str | None = None) -> str:
        """The person in words: "a photographer holding a camera", "two people". ``colour``
        (default: the clothes' colour) goes on what they wear, else on what they hold, else
        "in grey"."""
        colour = colour or self.clothes_colour
        if self.count > 1:
            many = {2: "two", 3: "three", 4: "four"}.get(self.count, "several")
            return f"{many} {self.noun}" + (f" in {colour}" if colour else "")
        out = f"{article(self.noun)} {self.noun}"
        wear = self.wears[0] if self.wears else None
        if wear and wear.removeprefix("what might be ") in BODY_WEAR:
            out += f" in {coloured(wear, colour)}"
        elif wear:
            out += (f" in {colour}" if colour else "") + f" wearing {wear}"
        elif colour and not self.holds:
            out += f" in {colour}"
        if self.holds:
            hold = self.holds[0] if self.wears else coloured(self.holds[0], colour)
            out += f" {'beside' if 'tripod' in self.holds[0] else 'holding'} {hold}"
        return out

    @property
    def verb(self) -> str:
        """``is`` or ``are``."""
        return "are" if self.count > 1 else "is"

    @property
    def words(self) -> tuple[str, ...]:
        """Words that count as naming the person in a story."""
        base = ["person", "people", "man", "woman", "boy", "girl", "he", "she", "lady",
                "gentleman", "figure", "stranger"]
        if self.role:
            base.insert(0, self.role)
        return tuple(base)


def find_faces(image: Image.Image, max_side: int = MAX_SIDE) -> list[Face]:
    """Frontal faces in ``image`` (boxes in its pixels), largest first."""
    from skimage import data
    from skimage.feature import Cascade

    grey = image.convert("L")
    scale = min(1.0, max_side / max(grey.size))
    if scale < 1.0:
        grey = grey.resize((max(1, round(grey.size[0] * scale)), max(1, round(grey.size[1] * scale))),
                           Image.Resampling.BILINEAR)
    arr = np.asarray(grey, np.float32) / 255.0  # (h, w)
    short = min(arr.shape)
    if short < 24:
        return []
    cascade = _CASCADE.get("lbp") or Cascade(data.lbp_frontal_face_cascade_filename())
    _CASCADE["lbp"] = cascade
    found = cascade.detect_multi_scale(arr, scale_factor=1.2, step_ratio=1,
                                       min_size=(max(16, short // 20),) * 2,
                                       max_size=(short, short), min_neighbor_number=4)
    boxes = [Face(int(d["c"] / scale), int(d["r"] / scale), int(d["width"] / scale),
                  int(d["height"] / scale)) for d in found]
    grey_photo = _is_grey(image)
    return merge_faces([f for f in boxes if grey_photo or skin_share(image, f) >= MIN_SKIN])


def _is_grey(image: Image.Image) -> bool:
    """Whether a photo has (next to) no colour, so skin colour cannot be judged."""
    small = image.convert("YCbCr").resize((64, 64))
    return float(np.abs(np.asarray(small, np.float32)[..., 1:] - 128).mean()) < 2.5


def skin_share(image: Image.Image, face: Face) -> float:
    """The share of skin-coloured pixels in the middle of a face box. Skin: 77 ≤ Cb ≤ 127 and 133 ≤ Cr ≤ 173 (Chai and Ngan 1999),
    which holds across skin tones; the cascade's false hits on fruit, leaves and furniture
    mostly fail it."""
    l, t, r, b = face.box
    inner = image.convert("RGB").crop((l + (r - l) // 4, t + (b - t) // 5, r - (r - l) // 4,
                                       b - (b - t) // 5))
    ycc = np.asarray(inner.convert("YCbCr"), np.float32)  # (h, w, 3)
    if ycc.size == 0:
        return 0.0
    cb, cr = ycc[..., 1], ycc[..., 2]
    return float(np.mean((cb >= 77) & (cb <= 127) & (cr >= 133) & (cr <= 173)))


_CASCADE: dict = {}


def merge_faces(faces: list[Face], min_ratio: float = 0.4) -> list[Face]:
    """Faces with overlapping boxes as one (the larger kept), largest first; faces narrower
    than ``min_ratio`` of the largest are dropped (in a photo of people the cascade's stray hits
    on textures are far smaller than the faces it finds)."""
    kept: list[Face] = []
    for f in sorted(faces, key=lambda f: -f.width * f.height):
        if kept and f.width < min_ratio * kept[0].width:
            continue
        if all(_inside(f, k) < 0.5 for k in kept):
            kept.append(f)
    return kept


def _inside(a: Face, b: Face) -> float:
    """The share of box ``a`` that lies inside box ``b``."""
    w = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    h = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    return max(0, w) * max(0, h) / max(1, a.width * a.height)


def person_cues(probs, names: list[str]) -> list[tuple[str, float]]:
    """``[(class name, probability)]`` of the person-implying classes at ≥ :data:`CUE_MIN`,
    most probable first. ``probs`` is the classifier's (1000,) probabilities."""
    out = [(n, float(probs[i])) for i, n in enumerate(names)
           if n in PERSON_CUES and float(probs[i]) >= CUE_MIN]
    return sorted(out, key=lambda c: -c[1])


def find_people(image: Image.Image, probs, names: list[str]) -> People | None:
    """Who is in the photo (see the module docstring), or None when nobody is.

    Args:
        image: the photo (RGB).
        probs: (1000,) ImageNet probabilities of the photo.
        names: the class names.
    """
    faces = find_faces(image)
    cues = person_cues(probs, names)
    worn = [p for n, p in cues if PERSON_CUES[n][0] in ("wears", "is")]
    held = [p for n, p in cues if PERSON_CUES[n][0] in ("holds", "beside")]
    if not faces and not (max(worn, default=0) >= CUE_ALONE or sum(worn) >= CUES_TOGETHER
                          or max(held, default=0) >= HELD_ALONE):
        return None
    people = People(count=max(1, len(faces)), faces=faces, evidence="face" if faces else "cues")
    for name, p in cues:
        relation, phrase, role = PERSON_CUES[name]
        # a role from what the person is, holds or uses — never from clothes alone: a jacket
        # the classifier calls a military uniform does not make its wearer a soldier
        if relation != "wears" and (p >= SURE or (relation == "is" and p >= GUESS)):
            people.role = people.role or role
        if relation == "is" or p < GUESS:
            continue
        target = people.wears if relation == "wears" else people.holds
        if phrase not in target and hedge(phrase, p) not in target:
            target.append(hedge(phrase, p))
    for i, name in enumerate(names):
        if name in ROLE_CONTEXT and float(probs[i]) >= GUESS:
            people.role = ROLE_CONTEXT[name]
    _place(people, image)
    return people


def _place(people: People, image: Image.Image) -> None:
    """Where the largest face is, how large, which way it faces, the colour of the clothes."""
    if not people.faces:
        people.where, people.size = "in the picture", "a figure"
        return
    w, h = image.size
    f = people.faces[0]
    cx, cy = (f.left + f.width / 2) / w, (f.top + f.height / 2) / h
    horiz = "on the left" if cx < 0.38 else "on the right" if cx > 0.62 else "in the middle"
    people.where = horiz + (" near the top" if cy < 0.25 else " near the bottom" if cy > 0.75 else "")
    share = f.height / h
    people.size = ("a close portrait" if share > 0.35 else "a portrait" if share > 0.18
                   else "a figure" if share > 0.07 else "small in the picture")
    people.facing = "facing the camera"
    for top, bottom in ((1.7, 3.0), (1.4, 2.8)):  # the chest; nearer the chin when it is cut off
        below = (f.left - f.width // 2, f.top + int(top * f.height),
                 f.left + f.width + f.width // 2, f.top + int(bottom * f.height))
        found = region_colour(image, below)
        if found is not None:
            people.clothes_colour, people.clothes_box = found.name, below
            break

"""What is in the photo: labels as plain nouns, dominant colours, light, setting, composition.

* labels: EfficientNet-Lite0's ImageNet top-k, each turned into a plain noun (``tabby`` → cat,
  ``Labrador retriever`` → dog) with its hypernyms (``animal``), from index ranges of the ImageNet
  class list and a small hand-written table; other labels are cleaned up as they are.
* colours: k-means in CIE Lab on a small copy of the photo, each centre named by the nearest of
  ~30 colour names (distance in Lab).
* light: brightness (mean L*), warmth (mean b* and a*), a time-of-day and indoor/outdoor cue.
* composition: where the top class sits, from its class-activation map (the classifier's weights
  applied to the last feature map).

Example:
    >>> from PIL import Image
    >>> colours = dominant_colours(Image.new("RGB", (16, 16), (200, 30, 30)))
    >>> colours[0].name
    'red'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from artkit.core.errors import ArtkitError

MIN_SIDE = 8

# --------------------------------------------------------------------------------- labels

# (first index, last index + 1, plain noun, hypernyms) over the ImageNet class list.
_RANGES: list[tuple[int, int, str, tuple[str, ...]]] = [
    (0, 7, "fish", ("animal",)), (7, 25, "bird", ("animal",)), (25, 30, "salamander", ("animal",)),
    (30, 33, "frog", ("animal",)), (33, 38, "turtle", ("animal",)), (38, 49, "lizard", ("animal",)),
    (49, 51, "crocodile", ("animal",)), (52, 69, "snake", ("animal",)),
    (72, 78, "spider", ("animal",)), (80, 101, "bird", ("animal",)),
    (118, 122, "crab", ("animal",)), (122, 124, "lobster", ("animal",)),
    (127, 147, "bird", ("animal",)), (147, 149, "whale", ("animal",)),
    (151, 269, "dog", ("animal", "puppy", "hound")), (269, 272, "wolf", ("animal",)),
    (272, 281, "fox", ("animal",)), (281, 286, "cat", ("animal", "kitten", "kitty")),
    (286, 294, "big cat", ("cat", "animal")), (294, 298, "bear", ("animal",)),
    (300, 308, "beetle", ("insect",)), (321, 327, "butterfly", ("insect",)),
    (330, 333, "rabbit", ("animal",)), (365, 370, "ape", ("animal", "monkey")),
    (370, 383, "monkey", ("animal",)), (385, 387, "elephant", ("animal",)),
    (389, 398, "fish", ("animal",)),
]

# Labels that read badly as they are: label → (plain noun, hypernyms).
_NOUNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tusker": ("elephant", ("animal",)), "ox": ("ox", ("cow", "cattle", "animal")),
    "hog": ("pig", ("animal",)), "sorrel": ("horse", ("animal",)), "ram": ("sheep", ("animal",)),
    "Arabian camel": ("camel", ("animal",)), "ice bear": ("polar bear", ("bear", "animal")),
    "lesser panda": ("red panda", ("panda", "animal")), "giant panda": ("panda", ("bear", "animal")),
    "espresso": ("coffee", ("cup", "drink", "espresso")), "cup": ("cup", ("coffee", "tea", "drink")),
    "coffee mug": ("mug", ("cup", "coffee")), "eggnog": ("drink", ("cup", "glass")),
    "red wine": ("wine", ("glass", "drink")), "consomme": ("soup", ("bowl", "food")),
    "hot pot": ("stew", ("pot", "food")), "trifle": ("dessert", ("cake", "food")),
    "ice lolly": ("ice lolly", ("ice cream", "treat")), "French loaf": ("bread", ("loaf", "food")),
    "Granny Smith": ("apple", ("fruit",)), "hip": ("rose hip", ("berry", "fruit")),
    "head cabbage": ("cabbage", ("vegetable",)), "ear": ("corn", ("cob", "maize")),
    "agaric": ("mushroom", ("fungus",)), "bolete": ("mushroom", ("fungus",)),
    "hen-of-the-woods": ("mushroom", ("fungus",)), "gyromitra": ("mushroom", ("fungus",)),
    "rapeseed": ("field of flowers", ("flower", "field", "yellow")),
    "daisy": ("daisy", ("flower",)), "yellow lady's slipper": ("orchid", ("flower",)),
    "pot": ("flowerpot", ("pot", "plant", "flower")), "vase": ("vase", ("flower", "flowers")),
    "alp": ("mountain", ("mountains", "peak", "alps")), "cliff": ("cliff", ("rock", "cliffs")),
    "promontory": ("headland", ("cliff", "coast", "sea")), "seashore": ("seashore", ("beach", "sea", "shore")),
    "lakeside": ("lake", ("water", "shore")), "valley": ("valley", ("hills", "mountains")),
    "volcano": ("volcano", ("mountain",)), "sandbar": ("sandbank", ("beach", "sand")),
    "coral reef": ("coral reef", ("reef", "sea", "coral")), "geyser": ("geyser", ("spring", "steam")),
    "space shuttle": ("space shuttle", ("shuttle", "rocket", "spacecraft")),
    "missile": ("rocket", ("missile", "launch")), "projectile": ("rocket", ("missile",)),
    "moped": ("motorbike", ("motorcycle", "bike", "scooter")),
    "motor scooter": ("scooter", ("motorbike", "motorcycle", "bike")),
    "crash helmet": ("helmet", ("motorcycle",)), "go-kart": ("kart", ("car", "racing")),
    "racer": ("racing car", ("car",)), "sports car": ("sports car", ("car",)),
    "convertible": ("car", ("convertible",)), "cab": ("taxi", ("car", "cab")),
    "beach wagon": ("car", ("wagon",)), "jeep": ("jeep", ("car",)), "limousine": ("car", ("limousine",)),
    "minivan": ("van", ("car",)), "pickup": ("truck", ("pickup",)), "airliner": ("aeroplane", ("plane", "airplane", "aircraft")),
    "warplane": ("aeroplane", ("plane", "aircraft")), "wing": ("aeroplane", ("plane", "wing")),
    "container ship": ("ship", ("boat",)), "liner": ("ship", ("boat", "ocean liner")),
    "schooner": ("sailing ship", ("ship", "boat", "sail")), "yawl": ("sailing boat", ("boat", "sail")),
    "speedboat": ("boat", ("speedboat",)), "canoe": ("canoe", ("boat",)), "gondola": ("boat", ("gondola",)),
    "steam locomotive": ("train", ("locomotive", "engine")), "electric locomotive": ("train", ("locomotive",)),
    "passenger car": ("train", ("carriage", "railway")), "streetcar": ("tram", ("streetcar",)),
    "academic gown": ("gown", ("robe",)), "military uniform": ("uniform", ("soldier",)),
    "suit": ("suit", ("man", "jacket", "tie")), "Windsor tie": ("tie", ("suit", "man")),
    "bow tie": ("bow tie", ("tie", "suit")), "jersey": ("shirt", ("jersey", "top")),
    "sweatshirt": ("sweatshirt", ("shirt", "jumper")), "cardigan": ("cardigan", ("sweater", "jumper")),
    "mortarboard": ("cap", ("hat", "graduation")), "wig": ("hair", ("wig",)),
    "bikini": ("swimsuit", ("bikini",)), "maillot": ("swimsuit", ("costume",)),
    "lab coat": ("white coat", ("coat", "scientist")), "stole": ("shawl", ("scarf", "stole")),
    "cellular telephone": ("phone", ("telephone", "mobile")), "dial telephone": ("telephone", ("phone",)),
    "pay-phone": ("telephone", ("phone",)), "desktop computer": ("computer", ("screen",)),
    "notebook": ("laptop", ("computer",)), "hand-held computer": ("computer", ("device",)),
    "monitor": ("screen", ("monitor", "computer")), "screen": ("screen", ("monitor",)),
    "television": ("television", ("screen", "tv")), "iPod": ("music player", ("player",)),
    "studio couch": ("sofa", ("couch",)), "four-poster": ("bed", ("four-poster",)),
    "dining table": ("table", ("dinner",)), "desk": ("desk", ("table",)), "table lamp": ("lamp", ("light",)),
    "quilt": ("blanket", ("quilt", "bed")), "pillow": ("pillow", ("cushion", "bed")),
    "teddy": ("teddy bear", ("bear", "toy")), "jack-o'-lantern": ("pumpkin", ("lantern",)),
    "book jacket": ("book", ("cover",)), "comic book": ("comic", ("book",)),
    "web site": ("screen", ("page",)), "envelope": ("letter", ("envelope",)),
    "ballplayer": ("player", ("ball", "game")), "groom": ("bridegroom", ("groom", "wedding")),
    "scuba diver": ("diver", ("sea", "water")), "pirate": ("pirate ship", ("ship", "pirate")),
    "wreck": ("shipwreck", ("wreck", "ship")), "palace": ("palace", ("building", "castle")),
    "church": ("church", ("building", "chapel")), "mosque": ("mosque", ("building",)),
    "monastery": ("monastery", ("building",)), "library": ("library", ("books", "shelf")),
    "bookshop": ("bookshop", ("books",)), "bakery": ("bakery", ("bread", "shop")),
    "confectionery": ("sweet shop", ("shop", "sweets")), "grocery store": ("shop", ("grocery",)),
    "restaurant": ("restaurant", ("table", "café")), "stupa": ("temple", ("shrine",)),
    "pedestal": ("pedestal", ("statue", "plinth")), "maze": ("maze", ("hedge", "garden")),
    "Band Aid": ("plaster", ("bandage",)), "ashcan": ("bin", ("dustbin",)),
    "window screen": ("window", ("screen",)), "window shade": ("window", ("blind",)),
    "shoji": ("paper screen", ("screen", "door")), "sliding door": ("door", ("sliding door",)),
    "chainlink fence": ("fence", ("wire",)), "picket fence": ("fence", ("garden",)),
    "worm fence": ("fence", ("rail",)), "stone wall": ("wall", ("stone", "stones")),
    "tile roof": ("roof", ("tiles", "house")), "thatch": ("thatched roof", ("roof", "cottage")),
    "park bench": ("bench", ("park",)), "bannister": ("staircase", ("stairs", "railing")),
    "loupe": ("magnifying glass", ("lens",)), "reflex camera": ("camera", ("lens",)),
    "Polaroid camera": ("camera", ("photo",)), "lens cap": ("lens cap", ("camera",)),
    "perfume": ("perfume bottle", ("bottle",)), "water bottle": ("bottle", ("water",)),
    "wine bottle": ("bottle", ("wine",)), "beer bottle": ("bottle", ("beer",)),
    "pop bottle": ("bottle", ("soda",)), "pill bottle": ("bottle", ("pills",)),
}

_DROP_WORDS = {"American", "European", "African", "Indian", "common", "great", "little"}


@dataclass
class Label:
    """One ImageNet label and what it is called in plain words."""

    index: int
    label: str
    probability: float
    noun: str
    hypernyms: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        """Every word or phrase that counts as mentioning this label."""
        out = [self.noun, self.label.lower()] + list(self.hypernyms)
        head = self.noun.split()[-1]
        out.append(head)
        return tuple(dict.fromkeys(w.lower() for w in out if w))


def clean_label(label: str) -> str:
    """A raw ImageNet label as plain words (``pay-phone`` → ``pay phone``, no regional prefix)."""
    text = re.sub(r"[-_]", " ", label)
    words = [w for w in text.split() if w not in _DROP_WORDS] or text.split()
    text = " ".join(words)
    return text if any(c.isupper() for c in text[1:]) and text.isupper() else text.lower()


def plain_noun(index: int, label: str) -> tuple[str, tuple[str, ...]]:
    """The plain noun of ImageNet class ``index`` (named ``label``) and its hypernyms."""
    if label in _NOUNS:
        return _NOUNS[label]
    for lo, hi, noun, hyper in _RANGES:
        if lo <= index < hi:
            specific = clean_label(label)
            extra = (specific,) if specific != noun else ()
            return noun, tuple(hyper) + extra
    noun = clean_label(label)
    head = noun.split()[-1]
    return noun, ((head,) if head != noun else ())


def article(noun: str) -> str:
    """``a`` or ``an`` before ``noun`` (by its first letter)."""
    return "an" if noun[:1].lower() in "aeiou" else "a"


# --------------------------------------------------------------------------------- colours

# Colour names and their sRGB values (the basic names most people use).
COLOUR_NAMES: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20), "charcoal": (54, 69, 79), "dark grey": (90, 90, 90),
    "grey": (140, 140, 140), "silver": (192, 192, 192), "white": (245, 245, 245),
    "cream": (245, 235, 200), "beige": (215, 195, 160), "tan": (200, 160, 110),
    "brown": (120, 75, 40), "dark brown": (70, 45, 25), "chocolate": (95, 55, 30),
    "maroon": (110, 20, 30), "red": (200, 30, 30), "crimson": (220, 20, 60),
    "pink": (245, 160, 180), "rose": (200, 90, 120), "orange": (240, 130, 30),
    "rust": (170, 70, 30), "gold": (215, 170, 40), "yellow": (245, 220, 50),
    "olive": (120, 120, 40), "lime green": (150, 210, 60), "green": (50, 140, 50),
    "dark green": (25, 75, 35), "teal": (20, 120, 120), "turquoise": (60, 200, 200),
    "sky blue": (135, 190, 235), "blue": (40, 80, 200), "navy": (20, 30, 90),
    "steel blue": (70, 110, 150), "purple": (110, 50, 140), "lavender": (180, 160, 220),
    "violet": (140, 70, 200), "magenta": (200, 40, 160),
}


@dataclass
class Colour:
    """A dominant colour: its name, sRGB value and share of the photo."""

    name: str
    rgb: tuple[int, int, int]
    fraction: float

    @property
    def words(self) -> tuple[str, ...]:
        """Words that count as mentioning it (the name and its last word: navy → navy)."""
        base = self.name.split()[-1]
        extra = {"grey": ("gray",), "charcoal": ("grey", "gray", "black"),
                 "silver": ("grey", "gray", "silvery"), "cream": ("white",),
                 "chocolate": ("brown",), "maroon": ("red",), "crimson": ("red",),
                 "rust": ("red", "orange", "brown"), "gold": ("golden", "yellow"),
                 "navy": ("blue",), "teal": ("blue", "green"), "turquoise": ("blue",),
                 "rose": ("pink", "red"), "tan": ("brown",), "beige": ("cream", "brown"),
                 "olive": ("green",), "lavender": ("purple",), "violet": ("purple",),
                 "magenta": ("pink", "purple")}.get(base, ())
        return tuple(dict.fromkeys((self.name, base) + extra))


def _lab(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) sRGB in [0, 1] → (N, 3) Lab (through the shared torch conversion)."""
    from artkit.core.images import rgb_to_lab

    t = torch.from_numpy(rgb.T.astype(np.float32)).reshape(3, -1, 1)  # (3, N, 1)
    return rgb_to_lab(t).reshape(3, -1).T.numpy().astype(np.float64)  # (N, 3)


_NAME_LIST = list(COLOUR_NAMES)
_NAME_LAB = None


def name_colour(rgb: tuple[int, int, int] | np.ndarray) -> str:
    """The nearest colour name (Euclidean distance in Lab)."""
    global _NAME_LAB
    if _NAME_LAB is None:
        _NAME_LAB = _lab(np.array([COLOUR_NAMES[n] for n in _NAME_LIST], np.float64) / 255.0)
    lab = _lab(np.asarray(rgb, np.float64).reshape(1, 3) / 255.0)
    return _NAME_LIST[int(np.argmin(((_NAME_LAB - lab) ** 2).sum(1)))]


def kmeans(x: np.ndarray, k: int, iters: int = 15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Plain k-means with k-means++ seeding. Returns ``(centres (k, D), labels (N,))``."""
    rng = np.random.default_rng(seed)
    k = min(k, len(x))
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        total = d.sum()
        centres.append(x[rng.choice(len(x), p=d / total)] if total > 0 else x[rng.integers(len(x))])
    c = np.array(centres)
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iters):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(2).argmin(1)  # (N,)
        new = np.array([x[labels == j].mean(0) if np.any(labels == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c, labels


def dominant_colours(image: Image.Image, k: int = 5, min_fraction: float = 0.08) -> list[Colour]:
    """The photo's main colours, largest share first, named (same names merged)."""
    small = image.convert("RGB").resize((48, 48), Image.Resampling.BILINEAR)
    rgb = np.asarray(small, np.float64).reshape(-1, 3) / 255.0  # (N, 3)
    lab = _lab(rgb)
    centres, labels = kmeans(lab, k)
    shares: dict[str, Colour] = {}
    for j in range(len(centres)):
        frac = float(np.mean(labels == j))
        if frac == 0:
            continue
        mean_rgb = tuple(int(round(v * 255)) for v in rgb[labels == j].mean(0))
        name = name_colour(mean_rgb)
        if name in shares:
            shares[name].fraction += frac
        else:
            shares[name] = Colour(name, mean_rgb, frac)
    out = sorted(shares.values(), key=lambda c: -c.fraction)
    kept = [c for c in out if c.fraction >= min_fraction] or out[:1]
    for c in kept:
        c.fraction = round(c.fraction, 3)
    return kept


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
    lab = _lab(rgb.reshape(-1, 3)).reshape(48, 48, 3)
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


# --------------------------------------------------------------------------------- facts


@dataclass
class Facts:
    """Everything the story may use about the photo."""

    labels: list[Label]
    colours: list[Colour]
    light: Light
    position: str
    coverage: float
    size: tuple[int, int]
    caption: str | None = None
    captions: list[str] = field(default_factory=list)

    @property
    def subject(self) -> Label:
        return self.labels[0]

    def grounding_words(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(words naming the subject, words naming a dominant colour)."""
        colours = tuple(w for c in self.colours[:3] for w in c.words)
        return self.subject.words, colours


def check_image(image: Image.Image) -> Image.Image:
    """An RGB copy of ``image``; refuses images smaller than ``MIN_SIDE`` pixels a side."""
    if min(image.size) < MIN_SIDE:
        raise ArtkitError(f"the photo is {image.size[0]}x{image.size[1]} pixels, too small to "
                          f"describe", f"give a photo at least {MIN_SIDE} pixels a side")
    return image.convert("RGB")


def _classify(model, image: Image.Image, k: int) -> tuple[list[Label], np.ndarray]:
    from artkit.nets import class_names, preprocess_pil

    names = class_names()
    dev = next(model.parameters()).device
    with torch.inference_mode():
        x = preprocess_pil(image, size=224).to(dev)  # (1, 3, 224, 224)
        probs = torch.softmax(model(x).float(), dim=1)[0].cpu()  # (1000,)
        values, indices = probs.topk(k)
        labels = []
        for v, i in zip(values.tolist(), indices.tolist()):
            noun, hyper = plain_noun(i, names[i])
            labels.append(Label(i, names[i], round(float(v), 4), noun, hyper))
        # class-activation map of the top class on the whole (uncropped) photo
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
        cam = torch.einsum("c,chw->hw", model._fc.weight[labels[0].index].float(), fmap)
    return labels, cam.cpu().numpy()


def merge_labels(labels: list[Label], min_probability: float = 0.05) -> list[Label]:
    """Top labels with the same plain noun folded into the first (their probabilities summed)."""
    out: dict[str, Label] = {}
    for lab in labels:
        if lab.noun in out:
            out[lab.noun].probability = round(out[lab.noun].probability + lab.probability, 4)
            out[lab.noun].hypernyms = tuple(dict.fromkeys(out[lab.noun].hypernyms + (clean_label(lab.label),)))
        elif not out or lab.probability >= min_probability:
            out[lab.noun] = lab
    return list(out.values())


def extract(image: Image.Image, model, k: int = 5) -> Facts:
    """All the facts about ``image`` (``model``: an EfficientNet-Lite0 with its ImageNet head)."""
    image = check_image(image)
    raw, cam = _classify(model, image, k)
    labels = merge_labels(raw)
    colours = dominant_colours(image)
    light = light_and_setting(image, labels[0].index)
    position, coverage = describe_position(cam)
    facts = Facts(labels, colours, light, position, coverage, image.size)
    facts.captions = captions(facts)
    return facts


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def captions(facts: Facts) -> list[str]:
    """A few plain sentences stating the facts (the storyteller's "captions")."""
    s = facts.subject
    kind = f", {article(s.hypernyms[-1])} {s.hypernyms[-1]}" if (
        s.hypernyms and s.hypernyms[-1] not in ("animal",) and s.hypernyms[-1] != s.noun
        and s.hypernyms[-1] == clean_label(s.label)) else ""
    out = [f"A photo of {article(s.noun)} {s.noun}{kind}."]
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
    others = [lab.noun for lab in facts.labels[1:3]]
    if others:
        out.append(f"There may also be {_join([f'{article(o)} {o}' for o in others])}.")
    if facts.caption:
        out.append(facts.caption.strip().rstrip(".").capitalize() + ".")
    return out

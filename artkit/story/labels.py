"""ImageNet labels as plain words: nouns, hypernyms, the classes that imply a person, scenes.

EfficientNet-Lite0 answers with 1000 ImageNet classes, many of them breeds (``tiger cat``) or
objects whose names read badly (``maillot``). Here each class becomes

* a plain noun with hypernyms (``tabby`` → cat, animal), from index ranges of the class list and
  a hand-written table, with the *group probability* of that noun: the probabilities of every
  class with the same noun summed (the five domestic cats for ``cat``);
* for the classes that imply a person — clothing (``suit``, ``jersey``, ``lab coat``), things held
  or played (``soccer ball``, ``violin``, ``reflex camera``), people themselves (``groom``,
  ``scuba diver``, ``ballplayer``) — what the person wears, holds or is (:data:`PERSON_CUES`);
* for scene classes (``lakeside``, ``valley``, ``seashore``, …) the place they name
  (:data:`SCENE_CLASSES`).

Confidence words come from thresholds on the group probability, chosen on a labelled set of
photos that is not the evaluation set (see :data:`SURE` and ``benchmarks/story.py
--calibrate``): above :data:`SURE` a label is told as a fact, between :data:`GUESS` and
:data:`SURE` as a guess ("what might be a lake"), below :data:`GUESS` it is left out.

Example:
    >>> plain_noun(281, "tabby")
    ('cat', ('animal', 'kitten', 'kitty', 'tabby'))
    >>> PERSON_CUES["suit"]
    ('wears', 'a suit', None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

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
    """One ImageNet label and what it is called in plain words.

    Args:
        index: the ImageNet class.
        label: its ImageNet name (``tiger cat``).
        probability: the classifier's probability of this one class.
        noun: the plain noun (``cat``).
        hypernyms: broader words that count as naming it (``animal``, ``kitten``).
        group_probability: the summed probability of every class with the same plain noun
            (``cat``: tabby + tiger cat + Persian + Siamese + Egyptian cat), what a person means
            by "it is a cat".
    """

    index: int
    label: str
    probability: float
    noun: str
    hypernyms: tuple[str, ...] = ()
    group_probability: float = 0.0

    def describe(self) -> str:
        """The probabilities in words: ``tiger cat 0.386, cat (any cat class) 0.910``."""
        own = f"{self.label} {self.probability:.3f}"
        if self.group_probability > self.probability + 0.0005 and self.noun != self.label.lower():
            return f"{own}, {self.noun} (any {self.noun} class) {self.group_probability:.3f}"
        return own

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


def merge_labels(labels: list[Label], min_probability: float = 0.05) -> list[Label]:
    """Top labels with the same plain noun folded into the first (the first keeps its own
    probability; the folded labels' names join its hypernyms)."""
    out: dict[str, Label] = {}
    for lab in labels:
        if lab.noun in out:
            first = out[lab.noun]
            first.hypernyms = tuple(dict.fromkeys(first.hypernyms + (clean_label(lab.label),)))
        elif not out or lab.probability >= min_probability:
            out[lab.noun] = lab
    return list(out.values())


def noun_index(names: list[str]) -> dict[str, list[int]]:
    """``{plain noun: [class indices]}`` over the class list (for group probabilities)."""
    out: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        out.setdefault(plain_noun(i, name)[0], []).append(i)
    return out


def top_labels(probs: torch.Tensor, names: list[str], k: int = 5) -> list[Label]:
    """The ``k`` most probable classes of (1000,) ``probs`` as :class:`Label` s, each with the
    group probability of its plain noun."""
    groups = _GROUPS.get(id(names)) or noun_index(names)
    _GROUPS[id(names)] = groups
    values, indices = probs.topk(k)
    out = []
    for v, i in zip(values.tolist(), indices.tolist()):
        noun, hyper = plain_noun(i, names[i])
        group = float(probs[groups[noun]].sum())
        out.append(Label(i, names[i], round(float(v), 4), noun, hyper, round(group, 4)))
    return out


_GROUPS: dict[int, dict[str, list[int]]] = {}

# --------------------------------------------------------------------------------- confidence

# Thresholds on a label's group probability, chosen by ``benchmarks/story.py --calibrate`` on
# 24 labelled photos that are not in the evaluation set: the top label's noun named what a person
# sees in 13 of 17 photos at p >= 0.45 and in 2 of 6 between 0.15 and 0.45 (and 0 of 1 below):
# above SURE a label is told as a fact, between GUESS and SURE as a guess, below GUESS not at all.
SURE = 0.45
GUESS = 0.15


def confidence(p: float) -> str:
    """``"sure"``, ``"guess"`` or ``"none"`` for a group probability ``p``."""
    return "sure" if p >= SURE else "guess" if p >= GUESS else "none"


def coloured(phrase: str, colour: str | None) -> str:
    """``phrase`` with ``colour`` before its first noun: ("a helmet", "red") → "a red helmet",
    ("what might be an academic gown", "black") → "what might be a black academic gown",
    ("a camera on a tripod", "grey") → "a grey camera on a tripod"; unchanged without a colour."""
    if not colour:
        return phrase
    m = re.search(r"\b(a|an) ", phrase)
    if m is None:
        return f"{colour} {phrase}"
    return f"{phrase[:m.start()]}{article(colour)} {colour} {phrase[m.end():]}"


def hedge(phrase: str, p: float) -> str:
    """``phrase`` ("a cat") as told at confidence ``p``: as it is, or "what might be a cat"."""
    return phrase if p >= SURE else f"what might be {phrase}"


# --------------------------------------------------------------------------------- people

# What people wear on the body (where the clothes' colour is read, below the face); the rest of
# PERSON_CUES' "wears" (hats, helmets, ties, masks, shoes, jewellery) are not coloured by it.
BODY_WEAR = frozenset(f"a {v}" for v in (
    "suit", "jersey", "sweatshirt", "cardigan", "fur coat", "trench coat", "apron", "poncho",
    "kimono", "abaya", "cloak", "gown", "bikini", "swimsuit", "pair of pyjamas", "vestment",
    "stole", "bulletproof vest", "breastplate", "cuirass", "coat of chain mail", "hoopskirt",
    "skirt", "sarong", "miniskirt", "lab coat", "military uniform")) | {"an academic gown"}

# ImageNet classes that imply a person: class → (relation, phrase, role noun or None).
# relation: "wears", "holds", "is" (the class is a person), "beside" (an object people use).
PERSON_CUES: dict[str, tuple[str, str, str | None]] = {
    **{k: ("wears", f"a {v}", None) for k, v in {
        "suit": "suit", "Windsor tie": "tie", "bow tie": "bow tie", "bolo tie": "bolo tie",
        "jersey": "jersey", "sweatshirt": "sweatshirt", "cardigan": "cardigan",
        "fur coat": "fur coat", "trench coat": "trench coat", "apron": "apron", "poncho": "poncho",
        "kimono": "kimono", "abaya": "abaya", "cloak": "cloak", "gown": "gown", "wig": "wig",
        "sunglasses": "pair of sunglasses", "sunglass": "pair of sunglasses", "jean": "pair of jeans",
        "miniskirt": "miniskirt", "bikini": "bikini", "maillot": "swimsuit",
        "maillot tank suit": "swimsuit", "swimming trunks": "pair of swimming trunks",
        "pajama": "pair of pyjamas", "vestment": "vestment", "stole": "stole",
        "necklace": "necklace", "crash helmet": "helmet", "bathing cap": "bathing cap",
        "shower cap": "shower cap", "ski mask": "ski mask", "gasmask": "gas mask",
        "oxygen mask": "oxygen mask", "bulletproof vest": "bulletproof vest",
        "breastplate": "breastplate", "cuirass": "cuirass", "chain mail": "coat of chain mail",
        "hoopskirt": "hoopskirt", "overskirt": "skirt", "sarong": "sarong", "bonnet": "bonnet",
        "sombrero": "sombrero", "bearskin": "bearskin hat", "knee pad": "pair of knee pads",
        "running shoe": "pair of running shoes", "cowboy boot": "pair of cowboy boots",
        "hair slide": "hair slide", "lipstick": "lipstick"}.items()},
    "lab coat": ("wears", "a lab coat", "scientist"),
    "military uniform": ("wears", "a military uniform", "soldier"),
    "academic gown": ("wears", "an academic gown", "graduate"),
    "mortarboard": ("wears", "a mortarboard", "graduate"),
    "cowboy hat": ("wears", "a cowboy hat", "cowboy"),
    "football helmet": ("wears", "a helmet", None),
    "stethoscope": ("wears", "a stethoscope", "doctor"),
    **{k: ("holds", f"a {v}", "musician") for k, v in {
        "acoustic guitar": "guitar", "electric guitar": "guitar", "banjo": "banjo",
        "violin": "violin", "cello": "cello", "sax": "saxophone", "flute": "flute",
        "oboe": "oboe", "trombone": "trombone", "harmonica": "harmonica",
        "accordion": "accordion", "drum": "drum"}.items()},
    "microphone": ("holds", "a microphone", "singer"),
    "soccer ball": ("holds", "a football", "football player"),
    "basketball": ("holds", "a basketball", "basketball player"),
    "volleyball": ("holds", "a volleyball", None), "rugby ball": ("holds", "a rugby ball", None),
    "baseball": ("holds", "a baseball", None), "tennis ball": ("holds", "a tennis ball", None),
    "racket": ("holds", "a racket", None), "umbrella": ("holds", "an umbrella", None),
    "crutch": ("holds", "a crutch", None), "shield": ("holds", "a shield", None),
    "ski": ("holds", "a pair of skis", "skier"),
    "reflex camera": ("holds", "a camera", "photographer"),
    "Polaroid camera": ("holds", "a camera", "photographer"),
    "tripod": ("beside", "a camera on a tripod", "photographer"),
    "groom": ("is", "a bridegroom", "bridegroom"),
    "scuba diver": ("is", "a diver", "diver"),
    "ballplayer": ("is", "a ball player", "ball player"),
}
# a person's role from the rest of the picture (an astronaut stands before a spacecraft)
ROLE_CONTEXT = {"space shuttle": "astronaut"}

# --------------------------------------------------------------------------------- scenes

# ImageNet classes that name a place (class → the place in words, a few words that name it)
SCENE_CLASSES: dict[str, tuple[str, tuple[str, ...]]] = {
    "alp": ("a mountain landscape", ("mountain", "mountains", "peak", "alps")),
    "valley": ("a valley", ("valley", "hills", "mountains")),
    "lakeside": ("a lake shore", ("lake", "water", "shore", "river")),
    "seashore": ("a seashore", ("sea", "beach", "shore", "coast")),
    "sandbar": ("a sandbank", ("sand", "beach", "water")),
    "promontory": ("a headland over the sea", ("cliff", "headland", "sea", "coast")),
    "cliff": ("a cliff", ("cliff", "cliffs", "rock")), "volcano": ("a volcano", ("volcano", "mountain")),
    "geyser": ("a geyser", ("geyser", "steam", "spring")),
    "coral reef": ("a coral reef", ("reef", "coral", "sea")),
    "castle": ("a castle", ("castle", "towers")), "palace": ("a palace", ("palace", "castle")),
    "monastery": ("a monastery", ("monastery", "abbey")), "church": ("a church", ("church",)),
    "suspension bridge": ("a bridge", ("bridge",)), "steel arch bridge": ("a bridge", ("bridge",)),
    "viaduct": ("a viaduct", ("bridge", "viaduct")), "dam": ("a dam", ("dam", "water")),
    "boathouse": ("a boathouse", ("boathouse", "lake", "water")),
    "breakwater": ("a harbour wall", ("harbour", "sea", "pier")),
    "library": ("a library", ("library", "books")), "planetarium": ("a planetarium", ("dome",)),
}

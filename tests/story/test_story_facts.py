"""Facts from a photo: plain nouns, colours (k-means in Lab), light, setting, composition."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.nets import class_names
from artkit.story import colours as C
from artkit.story import facts as F
from artkit.story import labels as L
from artkit.story import people as P


@pytest.mark.parametrize("index,label,noun,hyper", [
    (281, "tabby", "cat", "animal"), (207, "golden retriever", "dog", "golden retriever"),
    (967, "espresso", "coffee", "cup"), (657, "missile", "rocket", "missile"),
    (22, "bald eagle", "bird", "bald eagle"), (33, "loggerhead", "turtle", "animal"),
])
def test_plain_nouns_and_hypernyms(index, label, noun, hyper):
    got, hypernyms = L.plain_noun(index, label)
    assert got == noun and hyper in hypernyms


def test_fallback_cleans_the_label():
    assert L.plain_noun(707, "pay-phone")[0] == "telephone"  # table
    noun, hyper = L.plain_noun(423, "barber chair")
    assert noun == "barber chair" and hyper == ("chair",)
    assert L.clean_label("American black bear") == "black bear"
    assert L.clean_label("sea-slug") == "sea slug"


def test_label_words_cover_noun_label_and_hypernyms():
    lab = L.Label(281, "tabby", 0.9, *L.plain_noun(281, "tabby"))
    assert {"cat", "tabby", "animal", "kitten"} <= set(lab.words)


def test_probabilities_say_what_they_are():
    """Issue 20: 0.91 was p(any cat class) recorded as p(tiger cat)."""
    names = class_names()
    probs = torch.zeros(1000)
    probs[282], probs[281], probs[285], probs[700] = 0.386, 0.3, 0.226, 0.088  # tiger cat, tabby
    top = L.top_labels(probs, names, 2)
    assert (top[0].label, top[0].probability) == ("tiger cat", 0.386)
    assert top[0].group_probability == pytest.approx(0.912, abs=1e-4)
    assert top[0].describe() == "tiger cat 0.386, cat (any cat class) 0.912"
    merged = L.merge_labels(top)
    assert merged[0].probability == 0.386  # folding the tabby in does not add it up
    assert L.Label(1, "goldfish", 0.5, "goldfish", (), 0.5).describe() == "goldfish 0.500"


@pytest.mark.parametrize("p,told", [(0.9, "a cat"), (0.3, "what might be a cat")])
def test_confidence_in_the_words(p, told):
    assert L.hedge("a cat", p) == told
    assert L.confidence(0.05) == "none"


def _probs(**named):
    names = class_names()
    probs = torch.zeros(1000)
    for name, p in named.items():
        probs[names.index(name.replace("_", " "))] = p
    return probs, names


def test_people_from_clothing_and_what_they_hold():
    image = Image.new("RGB", (64, 64), (200, 200, 200))
    probs, names = _probs(suit=0.84)
    pp = P.find_people(image, probs, names)
    assert pp is not None and pp.evidence == "cues" and pp.phrase() == "a person in a suit"
    probs, names = _probs(tripod=0.94)
    assert P.find_people(image, probs, names).phrase() == "a photographer beside a camera on a tripod"
    probs, names = _probs(soccer_ball=0.8, jersey=0.2)
    pp = P.find_people(image, probs, names)
    assert pp.role == "football player" and pp.holds == ["a football"]
    assert pp.wears == ["what might be a jersey"]
    probs, names = _probs(drum=0.49)  # a drum in a room is not a person
    assert P.find_people(image, probs, names) is None
    assert P.find_people(image, *_probs(suit=0.1)) is None


def test_faces_merge_and_small_stray_hits_go():
    big, inner, far, tiny = (P.Face(10, 10, 50, 50), P.Face(20, 20, 30, 30), P.Face(100, 10, 45, 45),
                             P.Face(200, 200, 12, 12))
    assert P.merge_faces([inner, big, far, tiny]) == [big, far]


def test_skin_share_tells_a_face_from_leaves():
    skin = Image.new("RGB", (40, 40), (224, 172, 140))
    leaf = Image.new("RGB", (40, 40), (40, 140, 50))
    box = P.Face(0, 0, 40, 40)
    assert P.skin_share(skin, box) > 0.9 and P.skin_share(leaf, box) == 0.0


def test_a_dark_field_of_small_bright_points_is_a_night_sky():
    rng = np.random.default_rng(0)
    sky = np.full((128, 128, 3), 8, np.uint8)
    ys, xs = rng.integers(0, 127, 80), rng.integers(0, 127, 80)
    sky[ys, xs] = 255
    assert F.starfield(Image.fromarray(sky))
    assert not F.starfield(Image.new("RGB", (128, 128), (8, 8, 8)))  # dark, no stars
    lights = np.full((128, 128, 3), 8, np.uint8)
    lights[100:, :] = 230  # a bright band (a lit street), not points
    assert not F.starfield(Image.fromarray(lights))


def test_the_subject_comes_first_people_then_sky_then_scene_then_object():
    colours = [C.Colour("grey", (128, 128, 128), 1.0)]
    flatworm = L.Label(110, "flatworm", 0.13, "flatworm", (), 0.13)
    sky = F.choose_subject([flatworm], None, True, colours)
    assert sky.kind == "sky" and "stars" in sky.phrase  # not a flatworm
    lake = L.Label(975, "lakeside", 0.28, "lake", ("water",), 0.28)
    scene = F.choose_subject([lake], None, False, colours)
    assert scene.kind == "scene" and scene.phrase == "what might be a lake shore" and not scene.sure
    cat = L.Label(282, "tiger cat", 0.386, "cat", ("animal",), 0.912)
    assert F.choose_subject([cat], None, False, colours).phrase == "a cat"
    person = P.People(count=1, wears=["a suit"], evidence="cues")
    assert F.choose_subject([cat], person, False, colours).kind == "person"
    none = L.Label(5, "electric ray", 0.05, "fish", (), 0.05)
    assert F.choose_subject([none], None, False, colours).kind == "picture"


def test_the_subject_is_told_with_its_colour():
    colours = [C.Colour("grey", (128, 128, 128), 1.0)]
    cat = L.Label(282, "tiger cat", 0.386, "cat", ("animal",), 0.912)
    told = F.choose_subject([cat], None, False, colours, "light brown")
    assert told.phrase == "a light brown cat" and told.colour == "light brown"
    lake = L.Label(975, "lakeside", 0.28, "lake", ("water",), 0.28)
    assert F.choose_subject([lake], None, False, colours, "olive").phrase == \
        "what might be an olive lake shore"
    sky = F.choose_subject([cat], None, True, colours, "red")
    assert sky.phrase == "a grey night sky full of stars"  # a starfield is the whole photo's colour
    suit = P.People(count=1, wears=["what might be a suit"], evidence="cues")
    assert F.choose_subject([cat], suit, False, colours, "navy").phrase == \
        "a person in what might be a navy suit"
    hat = P.People(count=1, wears=["a cowboy hat"], evidence="cues")  # not coloured by the clothes
    assert hat.phrase("black") == "a person in black wearing a cowboy hat"
    tripod = P.People(count=1, holds=["a camera on a tripod"], role="photographer", evidence="cues")
    assert tripod.phrase("grey") == "a photographer beside a grey camera on a tripod"
    assert P.People(count=2).phrase("white") == "two people in white"
    assert L.coloured("an academic gown", "black") == "a black academic gown"
    assert L.coloured("a gown", "olive") == "an olive gown"


def test_a_region_colour_takes_the_photo_s_name_only_when_it_is_that_paint():
    palette = [C.Colour("red", (200, 40, 30), 0.4), C.Colour("light grey", (210, 210, 212), 0.6)]
    copper = C.Colour("copper", (190, 90, 50), 1.0)  # an orange suit in a photo whose paint is "red"
    assert C.snap_colour(copper, palette) == "red"
    blue = C.Colour("blue", (40, 80, 200), 1.0)  # no blue in the photo: named as it is
    assert C.snap_colour(blue, palette) == "blue"
    assert C.snap_colour(blue, []) == "blue"


def test_cam_box_covers_the_hot_cells():
    cam = np.zeros((7, 7), np.float32)
    cam[1:3, 4:6] = 1.0
    assert F.cam_box(cam, (70, 140)) == (40, 20, 60, 60)
    assert F.cam_box(np.zeros((7, 7)), (70, 140)) == (0, 0, 70, 140)


# a table of colours and the names a person would accept for them
@pytest.mark.parametrize("rgb,names", [
    ((200, 30, 30), {"red"}), ((245, 245, 245), {"white"}), ((20, 20, 20), {"black"}),
    ((40, 80, 200), {"blue"}), ((50, 140, 50), {"green"}), ((245, 220, 50), {"yellow"}),
    ((168, 129, 113), {"light brown", "tan", "taupe"}),  # issue 14: it was called "grey"
    ((179, 153, 145), {"taupe", "light brown", "dusty pink"}), ((139, 94, 58), {"brown", "light brown"}),
    ((128, 128, 128), {"grey"}), ((130, 125, 120), {"grey"}), ((60, 62, 64), {"charcoal", "dark grey"}),
    ((210, 210, 212), {"light grey"}), ((110, 170, 235), {"sky blue", "light blue"}),
    ((20, 30, 80), {"navy", "dark blue"}), ((240, 130, 30), {"orange"}), ((250, 160, 190), {"pink"}),
    ((120, 40, 150), {"purple"}), ((225, 210, 170), {"beige"}), ((10, 70, 20), {"dark green", "forest green"}),
])
def test_name_colour_on_a_table(rgb, names):
    assert C.name_colour(rgb) in names


def test_a_colour_with_chroma_is_never_grey_and_a_grey_never_a_hue():
    for rgb in [(168, 129, 113), (150, 130, 110), (120, 130, 150)]:
        assert C.name_colour(rgb) not in C.ACHROMATIC
    for v in range(10, 250, 30):
        assert C.name_colour((v, v, v)) in C.ACHROMATIC


def test_dominant_colours_of_a_two_colour_image():
    arr = np.zeros((30, 40, 3), np.uint8)
    arr[:, :30] = (200, 30, 30)   # 3/4 red
    arr[:, 30:] = (40, 80, 200)   # 1/4 blue
    cols = C.dominant_colours(Image.fromarray(arr))
    assert [c.name for c in cols] == ["red", "blue"]
    assert cols[0].fraction == pytest.approx(0.75, abs=0.05)
    assert "red" in cols[0].words


def test_kmeans_finds_separated_clusters():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (50, 3)), rng.normal(5, 0.1, (30, 3))])
    centres, labels = C.kmeans(x, 2)
    assert sorted(np.bincount(labels).tolist()) == [30, 50]
    assert sorted(np.round(centres[:, 0]).tolist()) == [0.0, 5.0]


def test_light_and_setting():
    night = F.light_and_setting(Image.new("RGB", (32, 32), (10, 10, 25)))
    assert night.time_of_day == "night" and night.brightness < 0.1
    sky = np.zeros((48, 48, 3), np.uint8)
    sky[:20] = (110, 170, 235)
    sky[20:] = (60, 130, 60)
    day = F.light_and_setting(Image.fromarray(sky))
    assert day.setting == "outdoors" and day.time_of_day == "day"
    warm = F.light_and_setting(Image.new("RGB", (32, 32), (150, 90, 40)), top_index=967)
    assert warm.setting == "indoors" and warm.warmth > 0.3 and warm.time_of_day == "lamplight"


@pytest.mark.parametrize("where,text", [((1, 1), "centre"), ((1, 0), "on the left"),
                                        ((0, 2), "at the top right"), ((2, 1), "at the bottom")])
def test_describe_position(where, text):
    cam = np.zeros((3, 3))
    cam[where] = 1.0
    desc, area = F.describe_position(cam)
    assert text in desc and area == pytest.approx(1 / 9, abs=1e-3)


def test_extract_with_a_tiny_classifier_and_captions(photo):
    from doubles import tiny_classifier

    from artkit.core.images import load_image

    facts = F.extract(load_image(photo), tiny_classifier())
    assert 1 <= len(facts.labels) <= 5 and 0 <= facts.top.index < 1000
    assert [c.name for c in facts.colours][:1] == ["green"]
    assert {"sky blue", "red"} <= {c.name for c in facts.colours}
    text = " ".join(facts.captions)
    assert facts.captions[0] == f"A photo of {facts.subject.phrase}."  # the subject first
    assert "green" in text and "outdoors" in text
    subj, cols = facts.grounding_words()
    assert facts.subject.words == subj and "green" in cols


def test_tiny_images_are_refused():
    with pytest.raises(ArtkitError, match="too small"):
        F.check_image(Image.new("RGB", (1, 1)))

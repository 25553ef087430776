"""Facts from a photo: plain nouns, colours (k-means in Lab), light, setting, composition."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.story import facts as F


@pytest.mark.parametrize("index,label,noun,hyper", [
    (281, "tabby", "cat", "animal"), (207, "golden retriever", "dog", "golden retriever"),
    (967, "espresso", "coffee", "cup"), (657, "missile", "rocket", "missile"),
    (22, "bald eagle", "bird", "bald eagle"), (33, "loggerhead", "turtle", "animal"),
])
def test_plain_nouns_and_hypernyms(index, label, noun, hyper):
    got, hypernyms = F.plain_noun(index, label)
    assert got == noun and hyper in hypernyms


def test_fallback_cleans_the_label():
    assert F.plain_noun(707, "pay-phone")[0] == "telephone"  # table
    noun, hyper = F.plain_noun(423, "barber chair")
    assert noun == "barber chair" and hyper == ("chair",)
    assert F.clean_label("American black bear") == "black bear"
    assert F.clean_label("sea-slug") == "sea slug"


def test_label_words_cover_noun_label_and_hypernyms():
    lab = F.Label(281, "tabby", 0.9, *F.plain_noun(281, "tabby"))
    assert {"cat", "tabby", "animal", "kitten"} <= set(lab.words)


@pytest.mark.parametrize("rgb,name", [((200, 30, 30), "red"), ((245, 245, 245), "white"),
                                      ((20, 20, 20), "black"), ((40, 80, 200), "blue"),
                                      ((50, 140, 50), "green"), ((245, 220, 50), "yellow")])
def test_name_colour(rgb, name):
    assert F.name_colour(rgb) == name


def test_dominant_colours_of_a_two_colour_image():
    arr = np.zeros((30, 40, 3), np.uint8)
    arr[:, :30] = (200, 30, 30)   # 3/4 red
    arr[:, 30:] = (40, 80, 200)   # 1/4 blue
    cols = F.dominant_colours(Image.fromarray(arr))
    assert [c.name for c in cols] == ["red", "blue"]
    assert cols[0].fraction == pytest.approx(0.75, abs=0.05)
    assert "red" in cols[0].words


def test_kmeans_finds_separated_clusters():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (50, 3)), rng.normal(5, 0.1, (30, 3))])
    centres, labels = F.kmeans(x, 2)
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
    from conftest import tiny_classifier

    from artkit.core.images import load_image

    facts = F.extract(load_image(photo), tiny_classifier())
    assert 1 <= len(facts.labels) <= 5 and 0 <= facts.subject.index < 1000
    assert [c.name for c in facts.colours][:1] == ["green"]
    assert {"sky blue", "red"} <= {c.name for c in facts.colours}
    text = " ".join(facts.captions)
    assert facts.subject.noun in text and "green" in text and "outdoors" in text
    subj, cols = facts.grounding_words()
    assert facts.subject.noun in subj and "green" in cols


def test_tiny_images_are_refused():
    with pytest.raises(ArtkitError, match="too small"):
        F.check_image(Image.new("RGB", (1, 1)))

"""The real networks (EfficientNet-Lite0, MiniLM, SmolLM2-135M) on scikit-image's photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def _photo(name: str) -> Image.Image:
    import skimage.data

    return Image.fromarray(np.asarray(getattr(skimage.data, name)())).convert("RGB")


@pytest.mark.weights
def test_real_facts_people_sky_and_what_probabilities_mean(real_weights):
    real_weights("efficientnet-lite0")
    from artkit import nets
    from artkit.story.facts import extract

    model = nets.load_efficientnet("cpu")
    cat = extract(_photo("chelsea"), model)
    assert cat.subject.phrase == f"a {cat.subject.colour} cat" and cat.top.label == "tiger cat"
    assert cat.subject.colour in [c.name for c in cat.colours[:3]]  # the cat's, in the photo's words
    assert cat.top.probability < 0.5 < cat.top.group_probability  # tiger cat 0.39, any cat 0.91
    assert "grey" not in [c.name for c in cat.colours]  # a tan-brown cat (issue 14)
    astronaut = extract(_photo("astronaut"), model)
    assert astronaut.subject.kind == "person" and astronaut.people.faces  # the LBP cascade
    # the orange suit below the face, named as the photo's "red"; the helmet is not coloured by it
    assert astronaut.subject.phrase == "a person in red wearing what might be a helmet"
    camera = extract(_photo("camera"), model)
    assert camera.subject.phrase.startswith("a photographer")  # a camera on a tripod
    stars = extract(_photo("hubble_deep_field"), model)
    assert stars.subject.kind == "sky" and "flatworm" not in stars.captions[0]
    assert stars.subject.phrase == "a black night sky full of stars"


@pytest.mark.weights
@pytest.mark.slow
def test_real_story_about_the_cat(real_weights, tmp_path, monkeypatch):
    import os

    from artkit.story.api import Storyteller

    for name in ("efficientnet-lite0", "minilm-l6", "smollm2-135m"):
        real_weights(name)
    real = os.environ["ARTKIT_HOME"]  # the shared cache: read, never written
    monkeypatch.setenv("ARTKIT_HOME", str(tmp_path))  # the corpus embeddings are cached here
    (tmp_path / "weights").mkdir()
    for name in ("efficientnet-lite0", "minilm-l6", "smollm2-135m"):
        os.symlink(os.path.join(real, "weights", name), tmp_path / "weights" / name)
    teller = Storyteller(corpus_limit=200, device="cpu")
    story = teller.tell(_photo("chelsea"), "noir", length=25, retries=0)
    assert story.facts.subject.noun == "cat"
    thing = f"{story.facts.subject.colour} cat"
    assert thing in story.text[:120]  # the noir opening names the subject and its colour
    assert story.grounded and story.repeated == 0 and story.title
    assert set(story.exemplars) <= set(teller.style("noir")[1])
    assert set(story.weights) == {"efficientnet-lite0", "minilm-l6", "smollm2-135m"}


@pytest.mark.weights
def test_real_explain_figure(real_weights):
    real_weights("efficientnet-lite0")
    from artkit import nets
    from artkit.story.evidence import explain_label, pick_label
    from artkit.story.facts import extract

    photo = _photo("astronaut")
    facts = extract(photo, nets.load_efficientnet("cpu"))
    label, why = pick_label(facts)
    figure, notes = explain_label(photo, facts)
    assert figure.size[0] > 2 * figure.size[1] and not notes  # photo + two maps, patterns shipped
    assert label.label in {lab.label for lab in facts.labels}

"""The real pipeline (EfficientNet-Lite0, MiniLM, SmolLM2-135M) on scikit-image's cat."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


@pytest.mark.weights
@pytest.mark.slow
def test_real_story_about_the_cat(real_weights):
    for name in ("efficientnet-lite0", "minilm-l6", "smollm2-135m"):
        real_weights(name)
    import skimage.data

    from artkit.story import writer as W
    from artkit.story.api import Storyteller

    teller = Storyteller(corpus_limit=200)
    image = Image.fromarray(np.asarray(skimage.data.chelsea()))
    story = teller.tell(image, "noir", length=25, seed=0, retries=0)
    assert story.facts.subject.noun == "cat" and story.facts.subject.probability > 0.5
    assert {"grey", "brown"} & {c.name for c in story.facts.colours}
    thing = f"{story.facts.colours[0].name.split()[-1]} cat"
    assert story.text.startswith(W.opening("noir", thing, 0).split(",")[0])  # the noir voice
    assert thing in story.text
    assert story.grounded and story.repeated == 0 and story.title
    # the style shift retrieves noir passages written for artkit
    noir = set(teller.style("noir")[1])
    assert story.exemplars and set(story.exemplars) <= noir

"""The whole pipeline on tiny random networks: facts → captions → style shift → writer → Story."""

from __future__ import annotations

import pytest
import torch

from artkit.core.errors import ArtkitError
from artkit.story import embed
from artkit.story import writer as W
from artkit.story.api import Story


def test_tell_returns_a_complete_story(teller, photo):
    story = teller.tell(photo, "noir", length=25, seed=3, retries=1)
    assert isinstance(story, Story)
    assert story.style == "noir" and story.title and story.text
    assert story.photo == str(photo)
    assert len(story.exemplars) == 3 and all(len(e.split()) <= 60 for e in story.exemplars)
    assert story.captions == story.facts.captions and story.captions[0].startswith("A photo of")
    assert story.words == len(story.text.split()) <= 30
    assert story.repeated == 0  # repeated sentences are dropped in clean-up
    thing = f"{story.facts.colours[0].name.split()[-1]} {story.facts.subject.noun}"
    opening = W.opening("noir", thing, 3)  # the noir voice's first words, with the photo in them
    assert thing in opening and story.prompt.endswith(opening)
    assert story.text.startswith(opening.split(".")[0])
    assert 1 <= story.attempts <= 2
    assert {"facts", "style", "write", "title"} <= set(story.timings)
    for ex in story.exemplars:
        assert ex in story.prompt  # the exemplars are shown to the writer
    assert story.captions[0] in story.prompt
    md = story.markdown("scene.png")
    assert md.startswith(f"# {story.title}") and "![the photo](scene.png)" in md
    d = story.to_dict()
    assert d["facts"]["labels"][0]["noun"] == story.facts.subject.noun and "prompt" not in d


def test_same_seed_same_story_and_baselines(teller, photo):
    a = teller.tell(photo, "fairytale", length=20, seed=7, retries=0)
    b = teller.tell(photo, "fairytale", length=20, seed=7, retries=0)
    assert (a.title, a.text) == (b.title, b.text)
    no_facts = teller.tell(photo, "fairytale", length=20, seed=7, retries=0, use_facts=False)
    assert "The photo:" not in no_facts.prompt and no_facts.captions[0] not in no_facts.prompt
    no_ex = teller.tell(photo, "fairytale", length=20, seed=7, retries=0, use_exemplars=False)
    assert no_ex.exemplars == [] and "The photo:" in no_ex.prompt


def test_retries_on_degenerate_drafts(teller, photo):
    # a random writer never names the photo's subject and colour: every retry is used
    story = teller.tell(photo, "scifi", length=40, seed=0, retries=2, opening=False)
    assert story.attempts == 3 and not story.grounded


def test_style_file_and_bad_arguments(teller, photo, tmp_path):
    style = tmp_path / "gothic.txt"
    style.write_text("The castle loomed over the moor, black against a sky of lead.\n\n"
                     "Candles guttered in the long gallery where the portraits watched.\n\n"
                     "The wind moaned in the chimneys all night and the door would not stay shut.\n")
    story = teller.tell(photo, style, length=20, seed=1, retries=0)
    assert story.style == "gothic" and len(story.exemplars) == 3
    with pytest.raises(ArtkitError, match="length"):
        teller.tell(photo, "noir", length=5)
    with pytest.raises(ArtkitError, match="temperature"):
        teller.tell(photo, "noir", temperature=-1)
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ArtkitError, match="cannot read image"):
        teller.tell(bad, "noir")


def test_style_shift_and_retrieval():
    caps = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0]]), dim=-1)
    c = torch.tensor([0.5, 0.5, 0.0])
    b = torch.tensor([0.0, 0.0, 1.0])
    shifted = embed.style_shift(caps, c, b)
    assert torch.allclose(shifted.norm(dim=-1), torch.ones(2))
    expected = torch.nn.functional.normalize(caps[0] - c + b, dim=0)
    assert torch.allclose(shifted[0], expected)
    keys = torch.eye(3)
    assert embed.retrieve(shifted, keys, 2) == [2, 0]
    assert embed.retrieve(keys[:1], keys, 5) == [0, 1, 2]


def test_corpus_embeddings_are_cached(teller, tmp_home):
    from artkit.story.corpus import load_style

    corpus = load_style("adventure")
    passages, emb = embed.corpus_embeddings(corpus, teller.embedder, limit=10)
    assert len(passages) == 10 and emb.shape == (10, 16)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(10), atol=1e-5)
    files = list((tmp_home / "cache" / "story").glob("emb-adventure-*.safetensors"))
    assert len(files) == 1
    teller.embedder.encode = lambda *a, **k: pytest.fail("should come from the cache")
    again = embed.corpus_embeddings(corpus, teller.embedder, limit=10)[1]
    assert torch.equal(again, emb)
    assert embed.sample_passages(list(range(10)), 4) == [0, 2, 5, 7]


def test_captioner_caption_joins_the_facts(tiny_models, tmp_path, photo, tmp_home):
    from conftest import make_captioner, tiny_classifier

    from artkit.story.api import Storyteller

    cap = make_captioner(tmp_path / "captioner")
    teller = Storyteller(tiny_models["writer"], cap, classifier=tiny_classifier(),
                         embedder=tiny_models["encoder"], corpus_limit=20)
    story = teller.tell(photo, "noir", length=20, seed=0, retries=0)
    assert story.facts.caption and story.facts.caption.split()[0].lower() in story.captions[-1].lower()
    with pytest.raises(ArtkitError, match="not a Hugging Face model folder"):
        Storyteller(tiny_models["writer"], tmp_path, classifier=tiny_classifier(),
                    embedder=tiny_models["encoder"])


def test_evaluate_scores_every_condition(teller, photo, tmp_path):
    from artkit.story.evaluate import evaluate, photo_files

    (tmp_path / "notes.txt").write_text("not a photo")
    files = photo_files(tmp_path)
    assert files == [photo]
    rep = evaluate(files, ["noir", "scifi"], teller, length=20, retries=0)
    assert set(rep["summary"]) == {"full", "no_facts", "no_exemplars"}
    assert len(rep["stories"]) == 6
    for s in rep["summary"].values():
        assert s["n"] == 2 and 0 <= s["grounding"] <= 1 and 0 <= s["style_accuracy"] <= 1
        assert 0 < s["distinct2"] <= 1 and s["repeated_sentences"] == 0
    with pytest.raises(ArtkitError, match="two styles"):
        evaluate(files, ["noir"], teller)
    with pytest.raises(ArtkitError, match="no photos"):
        photo_files(_empty(tmp_path))


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


def test_missing_weights_name_the_fetch_command(tmp_home, photo):
    from artkit.story import tell

    with pytest.raises(ArtkitError, match="artkit weights fetch"):
        tell(photo, "noir")

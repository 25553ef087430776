"""The whole pipeline on tiny random networks: facts → captions → style shift → writer → Story."""

from __future__ import annotations

import pytest
import torch

from artkit.core.errors import ArtkitError
from artkit.core.result import Evaluation, Result
from artkit.core.runtime import make_generator
from artkit.story import embed
from artkit.story.api import Story


def test_tell_returns_a_complete_story(teller, photo):
    story = teller.tell(photo, "noir", length=25, retries=1, generator=make_generator(3))
    assert isinstance(story, Story) and isinstance(story, Result)
    assert story.style == "noir" and story.title and story.text
    assert story.photo == str(photo) and story.seconds > 0
    assert set(story.weights) == {"classifier", "embedder:encoder", "writer:writer"}
    assert all(len(v) == 64 for v in story.weights.values())
    assert len(story.exemplars) == 3 and all(len(e.split()) <= 60 for e in story.exemplars)
    assert story.captions == story.facts.captions and story.captions[0].startswith("A photo of")
    assert story.words == len(story.text.split()) <= 30
    assert story.repeated == 0  # repeated sentences are dropped in clean-up
    assert story.prompt.split("<|assistant|>")[-1].strip()[:10] == story.text[:10]  # the opening
    assert 1 <= story.attempts <= 2
    assert {"facts", "style", "write", "title"} <= set(story.timings)
    for ex in story.exemplars:
        assert ex in story.prompt  # the exemplars are shown to the writer
    assert story.captions[0] in story.prompt
    md = story.markdown("scene.png")
    assert md.startswith(f"# {story.title}") and "![the photo](scene.png)" in md
    d = story.to_dict()
    assert d["facts"]["labels"][0]["noun"] == story.facts.top.noun and "prompt" not in d
    assert d["facts"]["label_probabilities"] == story.facts.describe_labels()
    assert d["seconds"] == story.seconds and "weights" in d


def test_the_generator_decides_the_story_and_baselines(teller, photo):
    a = teller.tell(photo, "fairytale", length=20, retries=0, generator=make_generator(7))
    b = teller.tell(photo, "fairytale", length=20, retries=0, generator=make_generator(7))
    assert (a.title, a.text) == (b.title, b.text)
    c = teller.tell(photo, "fairytale", length=20, retries=0)  # None: seeded with 0, reproducible
    assert c.text == teller.tell(photo, "fairytale", length=20, retries=0).text
    state = torch.random.get_rng_state()
    teller.tell(photo, "fairytale", length=20, retries=0)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched
    no_facts = teller.tell(photo, "fairytale", length=20, retries=0, use_facts=False)
    assert "The photo:" not in no_facts.prompt and no_facts.captions[0] not in no_facts.prompt
    no_ex = teller.tell(photo, "fairytale", length=20, retries=0, use_exemplars=False)
    assert no_ex.exemplars == [] and "The photo:" in no_ex.prompt
    old = teller.tell(photo, "fairytale", length=20, retries=0, people=False)
    assert old.facts.subject.kind == "object" and old.facts.subject.noun == old.facts.top.noun


def test_retries_on_degenerate_drafts(teller, photo):
    # a random writer never names the photo's subject and colour: every retry is used, and the
    # story says so in its notes
    story = teller.tell(photo, "scifi", length=20, retries=1, opening=False)
    assert story.attempts == 2 and not story.grounded
    assert any("none of the 2 drafts" in n for n in story.notes)


def test_style_file_and_bad_arguments(teller, photo, tmp_path):
    style = tmp_path / "gothic.txt"
    style.write_text("The castle loomed over the moor, black against a sky of lead.\n\n"
                     "Candles guttered in the long gallery where the portraits watched.\n\n"
                     "The wind moaned in the chimneys all night and the door would not stay shut.\n")
    story = teller.tell(photo, style, length=20, retries=0)
    assert story.style == "gothic" and len(story.exemplars) == 3
    with pytest.raises(ArtkitError, match="--length must be ≥ 20"):
        teller.tell(photo, "noir", length=5)
    with pytest.raises(ArtkitError, match="--temperature"):
        teller.tell(photo, "noir", temperature=-1)
    with pytest.raises(ArtkitError, match="unknown story option"):
        teller.tell(photo, "noir", seed=3)
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


def test_corpus_embeddings_are_cached_with_a_progress_bar_that_says_so(teller, tmp_home):
    from artkit.core.progress import Collector
    from artkit.story.corpus import load_style

    corpus = load_style("adventure")
    events = Collector()
    passages, emb = embed.corpus_embeddings(corpus, teller.embedder, limit=10, progress=events)
    assert len(passages) == 10 and emb.shape == (10, 16)
    assert events.events and "first use" in events.events[-1].task and events.events[-1].done
    assert torch.allclose(emb.norm(dim=-1), torch.ones(10), atol=1e-5)
    files = list((tmp_home / "cache" / "story").glob("emb-adventure-*.safetensors"))
    assert len(files) == 1
    teller.embedder.encode = lambda *a, **k: pytest.fail("should come from the cache")
    again = embed.corpus_embeddings(corpus, teller.embedder, limit=10)[1]
    assert torch.equal(again, emb)
    assert embed.sample_passages(list(range(10)), 4) == [0, 2, 5, 7]


def test_captioner_caption_joins_the_facts(tiny_models, tmp_path, photo, tmp_home):
    from doubles import make_captioner, tiny_classifier

    from artkit.story.api import Storyteller

    cap = make_captioner(tmp_path / "captioner")
    teller = Storyteller(tiny_models["writer"], captioner=cap, classifier=tiny_classifier(),
                         embedder=tiny_models["encoder"], corpus_limit=20)
    story = teller.tell(photo, "noir", length=20, retries=0)
    assert story.facts.caption and story.facts.caption.split()[0].lower() in story.captions[-1].lower()
    assert "captioner:captioner" in story.weights
    with pytest.raises(ArtkitError, match="not a Hugging Face model folder"):
        Storyteller(tiny_models["writer"], captioner=tmp_path, classifier=tiny_classifier(),
                    embedder=tiny_models["encoder"])


def test_evaluate_scores_every_condition_and_subject_naming(teller, photo, tmp_path):
    from artkit.story.evaluate import StoryEvaluation, evaluate, read_labels

    (tmp_path / "notes.txt").write_text("not a photo")
    labels = tmp_path / "labels.tsv"
    labels.write_text("# photo\tnouns\tpeople\nscene.png\tthe, zebra\t1\n")
    rep = evaluate([tmp_path], ["noir", "scifi"], teller, length=20, retries=0,
                   labels=read_labels(labels), conditions=["full", "labels_only"])
    assert isinstance(rep, StoryEvaluation) and isinstance(rep, Evaluation)
    d = rep.to_dict()
    assert set(d["summary"]) == {"full", "labels_only"} and len(d["stories"]) == 4
    for s in rep.summary.values():
        assert s["n"] == 2 and 0 <= s["grounding"] <= 1 and 0 <= s["style_accuracy"] <= 1
        assert s["subject_naming"] == s["subject_naming_people"]  # the one photo has a person
        assert set(s["by_style"]) == {"noir", "scifi"}
    # "the" is in every story: every story names the subject; the stories of one photo and
    # style start from the same random state in every condition
    assert all(r["subject_named"] for r in rep.stories)
    with pytest.raises(ArtkitError, match="two styles"):
        evaluate([photo], ["noir"], teller)
    with pytest.raises(ArtkitError, match="unknown condition"):
        evaluate([photo], ["noir", "scifi"], teller, conditions=["nope"])


@pytest.mark.parametrize("text,message", [
    ("a.png\n", "expected"), ("a.png\tcat\tmany\n", "whole number"), ("\tcat\t0\n", "expected")])
def test_bad_label_files(tmp_path, text, message):
    from artkit.story.evaluate import read_labels

    path = tmp_path / "labels.tsv"
    path.write_text(text)
    with pytest.raises(ArtkitError, match=message):
        read_labels(path)
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ArtkitError, match="not UTF-8"):
        read_labels(path)


def test_missing_weights_name_the_fetch_command(tmp_home, photo):
    from artkit.story import tell

    with pytest.raises(ArtkitError, match="artkit weights fetch"):
        tell(photo, "noir")
    with pytest.raises(ArtkitError, match="artkit weights fetch janeausten"):
        tell(photo, "romance")  # the corpus, checked before any network loads

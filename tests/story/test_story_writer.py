"""The writer: prompts, decoding guards, clean-up and degeneracy measures, on a tiny random LM."""

from __future__ import annotations

import pytest

from artkit.core.errors import ArtkitError
from artkit.story import writer as W


def test_clean_story_drops_repeats_and_cuts_at_a_sentence():
    body = ("The cat sat. The cat sat! It was grey.\nA new line here. It was grey. "
            "Then it slept for a very long time and never woke")
    text, dropped = W.clean_story(body, 100)
    assert dropped == 2
    assert text.count("The cat sat") == 1 and text.endswith("woke") is False
    assert W.repeated_sentences(text) == 0
    short, _ = W.clean_story("One two three. Four five six. Seven eight nine.", 6)
    assert short == "One two three. Four five six."


def test_distinct_n_and_repeats():
    assert W.distinct_n("a b c d") == 1.0
    assert W.distinct_n("a b a b a b") == pytest.approx(2 / 5)
    assert W.distinct_n("word") == 1.0
    assert W.repeated_sentences("It rained. it rained! The end.") == 1


def test_mentions_whole_words_and_plurals():
    assert W.mentions("Two cats slept.", ["cat"])
    assert W.mentions("The Grey one.", ("grey",))
    assert not W.mentions("A catalogue of things.", ["cat"])
    assert W.mentions("the big cat", ["big cat"])


def test_fallback_title():
    assert W.fallback_title("cat", "dark grey", "noir") == "The Case of the Grey Cat"
    assert W.fallback_title(None, None, "scifi") == "Signal"


def test_prompt_holds_facts_exemplars_and_the_request(tiny_models):
    w = W.Writer(tiny_models["writer"])
    assert w.chat
    p = w.prompt("noir", 120, ["A photo of a cat.", "The main colours are grey."],
                 ["The rain came down hard on the city."], "cat", "dark grey")
    assert "<|assistant|>" in p and "A photo of a cat." in p
    assert "The rain came down hard" in p and "about 120 words" in p
    assert p.index("The rain came down hard") < p.index("A photo of a cat.")
    assert "grey cat" in p and "detective" in p
    bare = w.prompt("noir", 120, None, None, None, None)
    assert "photo" not in bare and "passage" not in bare
    own = w.prompt("gothic", 50, None, ["x y z"], None, None)
    assert "'gothic' passages" in own


def test_plain_text_prompt_without_chat_template(tiny_models):
    w = W.Writer(tiny_models["plain_writer"])
    assert not w.chat
    assert w.prompt("scifi", 60, ["A photo of a rocket."], None, "rocket", "grey").endswith("\n\n")


def test_generation_is_seeded_and_bounded(tiny_models):
    w = W.Writer(tiny_models["writer"])
    p = w.prompt("noir", 30, ["A photo of a cat."], None, "cat", "grey")
    a, b = w.generate(p, 30, 0.8, seed=5), w.generate(p, 30, 0.8, seed=5)
    assert a == b and a.strip()
    assert w.generate(p, 30, 0.8, seed=6) != a
    assert len(a.split()) <= int(30 * W.TOKENS_PER_WORD * 1.25) + 24  # one word per token
    greedy = w.generate(p, 30, 0.0, seed=1)
    assert greedy == w.generate(p, 30, 0.0, seed=2)
    assert isinstance(w.title("the cat was grey .", 0), str)


def test_bad_writer_folders(tmp_path, tiny_models):
    with pytest.raises(ArtkitError, match="does not exist"):
        W.Writer(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtkitError, match="no config.json"):
        W.Writer(tmp_path / "empty")
    from transformers import ViTConfig

    ViTConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
              intermediate_size=8).save_pretrained(tmp_path / "vit")
    with pytest.raises(ArtkitError, match="'vit' model, not a causal language model"):
        W.Writer(tmp_path / "vit")

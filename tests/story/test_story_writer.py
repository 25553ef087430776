"""The writer: prompts, decoding guards, clean-up and degeneracy measures, on a tiny random LM."""

from __future__ import annotations

import pytest

import artkit.story.writer as W
from artkit.core.errors import ArtkitError
from artkit.core.runtime import make_generator


def test_clean_story_drops_repeats_and_cuts_at_a_sentence():
    body = ("The cat sat. The cat sat! It was grey.\nA new line here. It was grey. "
            "Then it slept for a very long time and never woke")
    text, dropped = W.clean_story(body, 100)
    assert dropped == 2
    assert text.count("The cat sat") == 1 and text.endswith("woke") is False
    assert W.repeated_sentences(text) == 0
    short, _ = W.clean_story("One two three. Four five six. Seven eight nine.", 6)
    assert short == "One two three. Four five six."


@pytest.mark.parametrize("text,expected", [
    ('They asked if we could do something impossible?"', "They asked if we could do something impossible?"),
    ("She picked up the cat, saying, '", "She picked up the cat, saying"),
    ('He said, "go home.', 'He said, "go home."'),
    ("She said, 'come here.", "She said, 'come here.'"),
    ('It was "fine" and "good".', 'It was "fine" and "good".'),
    ("The dogs' bowls were full.", "The dogs' bowls were full."),
    ("“Hello,” he said. “Wait.", "“Hello,” he said. “Wait.”"),
])
def test_unbalanced_quotes_are_closed_or_dropped(text, expected):
    """Issue 20: a scifi story ended on a stray quote, a romance on an unclosed one."""
    assert W.balance_quotes(text) == expected


def test_a_story_never_ends_on_an_open_quote():
    text, _ = W.clean_story("She ran to the dining-table. She picked up the cat, saying, '", 100)
    assert text == "She ran to the dining-table."
    text, _ = W.clean_story("It was late. Could we do something impossible?\"", 100)
    assert text == "It was late. Could we do something impossible?"


def test_a_story_never_ends_on_a_closing_mark_after_an_unfinished_sentence():
    """The regenerated story gallery's fairytale ended `... said this one person’`."""
    text, _ = W.clean_story("He came home. And everyone said this one person’", 100)
    assert text == "He came home."
    text, _ = W.clean_story("He came home. Then he said ‘hello there.’", 100)
    assert text == "He came home. Then he said ‘hello there.’"


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


def test_clean_title():
    assert W.clean_title("The Starboard: The Starboard: The Starboard: The Star") == "The Starboard"
    assert W.clean_title("The rocket's official title is \"The Charcoal Rocket\"") == \
        "The Charcoal Rocket"
    assert W.clean_title("**The Grey Cat.**") == "The Grey Cat"
    assert W.clean_title("The Cat: A Night in Town") == "The Cat: A Night in Town"


def test_fallback_title():
    assert W.fallback_title("cat", "dark grey", "noir") == "The Case of the Grey Cat"
    assert W.fallback_title(None, None, "scifi") == "Signal"


def test_prompt_holds_facts_exemplars_and_the_request(tiny_models):
    w = W.Writer(tiny_models["writer"])
    assert w.chat
    p = w.prompt("noir", 120, ["A photo of a cat.", "The main colours are grey."],
                 ["The rain came down hard on the city."], "cat", "the grey cat")
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
    a = w.generate(p, 30, 0.8, make_generator(5))
    assert a == w.generate(p, 30, 0.8, make_generator(5)) and a.strip()
    assert w.generate(p, 30, 0.8, make_generator(6)) != a
    assert len(a.split()) <= int(30 * W.TOKENS_PER_WORD * 1.25) + 24  # one word per token
    greedy = w.generate(p, 30, 0.0, None)
    assert greedy == w.generate(p, 30, 0.0, make_generator(2))
    assert isinstance(w.title("the cat was grey ."), str)


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


def test_decoding_never_repeats_a_4gram_and_follows_the_bias(tiny_models):
    import torch

    w = W.Writer(tiny_models["writer"])
    p = w.prompt("noir", 40, ["A photo of a cat."], None, "cat", "grey")
    ids = w.tokenizer(p, add_special_tokens=False)["input_ids"]
    text = w.generate(p, 40, 1.0, make_generator(0))
    seq = ids + w.tokenizer(text, add_special_tokens=False)["input_ids"]
    grams = [tuple(seq[i:i + 4]) for i in range(len(ids) - 3, len(seq) - 3)]
    assert len(grams) == len(set(grams))  # no generated 4-gram repeats one seen before it
    # a huge bias on one token makes it the choice wherever it is allowed
    target = w.tokenizer(" cat", add_special_tokens=False)["input_ids"][-1]
    bias = torch.zeros(w.vocab)
    bias[target] = 100.0
    out = w.tokenizer(w.generate(p, 10, 0.7, make_generator(0), bias=bias),
                      add_special_tokens=False)["input_ids"]
    assert out.count(target) >= len(out) // 2


def test_low_precision_weights_serve_single_tokens_only(tiny_models):
    """The fallback for causal LMs other than plain Llamas: bfloat16 weights for one token."""
    import copy

    import torch

    w = W.Writer(tiny_models["writer"], dtype="float32")
    model = copy.deepcopy(w.model)
    W._add_low_precision_weights(model, torch.bfloat16)
    lin = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert lin.weight.dtype == torch.float32 and lin.weight_lp.dtype == torch.bfloat16
    many = torch.randn(1, 9, lin.in_features)
    exact = torch.nn.functional.linear(many, lin.weight, lin.bias)
    assert torch.equal(lin(many), exact)  # a prompt: float32 weights, bit for bit
    one = many[:, :1]
    approx = lin(one)
    assert approx.dtype == torch.float32 and not torch.equal(approx, exact[:, :1])
    assert torch.allclose(approx, exact[:, :1], atol=0.05, rtol=0.05)
    assert not hasattr(next(m for m in w.model.modules() if isinstance(m, torch.nn.Linear)),
                       "weight_lp")
    with pytest.raises(ArtkitError, match="unknown writer dtype"):
        W.Writer(tiny_models["writer"], dtype="int4")


def test_style_bias_boosts_only_the_styles_own_frequent_tokens():
    import torch

    style = torch.tensor([50.0, 50.0, 30.0, 1.0, 0.0, 20.0])
    other = torch.tensor([50.0, 50.0, 0.0, 0.0, 40.0, 20.0])
    b = W.style_bias(style, [other], 1.0, prior=10.0, keep=torch.tensor([5]))
    assert b[2] > 0.5  # the style's own word
    assert b[3] == 0  # seen once: chance
    assert b[4] == 0  # the other style's word is not forbidden, only not boosted
    assert b[5] == 0  # kept (e.g. end of text)
    assert torch.all(b >= 0) and float(b.max()) <= 4.0
    assert torch.allclose(W.style_bias(style, [other], 2.0, prior=10.0), 2 * W.style_bias(
        style, [other], 1.0, prior=10.0))
    assert W.style_bias(style, [style], 1.0).abs().max() < 1e-5  # alone: no contrast, no bias
    words = torch.tensor([True, True, False, True, True, True])
    assert W.style_bias(style, [other], 1.0, prior=10.0, eligible=words)[2] == 0


def test_word_tokens_hold_letters(tiny_models):
    w = W.Writer(tiny_models["writer"])
    words = w.word_tokens()
    assert words.shape == (w.vocab,) and words.any() and not words.all()
    for i in range(w.vocab):
        text = w.tokenizer.decode([i])
        assert bool(words[i]) == any(c.isalpha() for c in text)


def test_openings_start_in_the_voice_with_the_photo_in_them():
    for style in ("romance", "fairytale", "noir", "scifi", "adventure"):
        for seed in (0, 1):
            assert "grey cat" in W.opening(style, "grey cat", seed)
        assert W.opening(style, "x", 0) != W.opening(style, "x", 1)
    assert W.opening("gothic", "grey cat", 0) == "The grey cat"
    assert W.opening("noir", "grey cat", 0).startswith("I ")
    place = W.opening("fairytale", "a night sky full of stars", 0, place=True)
    assert "near a night sky full of stars" in place and "a a " not in place
    assert W.opening("gothic", "what might be a lake", 0, place=True) == "What might be a lake"


def test_fast_llama_step_matches_the_model(tiny_models):
    import torch

    from artkit.story import fastllama
    from artkit.story.fastllama import cache_of, forward

    w = W.Writer(tiny_models["writer"], dtype="float32")
    assert fastllama.supports(w.model) and w.stepper is None  # float32: the model's own modules
    step = fastllama.LlamaStepper(w.model, torch.float32)
    tokens = [5, 9, 13, 2, 7, 11, 4]
    out = forward(w.model, torch.tensor([tokens[:3]]), None)
    assert step.start(cache_of(out), 3, len(tokens))
    ref = w.model(input_ids=torch.tensor([tokens])).logits[0].float()  # (T, V)
    for i, tok in enumerate(tokens[3:]):
        assert torch.allclose(step.step(tok), ref[3 + i], atol=1e-4)
    with pytest.raises(RuntimeError, match="full"):
        step.step(1)
    assert step.check(w.model, tokens)
    fast = W.Writer(tiny_models["writer"])  # bfloat16: the fast step, checked against the model
    assert fast.stepper is not None
    p = fast.prompt("noir", 20, ["A photo of a cat."], None, "cat", "grey")
    assert fast.generate(p, 20, 0.7, make_generator(4)) == fast.generate(p, 20, 0.7, make_generator(4))
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2))
    assert not fastllama.supports(gpt2)

"""The writer: a causal language model that turns facts and style exemplars into a titled story.

The default writer is SmolLM2-135M-Instruct (``smollm2-135m`` in the weight store); any local
Hugging Face causal-LM folder works. Degenerate output is guarded against three ways: in decoding
(repetition penalty, no repeated n-grams, a token budget from the target length), in clean-up
(repeated sentences dropped, the text cut at a sentence end near the target length) and by
retries (drawing on from the same generator) when a draft is too short, repetitive or misses
the facts. Unbalanced quotation marks are closed or dropped. The title is asked for afterwards,
in a second short greedy generation that reads the story.

The style reaches the writer three ways: passages of the style corpus as earlier turns of the
conversation, the story's first words in the style's voice (:data:`STYLE_OPENINGS`), and a
vocabulary bias in decoding (:func:`style_bias`). Decoding is artkit's own loop: prefill in
float32, then one token at a time with bfloat16 copies of the linear layers' weights (the step
is memory-bound), stopping at the first sentence end past the target length.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from artkit.core.errors import ArtkitError
from artkit.story.corpus import split_sentences
from artkit.story.fastllama import LlamaStepper, cache_of, forward, supports
from artkit.weights import store

TOKENS_PER_WORD = 1.45

STYLE_VOICES = {
    "romance": "a romance in the manner of Jane Austen: drawing rooms, manners, marriage and "
               "feeling, told in long, polished sentences",
    "fairytale": "a fairy tale: once upon a time, enchanted forests, kings, witches and talking "
                 "animals, told simply",
    "noir": "a hard-boiled detective story: night, rain, neon, cigarettes and lies, told in the "
            "first person in short, tough sentences",
    "scifi": "a science-fiction story: starships, robots, distant planets and strange signals",
    "adventure": "an adventure story: maps, treasure, jungles, storms and daring escapes",
}


# First words of a story in each built-in style, with the photo's subject ({thing}, e.g. "grey
# cat") in them: a small writer continues in the voice it is started in far more reliably than
# it follows an instruction, and the story begins with the photo. A style file gets "The {thing}".
STYLE_OPENINGS = {
    "romance": ("Nobody at the Ashford assembly had expected the {thing} to cause such a stir among "
                "the young ladies, and Miss Harriet Grey",
                "It was generally agreed in the neighbourhood that the {thing} was the most "
                "agreeable object in the drawing-room, and Mrs. Bennet"),
    "fairytale": ("Once upon a time, in a kingdom beyond the seven hills, there lived a {thing}",
                  "Long ago, when wishes still came true, a {thing} lived at the edge of an "
                  "enchanted forest"),
    "noir": ("I first saw the {thing} on a wet Tuesday night, under the neon, and I should have "
             "walked away. I",
             "The {thing} was trouble. I knew it the moment the rain let up and I"),
    "scifi": ("In the year 2347, aboard the starship Meridian, the crew found a {thing} in the "
              "cargo bay. The ship's computer",
              "The signal from the far side of the galaxy led the robot explorer to a {thing} on a "
              "frozen planet. Its sensors"),
    "adventure": ("The old map had led us across the mountains and the jungle to the {thing}, and "
                  "the storm",
                  "We had been three days in the jungle, hunting for treasure, when we found the "
                  "{thing}. Our guide"),
}


# The same for a subject that is a place or a guess, named with its article ({place}: "a night
# sky full of stars", "what might be a lake shore").
PLACE_OPENINGS = {
    "romance": ("Nobody at the Ashford assembly had expected an evening walk to {place} to cause "
                "such a stir among the young ladies, and Miss Harriet Grey",),
    "fairytale": ("Once upon a time, in a kingdom beyond the seven hills, near {place}, there lived",),
    "noir": ("I first saw {place} on a wet Tuesday night, under the neon, and I should have walked "
             "away. I",),
    "scifi": ("In the year 2347, the cameras of the starship Meridian showed {place}. The ship's "
              "computer",),
    "adventure": ("The old map had led us across the mountains and the jungle to {place}, and the "
                  "storm",),
}


def opening(style: str, thing: str, choice: int = 0, place: bool = False) -> str:
    """The first words of a story in ``style`` about ``thing``.

    Args:
        style: the style's name (a style file gets "The {thing}").
        thing: the subject without its article ("grey cat", "person in a grey suit"), or with it
            when ``place``.
        choice: which of the style's openings (taken modulo their number).
        place: ``thing`` is a place or a guess, named with its article.
    """
    table = PLACE_OPENINGS if place else STYLE_OPENINGS
    choices = table.get(style)
    if not choices:
        return f"{thing[:1].upper()}{thing[1:]}" if place else f"The {thing}"
    return choices[int(choice) % len(choices)].format(thing=thing, place=thing)


@dataclass
class Draft:
    """One generated draft and how it scored."""

    text: str
    words: int
    distinct2: float
    repeated: int
    grounded: bool
    ok: bool
    seed: int


def _dtype(name: str, device: str | torch.device) -> torch.dtype:
    if name not in ("auto", "bfloat16", "float32"):
        raise ArtkitError(f"unknown writer dtype '{name}'", "use auto, bfloat16 or float32")
    if name == "auto":
        return torch.bfloat16 if torch.device(device).type == "cpu" else torch.float16
    return getattr(torch, name)


class Writer:
    """A causal LM loaded once, writing stories from prompts.

    Args:
        folder: a Hugging Face causal-LM folder (default: ``smollm2-135m`` from the weight store).
        device: where to run it.
        dtype: the decoding copy's precision: ``auto`` (bfloat16 on CPU), ``bfloat16`` or
            ``float32`` (no copy). The prefill always runs in float32.

    Raises:
        ArtkitError: the folder is missing or holds no causal language model.
    """

    def __init__(self, folder: str | os.PathLike | None = None, device: str | torch.device = "cpu",
                 dtype: str = "auto"):
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        if folder is None:
            folder = store.hf_folder("smollm2-135m")
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ArtkitError(f"writer folder '{self.folder}' does not exist",
                              "give a Hugging Face causal-LM folder or use --writer smollm2-135m")
        if not (self.folder / "config.json").is_file():
            raise ArtkitError(f"'{self.folder}' is not a Hugging Face model folder (no config.json)",
                              "give a causal-LM folder saved with save_pretrained")
        try:
            config = AutoConfig.from_pretrained(str(self.folder))
            self.model = AutoModelForCausalLM.from_pretrained(str(self.folder),
                                                              dtype=torch.float32)
        except (ValueError, KeyError) as exc:
            kind = locals().get("config")
            kind = getattr(kind, "model_type", "unknown")
            raise ArtkitError(f"'{self.folder}' holds a '{kind}' model, not a causal language "
                              f"model", "give a causal-LM folder (e.g. Llama, GPT-2, SmolLM2)") from exc
        except OSError as exc:
            raise ArtkitError(f"cannot load the writer from '{self.folder}': "
                              f"{' '.join(str(exc).split())[:200]}") from None
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ArtkitError(f"the writer folder '{self.folder}' has no usable tokenizer "
                              f"({type(exc).__name__})", "save the tokenizer into the folder") from None
        self.model.eval().to(device)
        self.device = torch.device(device)
        # decoding is memory-bound: one token's matrix-vector products read every weight, so
        # the linear layers get a bfloat16 copy of their weights for one-row inputs (half the
        # bytes; negative log-likelihood on the style corpora 3.941 vs 3.939 in float32), while
        # the prompt's prefill (compute-bound: bfloat16 matrix products without hardware support
        # are 6x slower), attention, norms and the key/value cache stay float32
        self.decode_dtype = _dtype(dtype, device)
        self._word_tokens: torch.Tensor | None = None
        self.stepper = None
        if self.decode_dtype != torch.float32:
            self.stepper = self._fast_stepper()
            if self.stepper is None:
                _add_low_precision_weights(self.model, self.decode_dtype)
        self.vocab = int(self.model.get_output_embeddings().weight.shape[0]
                         if self.model.get_output_embeddings() is not None
                         else self.model.config.vocab_size)
        eos = getattr(self.model.generation_config, "eos_token_id", None)
        eos = [eos] if isinstance(eos, int) else list(eos or [])
        if self.tokenizer.eos_token_id is not None:
            eos.append(self.tokenizer.eos_token_id)
        self.eos = sorted({int(e) for e in eos if 0 <= int(e) < self.vocab})
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))
        self.n_params = sum(p.numel() for p in self.model.parameters())

    def _fast_stepper(self):
        """artkit's own Llama decoding step (:mod:`artkit.story.fastllama`) when the model is a
        plain Llama on CPU and the step agrees with the model; else None."""
        if self.device.type != "cpu" or not supports(self.model):
            return None
        try:
            stepper = LlamaStepper(self.model, self.decode_dtype)
            probe = self.tokenizer("The grey cat sat by the window and watched the rain",
                                   add_special_tokens=False)["input_ids"]
            return stepper if stepper.check(self.model, probe) else None
        except (RuntimeError, ValueError, AttributeError, TypeError, IndexError):
            return None

    # ------------------------------------------------------------------------- prompt

    def prompt(self, style: str, length: int, facts: list[str] | None,
               exemplars: list[str] | None, subject: str | None, about: str | None = None,
               opening: str | None = None) -> str:
        """The story prompt (chat-formatted when the tokenizer has a chat template).

        Small models follow short, concrete requests best: the exemplars come first, as earlier
        turns of the conversation (few-shot examples of the voice), then the facts — the subject
        first, objects second — and one sentence that names the style and the subject.
        ``opening`` starts the writer's answer (the story's first words), so that it begins with
        the photo.

        Args:
            style: the style's name.
            length: the target length in words.
            facts: the fact sentences (None: the writer is told only the style).
            exemplars: passages of the style corpus.
            subject: the noun the story must name ("cat", "photographer").
            about: the subject as the story should meet it ("the grey cat", "a photographer
                holding a camera"; default: the subject).
            opening: the story's first words.
        """
        voice = STYLE_VOICES.get(style, f"a story in the voice of the '{style}' passages")
        short = voice.split(":")[0]
        turns: list[tuple[str, str]] = []
        # the exemplars as earlier turns of the conversation: few-shot examples of the voice
        for ex in exemplars or []:
            turns.append((f"Write a short passage of {short}.", ex))
        parts = []
        if facts:
            parts.append("The photo:\n" + "\n".join(f"- {f}" for f in facts))
        ask = f"Write {voice}, about {length} words long."
        if facts and subject:
            ask += (f" The story is about {about or 'the ' + subject} in the photo: name the "
                    f"{subject} and a colour of the photo.")
        if exemplars:
            ask += " Use the same voice as your passages above, but new names and events."
        ask += " Write only the story."
        parts.append(ask)
        return self._chat("You are a storyteller who writes vivid, original short stories in "
                          "plain prose.", "\n\n".join(parts), turns) + (opening or "")

    def title_prompt(self, story: str) -> str:
        """The prompt that asks for a title of ``story``."""
        return self._chat("You give stories short titles.",
                          f"{story}\n\nGive this story a title of two to five words. "
                          "Answer with the title only.")

    def _chat(self, system: str, user: str, turns: list[tuple[str, str]] | None = None) -> str:
        turns = turns or []
        if self.chat:
            messages = [{"role": "system", "content": system}]
            for ask, answer in turns:
                messages += [{"role": "user", "content": ask},
                             {"role": "assistant", "content": answer}]
            messages.append({"role": "user", "content": user})
            try:
                return self.tokenizer.apply_chat_template(messages, tokenize=False,
                                                          add_generation_prompt=True)
            except Exception:  # a broken template: fall back to plain text
                pass
        shots = "".join(f"{ask}\n\n{answer}\n\n" for ask, answer in turns)
        return f"{shots}{user}\n\n"

    @torch.inference_mode()
    def title(self, story: str) -> str:
        """A short title for ``story`` (greedy, a dozen tokens at most)."""
        raw = self.generate(self.title_prompt(story), 8, 0.0, None, max_tokens=14, penalty=1.0)
        line = next((ln for ln in raw.split("\n") if ln.strip()), "")
        line = re.sub(r"^(title\s*:|#+)\s*", "", line.strip(), flags=re.I)
        return clean_title(line)

    # ------------------------------------------------------------------------- generation

    def token_counts(self, texts: list[str] | tuple[str, ...]) -> torch.Tensor:
        """(V,) how often each vocabulary token occurs in ``texts`` (each read mid-sentence)."""
        vocab = self.vocab
        counts = torch.zeros(vocab, dtype=torch.float64)
        for start in range(0, len(texts), 256):
            batch = [" " + t for t in texts[start:start + 256]]
            ids = self.tokenizer(batch, add_special_tokens=False)["input_ids"]
            flat = torch.tensor([i for row in ids for i in row if 0 <= i < vocab], dtype=torch.long)
            counts += torch.bincount(flat, minlength=vocab).double()
        return counts

    def word_tokens(self) -> torch.Tensor:
        """(V,) True for the tokens that hold a letter (words and pieces of words; not
        punctuation, digits or spaces), computed once."""
        if self._word_tokens is None:
            texts = self.tokenizer.batch_decode([[i] for i in range(self.vocab)])
            self._word_tokens = torch.tensor([any(c.isalpha() for c in t) for t in texts])
        return self._word_tokens

    @torch.inference_mode()
    def generate(self, prompt: str, length: int, temperature: float,
                 generator: torch.Generator | None, max_tokens: int | None = None,
                 penalty: float = 1.15, bias: torch.Tensor | None = None) -> str:
        """Sample a continuation of ``prompt`` of about ``length`` words, drawing from
        ``generator`` (a CPU generator; unused when greedy, ``None`` then allowed).

        One prefill pass in float32, then token by token with the decoding copy of the model
        (bfloat16 by default) and its key/value cache. Each step: the repetition penalty over
        every token so far (prompt included), ``bias`` (a (V,) logit bias, see
        :func:`style_bias`), no repeated 4-gram (story drafts only), end of text refused
        before 90 % of the length, then temperature and nucleus (top-p 0.92) sampling, or
        greedy at temperature 0.
        """
        ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=not self.chat)
        ids = ids["input_ids"].to(self.device)  # (1, T)
        budget = max_tokens or int(length * TOKENS_PER_WORD * 1.1) + 16
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit:
            budget = max(8, min(budget, int(limit) - ids.shape[1]))
        story = max_tokens is None
        min_tokens = min(budget, int(length * 0.9)) if story else 0
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        seq = ids[0].tolist()
        grams: dict[tuple[int, ...], set[int]] = {}
        if story:
            for i in range(len(seq) - NGRAM + 1):
                grams.setdefault(tuple(seq[i:i + NGRAM - 1]), set()).add(seq[i + NGRAM - 1])
        seen = torch.zeros(self.vocab, dtype=torch.bool)
        seen[torch.tensor([t for t in seq if 0 <= t < self.vocab], dtype=torch.long)] = True
        out = forward(self.model, ids, None)
        cache = cache_of(out)
        stepper = self.stepper
        if stepper is not None and not stepper.start(cache, ids.shape[1], ids.shape[1] + budget):
            stepper = None
        logits_next = out.logits[0, -1].float().cpu()
        new: list[int] = []
        for step in range(budget):
            logits = logits_next[:self.vocab].clone()  # (V,)
            if penalty != 1.0:
                hit = logits[seen]
                logits[seen] = torch.where(hit > 0, hit / penalty, hit * penalty)
            if bias is not None:
                n = min(logits.shape[0], bias.shape[0])
                logits[:n] += bias[:n]
            if story:
                banned = grams.get(tuple(seq[len(seq) - NGRAM + 1:]))
                if banned:
                    logits[list(banned)] = -float("inf")
            if step < min_tokens and self.eos:
                logits[self.eos] = -float("inf")
            tok = _pick(logits, temperature, gen)
            if tok in self.eos:
                break
            new.append(tok)
            if story and len(seq) >= NGRAM - 1:
                grams.setdefault(tuple(seq[len(seq) - NGRAM + 1:]), set()).add(tok)
            seq.append(tok)
            seen[tok] = True
            if story and step >= min_tokens and step % 4 == 0 and self._finished(new, length):
                break
            if step + 1 < budget:
                if stepper is not None:
                    logits_next = stepper.step(tok)
                else:
                    out = forward(self.model, torch.tensor([[tok]], device=self.device), cache)
                    logits_next = out.logits[0, -1].float().cpu()
        return self.tokenizer.decode(new, skip_special_tokens=True)


    def _finished(self, tokens: list[int], length: int) -> bool:
        """Whether a draft has reached ``length`` words and ends a sentence (stop early)."""
        text = self.tokenizer.decode(tokens[-8:], skip_special_tokens=True).rstrip()
        if not text or text[-1] not in ".!?\"'”’":
            return False
        return len(self.tokenizer.decode(tokens, skip_special_tokens=True).split()) >= length


NGRAM = 4  # no 4-gram twice in a story (prompt included: exemplars are not copied verbatim)


def _pick(logits: torch.Tensor, temperature: float, gen: torch.Generator) -> int:
    """Greedy at temperature 0, else nucleus sampling (top-p 0.92) at ``temperature``."""
    if temperature <= 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / float(temperature), dim=-1)
    sorted_p, order = probs.topk(min(512, probs.shape[0]))  # the nucleus is nearly always here
    if float(sorted_p.sum()) < TOP_P:
        sorted_p, order = probs.sort(descending=True)
    keep = (sorted_p.cumsum(0) - sorted_p) < TOP_P  # the smallest set reaching TOP_P
    sorted_p = sorted_p * keep
    idx = torch.multinomial(sorted_p / sorted_p.sum(), 1, generator=gen)
    return int(order[idx])


TOP_P = 0.92


def _add_low_precision_weights(model: torch.nn.Module, dtype: torch.dtype) -> None:
    """Give every linear layer a ``dtype`` copy of its weight, used for inputs of a few rows."""
    import types

    for mod in model.modules():
        if isinstance(mod, torch.nn.Linear) and not hasattr(mod, "weight_lp"):
            mod.register_buffer("weight_lp", mod.weight.detach().to(dtype), persistent=False)
            mod.forward = types.MethodType(_dual_linear, mod)


def _dual_linear(self: torch.nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if x.numel() <= 4 * x.shape[-1]:  # one token (or a few): the low-precision weight
        y = torch.nn.functional.linear(x.to(self.weight_lp.dtype), self.weight_lp).to(x.dtype)
        return y if self.bias is None else y + self.bias
    return torch.nn.functional.linear(x, self.weight, self.bias)


# ----------------------------------------------------------------------------- style bias


def style_bias(style: torch.Tensor, others: list[torch.Tensor], strength: float,
               prior: float = 2000.0, cap: float = 4.0, min_count: int = 2,
               keep: torch.Tensor | None = None,
               eligible: torch.Tensor | None = None) -> torch.Tensor:
    """A (V,) logit bias towards a style's vocabulary: the storyteller's style shift, applied
    where a small writer listens, at every sampled token.

    ``strength * clip(log p_style(t) - log p_all(t), 0, cap)`` over token counts: ``p_all`` is
    the mean of the styles' token distributions (every style weighs the same, however long its
    corpus), ``p_style`` the style's counts shrunk towards ``p_all`` by a Dirichlet prior of
    ``prior`` pseudo-tokens, so that a short corpus does not make chance words look typical.
    Only tokens seen ``min_count`` times get a bias; only positive log-ratios count (a word the
    style never uses is not forbidden, so the photo's nouns stay reachable). ``keep`` (token
    ids) are never boosted either way (e.g. the end-of-text token); with ``eligible`` ((V,)
    bool) only those tokens are (the writer passes its word tokens: a boosted semicolon turns a
    small writer's prose into one endless sentence).
    """
    allc = [style] + [o for o in others if o is not style]
    dists = [c / c.sum().clamp(min=1.0) for c in allc]
    vocab = style.shape[0]
    p_all = torch.stack(dists).mean(0) + 1e-9
    p_all = p_all / p_all.sum()
    p_style = (style + prior * p_all) / (style.sum() + prior)
    ratio = (p_style.log() - p_all.log()).clamp(0.0, cap)
    ratio[style < min_count] = 0.0
    if eligible is not None:
        n = min(vocab, eligible.shape[0])
        ratio[:n][~eligible[:n]] = 0.0
        ratio[n:] = 0.0
    if keep is not None:
        ratio[keep[(keep >= 0) & (keep < vocab)]] = 0.0
    return (float(strength) * ratio).float()


# ----------------------------------------------------------------------------- clean-up


def _norm(sentence: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", sentence.lower()).strip()


def clean_story(body: str, max_words: int) -> tuple[str, int]:
    """Paragraphs of whole sentences, each sentence once, cut near ``max_words``.

    Returns ``(text, repeated sentences dropped)``.
    """
    body = re.sub(r"[*#_`]+", "", body)
    body = re.sub(r"(?im)^\s*(the end\.?|title:.*)\s*$", "", body)
    seen: set[str] = set()
    paragraphs, dropped, words = [], 0, 0
    for para in re.split(r"\n\s*\n|\n", body):
        kept = []
        for s in split_sentences(" ".join(para.split())):
            key = _norm(s)
            if not key:
                continue
            if key in seen:
                dropped += 1
                continue
            n = len(s.split())
            if words + n > max_words and words > 0:
                break
            seen.add(key)
            kept.append(s)
            words += n
        if kept:
            paragraphs.append(" ".join(kept))
        if words >= max_words:
            break
    text = balance_quotes("\n\n".join(paragraphs))
    # an unfinished last sentence goes, unless it is all there is (a closing mark ends a sentence
    # only after its stop: `person’` is unfinished, `there.’` is not)
    if text and text.rstrip("\"'”’)")[-1:] not in (".", "!", "?") \
            and len(split_sentences(text)) > 1:
        text = text[:max(text.rfind("."), text.rfind("!"), text.rfind("?")) + 1]
        text = text.rstrip()
    return text.strip(), dropped


_OPEN_SINGLE = re.compile(r"(?:(?<=^)|(?<=[\s(\[—-]))'(?=\w)")
_CLOSE_SINGLE = re.compile(r"(?<=[\w.,!?;:])'(?=[\s.,!?;:)\]—-]|$)")


def balance_quotes(text: str) -> str:
    """Unbalanced quotation marks closed or dropped.

    Double quotes (straight or curly) are paired left to right, an opening mark being one after
    a space or the start: a closing mark with nothing open is dropped (``impossible?"``), a mark
    still open at the end is closed after the last word when words follow it, dropped when none
    do (``saying, "``). A single quote is an apostrophe unless it opens a quotation (after a
    space, before a word): an opening one still open at the end is treated the same way.
    """
    out, open_at = [], None
    for i, ch in enumerate(text):
        if ch in '"“”':
            opening = ch == "“" or (ch == '"' and (i == 0 or text[i - 1].isspace()
                                                   or text[i - 1] in "([—-"))
            if opening and open_at is None:
                open_at = len(out)
            elif not opening and open_at is not None:
                open_at = None
            elif not opening:
                continue  # a closing mark with nothing open
            elif opening:  # a second opening mark: close the first quotation before it
                out.append("”" if ch == "“" else '"')
                open_at = len(out)
        out.append(ch)
    text = "".join(out)
    if open_at is not None:
        text = _close(text, open_at, '”' if text[open_at] == "“" else '"')
    text = re.sub(r"(^|\s)'\s*$", "", text).rstrip(" ,;:—-")  # a quote opened on the last word
    opens = [m.start() for m in _OPEN_SINGLE.finditer(text)]
    closes = [m.start() for m in _CLOSE_SINGLE.finditer(text)]
    if opens and not any(c > opens[-1] for c in closes):
        text = _close(text, opens[-1], "'")
    return text


def _close(text: str, at: int, mark: str) -> str:
    """Close the quotation opened at ``at`` at the end of the text, or drop the mark when no
    word follows it."""
    if not re.search(r"\w", text[at + 1:]):
        return (text[:at] + text[at + 1:]).rstrip(" ,;:—-")
    return text.rstrip() + mark


def distinct_n(text: str, n: int = 2) -> float:
    """Distinct-n: unique n-grams / all n-grams of the words (1.0 for fewer than n words)."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def repeated_sentences(text: str) -> int:
    """How many sentences repeat an earlier one (case and punctuation ignored)."""
    keys = [_norm(s) for s in split_sentences(text.replace("\n", " "))]
    keys = [k for k in keys if k]
    return len(keys) - len(set(keys))


def mentions(text: str, words: tuple[str, ...] | list[str]) -> bool:
    """Whether ``text`` contains any of ``words`` as whole words (plurals count)."""
    low = text.lower()
    for w in words:
        w = w.lower().strip()
        if w and re.search(r"\b" + re.escape(w) + r"(s|es)?\b", low):
            return True
    return False


def clean_title(line: str) -> str:
    """A generated title tidied: quotes and marks stripped, a quoted title inside a sentence
    taken, repeated parts ("The Star: The Star: ...") and an unfinished last part dropped."""
    quoted = re.search(r"[\"“]([^\"”]{3,60})[\"”]", line)
    if quoted and re.search(r"\btitle\b", line, re.I):
        line = quoted.group(1)
    parts, seen = [], set()
    for part in re.split(r"\s*[:|–—]\s+", line):
        key = _norm(part)
        if key and key not in seen:
            seen.add(key)
            parts.append(part.strip())
    if len(parts) > 1 and any(_norm(parts[-1]) != k and k.startswith(_norm(parts[-1]))
                              for k in seen):
        parts.pop()  # an unfinished repeat of an earlier part
    line = ": ".join(parts)
    line = line.replace('"', "").replace("“", "").replace("”", "")
    return line.strip(" *'_#:.-")


def fallback_title(subject: str | None, colour: str | None, style: str) -> str:
    """A title from the facts when the writer gave none."""
    if subject:
        lead = {"noir": "The Case of the", "fairytale": "The Tale of the", "scifi": "The",
                "adventure": "The Quest for the", "romance": "The"}.get(style, "The")
        adj = f"{colour.split()[-1].title()} " if colour else ""
        return f"{lead} {adj}{subject.title()}"
    return {"noir": "Night Work", "fairytale": "Once Upon a Time", "scifi": "Signal",
            "adventure": "The Expedition", "romance": "A Matter of the Heart"}.get(style, "A Story")

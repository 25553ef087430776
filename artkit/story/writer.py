"""The writer: a causal language model that turns facts and style exemplars into a titled story.

The default writer is SmolLM2-135M-Instruct (``smollm2-135m`` in the weight store); any local
Hugging Face causal-LM folder works. Degenerate output is guarded against three ways: in decoding
(repetition penalty, no repeated n-grams, a token budget from the target length), in clean-up
(repeated sentences dropped, the text cut at a sentence end near the target length) and by
retries with the next seed when a draft is too short, repetitive or misses the facts. The
title is asked for afterwards, in a second short greedy generation that reads the story.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from artkit.core.errors import ArtkitError

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


class Writer:
    """A causal LM loaded once, writing stories from prompts.

    Args:
        folder: a Hugging Face causal-LM folder (default: ``smollm2-135m`` from the weight store).
        device: where to run it.

    Raises:
        ArtkitError: the folder is missing or holds no causal language model.
    """

    def __init__(self, folder: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        if folder is None:
            from artkit.weights.store import hf_folder

            folder = hf_folder("smollm2-135m")
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ArtkitError(f"writer folder '{self.folder}' does not exist",
                              "give a Hugging Face causal-LM folder or use --writer smollm2-135m")
        if not (self.folder / "config.json").is_file():
            raise ArtkitError(f"'{self.folder}' is not a Hugging Face model folder (no config.json)",
                              "give a causal-LM folder saved with save_pretrained")
        try:
            config = AutoConfig.from_pretrained(str(self.folder))
            self.model = AutoModelForCausalLM.from_pretrained(str(self.folder), dtype=torch.float32)
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
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))
        self.n_params = sum(p.numel() for p in self.model.parameters())

    # ------------------------------------------------------------------------- prompt

    def prompt(self, style: str, length: int, facts: list[str] | None,
               exemplars: list[str] | None, subject: str | None, colour: str | None,
               opening: str | None = None) -> str:
        """The story prompt (chat-formatted when the tokenizer has a chat template).

        Small models follow short, concrete requests best: the exemplars come first, as earlier
        turns of the conversation (few-shot examples of the voice), then the facts and one
        sentence that names the style, the subject and its colour. ``opening`` starts the
        writer's answer (the story's first words), so that it begins with the photo.
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
            what = f"{colour.split()[-1]} {subject}" if colour else subject
            ask += f" The story is about the {what} in the photo: name the {subject} and its colour."
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
    def title(self, story: str, seed: int) -> str:
        """A short title for ``story`` (greedy, a dozen tokens at most)."""
        raw = self.generate(self.title_prompt(story), 8, 0.0, seed, max_tokens=14, penalty=1.0)
        line = next((ln for ln in raw.split("\n") if ln.strip()), "")
        line = re.sub(r"^(title\s*:|#+)\s*", "", line.strip(), flags=re.I)
        return line.strip(" *\"'“”_#:.")

    # ------------------------------------------------------------------------- generation

    @torch.inference_mode()
    def generate(self, prompt: str, length: int, temperature: float, seed: int,
                 max_tokens: int | None = None, penalty: float = 1.15) -> str:
        """Sample a continuation of ``prompt`` of about ``length`` words."""
        ids = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=not self.chat)
        ids = {k: v.to(self.device) for k, v in ids.items()}
        budget = max_tokens or int(length * TOKENS_PER_WORD * 1.25) + 24
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if limit:
            budget = max(8, min(budget, int(limit) - ids["input_ids"].shape[1]))
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        kwargs = dict(max_new_tokens=budget, pad_token_id=pad)
        if max_tokens is None:
            kwargs.update(min_new_tokens=min(budget, int(length * 0.9)), no_repeat_ngram_size=4)
        if penalty != 1.0:
            kwargs.update(repetition_penalty=penalty)
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=float(temperature), top_p=0.92, top_k=0)
        else:
            kwargs.update(do_sample=False)
        with torch.random.fork_rng(devices=[] if self.device.type == "cpu" else [self.device]):
            torch.manual_seed(int(seed))
            out = self.model.generate(**ids, **kwargs)
        new = out[0, ids["input_ids"].shape[1]:]
        return self.tokenizer.decode(new, skip_special_tokens=True)


# ----------------------------------------------------------------------------- clean-up


def _norm(sentence: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", sentence.lower()).strip()


def clean_story(body: str, max_words: int) -> tuple[str, int]:
    """Paragraphs of whole sentences, each sentence once, cut near ``max_words``.

    Returns ``(text, repeated sentences dropped)``.
    """
    from artkit.story.corpus import split_sentences

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
    text = "\n\n".join(paragraphs)
    # an unfinished last sentence goes, unless it is all there is
    if text and text[-1] not in ".!?\"'”’)" and len(split_sentences(text)) > 1:
        text = text[:max(text.rfind("."), text.rfind("!"), text.rfind("?")) + 1]
        text = text.rstrip()
    return text.strip(), dropped


def distinct_n(text: str, n: int = 2) -> float:
    """Distinct-n: unique n-grams / all n-grams of the words (1.0 for fewer than n words)."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def repeated_sentences(text: str) -> int:
    """How many sentences repeat an earlier one (case and punctuation ignored)."""
    from artkit.story.corpus import split_sentences

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


def fallback_title(subject: str | None, colour: str | None, style: str) -> str:
    """A title from the facts when the writer gave none."""
    if subject:
        lead = {"noir": "The Case of the", "fairytale": "The Tale of the", "scifi": "The",
                "adventure": "The Quest for the", "romance": "The"}.get(style, "The")
        adj = f"{colour.split()[-1].title()} " if colour else ""
        return f"{lead} {adj}{subject.title()}"
    return {"noir": "Night Work", "fairytale": "Once Upon a Time", "scifi": "Signal",
            "adventure": "The Expedition", "romance": "A Matter of the Heart"}.get(style, "A Story")

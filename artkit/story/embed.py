"""Sentence embeddings (MiniLM, mean-pooled) and the storyteller's "style shift" in that space.

neural-storyteller shifted a caption's skip-thought vector ``x`` to ``x - c + b``: ``c`` the mean
caption vector, ``b`` the mean vector of the romance passages. Here the vectors are MiniLM
sentence embeddings (``minilm-l6`` in the weight store): ``c`` is the mean of a fixed set of
reference captions (the same templates over many subjects and colours, standing in for COCO),
``b`` the style corpus' centroid, and the shifted captions retrieve the nearest passages of the
style corpus as exemplars of its voice.

Corpus embeddings are computed at a corpus' first use on a machine (with a progress bar that
says so) and cached under ``ARTKIT_HOME/cache/story``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from artkit.core.errors import ArtkitError
from artkit.core.files import atomic_path
from artkit.core.progress import ProgressCallback, report
from artkit.weights import store

MAX_TOKENS = 128
MAX_CORPUS = 1200


class Embedder:
    """A Hugging Face encoder with mean pooling; unit-length vectors.

    Args:
        folder: an HF model folder (default: ``minilm-l6`` from the weight store).
        device: where to run it.
    """

    def __init__(self, folder: str | os.PathLike | None = None, device: str | torch.device = "cpu"):
        from transformers import AutoModel, AutoTokenizer

        if folder is None:
            folder = store.hf_folder("minilm-l6")
        self.folder = Path(folder)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder))
            self.model = AutoModel.from_pretrained(str(self.folder)).eval().to(device)
        except (OSError, ValueError, KeyError) as exc:
            raise ArtkitError(f"cannot load the sentence encoder from {self.folder}: "
                              f"{' '.join(str(exc).split())[:200]}",
                              "run `artkit weights fetch minilm-l6 --force`") from None
        self.device = torch.device(device)
        cfg = (self.folder / "config.json")
        self.id = hashlib.sha256(cfg.read_bytes() if cfg.exists() else str(self.folder).encode()
                                 ).hexdigest()[:12]

    @torch.inference_mode()
    def encode(self, texts: list[str], batch_size: int = 32,
               progress: ProgressCallback | None = None, task: str = "embed") -> torch.Tensor:
        """(N, D) unit vectors of ``texts``."""
        out = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                                   max_length=MAX_TOKENS, return_tensors="pt").to(self.device)
            hidden = self.model(**batch).last_hidden_state.float()  # (B, T, D)
            mask = batch["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (B, D)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu())
            report(progress, task, min(start + batch_size, len(texts)), len(texts))
        if not out:
            return torch.zeros(0, self.model.config.hidden_size)
        return torch.cat(out)


def sample_passages(passages: tuple[str, ...] | list[str], limit: int = MAX_CORPUS) -> list[str]:
    """At most ``limit`` passages, evenly spread through the corpus (deterministic)."""
    passages = list(passages)
    if len(passages) <= limit:
        return passages
    step = len(passages) / limit
    return [passages[int(i * step)] for i in range(limit)]


def corpus_embeddings(corpus, embedder: Embedder, limit: int = MAX_CORPUS,
                      progress: ProgressCallback | None = None) -> tuple[list[str], torch.Tensor]:
    """The (sampled) passages of a :class:`StyleCorpus` and their embeddings, cached on disk."""
    from safetensors.torch import load_file, save_file

    passages = sample_passages(corpus.passages, limit)
    key = hashlib.sha256(("\n\n".join(passages) + embedder.id).encode()).hexdigest()[:16]
    cache = store.artkit_home() / "cache" / "story" / f"emb-{corpus.name}-{key}.safetensors"
    if cache.is_file():
        try:
            emb = load_file(str(cache))["embeddings"]
            if emb.shape[0] == len(passages):
                return passages, emb
        except Exception:  # a damaged cache file is recomputed
            pass
    # the first use of a corpus on this machine: ~70 s for the 1,200 romance passages on two
    # cores, said as such on the progress bar; cached from then on
    emb = embedder.encode(passages, progress=progress,
                          task=f"embedding the {corpus.name} corpus (first use; cached after)")
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp:
        save_file({"embeddings": emb.contiguous()}, str(tmp))
    return passages, emb


def reference_captions() -> list[str]:
    """Captions of the storyteller's kind over many subjects, colours and settings (for ``c``)."""
    subjects = ["dog", "cat", "bird", "car", "woman", "man", "child", "house", "tree", "boat",
                "cup of coffee", "plate of food", "bicycle", "horse", "flower", "train",
                "mountain", "street", "table", "book", "rocket", "helmet", "beach", "chair"]
    colours = ["red", "blue", "green", "grey", "brown", "white", "black", "yellow"]
    places = ["indoors in daylight", "outdoors in the daytime", "outdoors in the evening",
              "indoors in lamplight", "outdoors at night"]
    out = []
    for i, s in enumerate(subjects):
        c1, c2 = colours[i % len(colours)], colours[(i * 3 + 1) % len(colours)]
        out.append(f"A photo of a {s}.")
        out.append(f"The main colours are {c1}, {c2} and white.")
        out.append(f"It is {places[i % len(places)]}; the light is soft and warm.")
    return out


def caption_centre(embedder: Embedder) -> torch.Tensor:
    """``c``: the mean embedding of :func:`reference_captions` (cached in memory per encoder)."""
    key = embedder.id
    if key not in _CENTRES:
        _CENTRES[key] = embedder.encode(reference_captions()).mean(0)
    return _CENTRES[key]


_CENTRES: dict[str, torch.Tensor] = {}


def style_shift(captions: torch.Tensor, caption_mean: torch.Tensor,
                style_mean: torch.Tensor) -> torch.Tensor:
    """The storyteller's shift ``x - c + b`` of (N, D) caption vectors, unit length."""
    return torch.nn.functional.normalize(captions - caption_mean + style_mean, dim=-1)


def retrieve(queries: torch.Tensor, keys: torch.Tensor, k: int) -> list[int]:
    """Indices of the ``k`` passages nearest (cosine) to any of the (N, D) ``queries``, best
    first: each query's nearest in turn, round-robin, without repeats."""
    sims = queries @ keys.T  # (N, M)
    order = sims.argsort(dim=1, descending=True)  # (N, M)
    out: list[int] = []
    for rank in range(order.shape[1]):
        for q in range(order.shape[0]):
            idx = int(order[q, rank])
            if idx not in out:
                out.append(idx)
            if len(out) >= k:
                return out
    return out

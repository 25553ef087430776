"""Tiny stand-ins for the story pipeline's networks, built in temp folders (no real weights)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

WORDS = ("the a an and of in on at to was is it he she they his her cat dog grey gray brown "
         "white black red blue green night rain city street light dark old house forest king "
         "star ship robot map gold sea moon door room window cup coffee rocket once upon time "
         "there lived who said with from into when then but so very long little great").split()
PUNCT = [".", ",", "!", "?", "'"]
CHAT = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
        "{% if add_generation_prompt %}<|assistant|> {% endif %}")


def _tokenizer(chat: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<bos>", "<eos>", "[CLS]", "[SEP]", "<|system|>", "<|user|>",
                "<|assistant|>", "<|end|>"]
    vocab = {t: i for i, t in enumerate(specials + list(dict.fromkeys(WORDS)) + PUNCT)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                   bos_token="<bos>", eos_token="<eos>", cls_token="[CLS]",
                                   sep_token="[SEP]")
    if chat:
        fast.chat_template = CHAT
    return fast, len(vocab)


def make_writer(folder: Path, chat: bool = True, seed: int = 0) -> Path:
    """A randomly initialised 1-layer Llama with a word-level tokenizer, saved to ``folder``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tok, n = _tokenizer(chat)
    cfg = LlamaConfig(vocab_size=n, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def make_encoder(folder: Path) -> Path:
    """A randomly initialised 1-layer BERT with the same word-level tokenizer."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(1)
    tok, n = _tokenizer(False)
    cfg = BertConfig(vocab_size=n, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=256, pad_token_id=0)
    BertModel(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def make_captioner(folder: Path) -> Path:
    """A randomly initialised ViT -> GPT-2 VisionEncoderDecoder with an image processor."""
    from transformers import (GPT2Config, ViTConfig, ViTImageProcessor,
                              VisionEncoderDecoderConfig, VisionEncoderDecoderModel)

    torch.manual_seed(2)
    tok, n = _tokenizer(False)
    enc = ViTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, image_size=16, patch_size=8)
    dec = GPT2Config(vocab_size=n, n_embd=16, n_layer=1, n_head=2, n_positions=64,
                     bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id = tok.bos_token_id
    cfg.pad_token_id = tok.pad_token_id
    cfg.eos_token_id = tok.eos_token_id
    VisionEncoderDecoderModel(config=cfg).save_pretrained(folder)
    ViTImageProcessor(size={"height": 16, "width": 16}).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def tiny_classifier():
    from artkit.nets.efficientnet import EFFICIENTNET_SIZES, EfficientNetLite0

    torch.manual_seed(3)
    return EfficientNetLite0(dataclasses.replace(EFFICIENTNET_SIZES["tiny"], num_classes=1000)).eval()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("story-models")
    return {"writer": make_writer(root / "writer"), "encoder": make_encoder(root / "encoder"),
            "plain_writer": make_writer(root / "plain_writer", chat=False)}


@pytest.fixture
def teller(tiny_models, tmp_home):
    """A Storyteller on tiny random networks (isolated ARTKIT_HOME)."""
    from artkit.story.api import Storyteller

    return Storyteller(tiny_models["writer"], classifier=tiny_classifier(),
                       embedder=tiny_models["encoder"], corpus_limit=40)


@pytest.fixture
def photo(tmp_path) -> Path:
    """A 48x32 photo: blue sky over a red block on green grass."""
    import numpy as np
    from PIL import Image

    arr = np.zeros((32, 48, 3), np.uint8)
    arr[:12] = (110, 170, 235)
    arr[12:] = (40, 140, 50)
    arr[10:26, 18:32] = (200, 30, 30)
    path = tmp_path / "scene.png"
    Image.fromarray(arr).save(path)
    return path

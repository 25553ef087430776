"""Tiny stand-ins for the story pipeline's networks, built in temp folders (no real weights).

``fake_store(home)`` lays them out as an ``ARTKIT_HOME`` weight store (a random full-size
EfficientNet-Lite0, a 1-layer BERT as ``minilm-l6``), so that the command line runs end to end
on them; the writer is given with ``--writer``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

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




def _meta(name: str, folder: Path, layout: str) -> None:
    files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    hashes = {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in files.items()}
    meta = {"name": name, "source": "test double", "layout": layout, "files": hashes,
            "sizes": {k: p.stat().st_size for k, p in files.items()},
            "source_sha256": hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()}
    (folder / "meta.json").write_text(json.dumps(meta))


def fake_store(home: Path) -> Path:
    """An ARTKIT_HOME whose efficientnet-lite0 (random, full size) and minilm-l6 (a tiny BERT)
    are test doubles; returns ``home``."""
    from safetensors.torch import save_file

    from artkit.nets.efficientnet import EFFICIENTNET_SIZES, EfficientNetLite0

    eff = home / "weights" / "efficientnet-lite0"
    eff.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(4)
    net = EfficientNetLite0(EFFICIENTNET_SIZES["lite0"]).eval()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(eff / "model.safetensors"))
    _meta("efficientnet-lite0", eff, "state_dict")
    enc = home / "weights" / "minilm-l6"
    make_encoder(enc / "model")
    _meta("minilm-l6", enc, "hf")
    return home

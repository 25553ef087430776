"""Converters: turn a weight file as shipped into the form artkit loads (safetensors / HF folder).

Each converter takes the extracted member (a file or a folder) and an output folder, and writes
``model.safetensors`` (state dicts laid out like torchvision's), a Hugging Face model folder
(``model/``) or the data as shipped (``data/``). Checkpoints are never unpickled: ``.pth`` files
load with ``weights_only=True``.

The converters that write tensors are deterministic (the same member gives the same bytes),
which is what lets the registry pin their output. The GGUF language model is dequantised and
stored in **bfloat16**: its Q4_1 blocks hold 4-bit integers with a float16 scale and minimum
(``w = d * q + m``), so float32 would spend 4 bytes on values that carry ~4 bits of
information; bfloat16 halves the file (the story writer decodes in bfloat16 anyway).

torch and transformers are imported inside the converters, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from artkit.core.errors import ArtkitError
from artkit.weights.registry import DATA_FOLDER, HF_FOLDER, STATE_DICT_FILE

if TYPE_CHECKING:
    import torch

# Index of each conv layer inside torchvision's ``features`` Sequential.
VGG_CONV_INDICES = {
    "vgg16": [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
    "vgg19": [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34],
}
VGG_WIDTHS = {
    "vgg16": [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512],
    "vgg19": [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512],
}



def _save_state_dict(sd: dict[str, torch.Tensor], out_dir: Path,
                     metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().clone() for k, v in sd.items()},
              str(out_dir / STATE_DICT_FILE), metadata=metadata)


def keras_vgg16_h5(src: Path, out_dir: Path) -> None:
    """Keras-3 VGG16 h5 (``/blockN/layers/conv2d*/vars/{0,1}``, HWIO) → torchvision layout."""
    import h5py
    import torch

    try:
        f = h5py.File(src, "r")
    except OSError as exc:
        raise ArtkitError(f"'{src}' is not a readable HDF5 weight file ({exc})") from None
    sd: dict[str, torch.Tensor] = {}
    with f:
        convs = []
        for block in sorted((k for k in f.keys() if re.fullmatch(r"block\d+", k)), key=lambda k: int(k[5:])):
            layers = f[block]["layers"]
            names = [n for n in layers.keys() if re.fullmatch(r"conv2d(_\d+)?", n)]
            names.sort(key=lambda n: int(n.split("_")[1]) if "_" in n else 0)
            convs += [layers[n]["vars"] for n in names]
        if len(convs) != 13:
            raise ArtkitError(f"'{src}' has {len(convs)} conv layers, expected VGG16's 13")
        for idx, vars_ in zip(VGG_CONV_INDICES["vgg16"], convs):
            kernel = torch.from_numpy(vars_["0"][()]).permute(3, 2, 0, 1)  # HWIO → OIHW
            sd[f"features.{idx}.weight"] = kernel.float()
            sd[f"features.{idx}.bias"] = torch.from_numpy(vars_["1"][()]).float()
    _save_state_dict(sd, out_dir)


def _torch_load(src: Path) -> dict:
    import torch

    if src.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(src))
        except Exception as exc:
            raise ArtkitError(f"cannot read safetensors file '{src}': {' '.join(str(exc).split())[:200]}") from None
    try:
        obj = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, refused globals
        raise ArtkitError(f"cannot load '{src}' as a torch state dict: {' '.join(str(exc).split())[:200]}",
                          "give a .pth/.pt file saved with torch.save(model.state_dict())") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ArtkitError(f"'{src}' does not hold a state dict of tensors")
    return obj


def torch_state_dict(src: Path, out_dir: Path) -> None:
    """A ``.pth`` state dict → safetensors, keys unchanged."""
    _save_state_dict(_torch_load(src), out_dir)


def _torchvision_vgg(arch: str) -> Callable[[Path, Path], None]:
    def convert(src: Path, out_dir: Path) -> None:
        sd = _torch_load(src)
        out = {}
        prev = 3
        for idx, width in zip(VGG_CONV_INDICES[arch], VGG_WIDTHS[arch]):
            for part, shape in (("weight", (width, prev, 3, 3)), ("bias", (width,))):
                key = f"features.{idx}.{part}"
                if key not in sd:
                    raise ArtkitError(f"'{src}' is not a torchvision {arch.upper()} state dict: "
                                      f"'{key}' is missing")
                if tuple(sd[key].shape) != shape:
                    raise ArtkitError(f"'{src}' is not a torchvision {arch.upper()} state dict: "
                                      f"'{key}' has shape {tuple(sd[key].shape)}, expected {shape}")
                out[key] = sd[key].float()
            prev = width
        _save_state_dict(out, out_dir)
    convert.__doc__ = f"A torchvision {arch.upper()} state dict → its ``features.*`` conv weights."
    return convert


def gguf_causal_lm(src: Path, out_dir: Path) -> None:
    """A GGUF causal LM → HF folder: matrices in bfloat16, vectors (norms) in float32, with its
    config, generation config and tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        # the GGUF reader draws its own tqdm bar on stderr: keep the CLI's output clean
        with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
            tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
            model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name,
                                                         dtype=torch.float32)
    except Exception as exc:
        raise ArtkitError(f"cannot convert GGUF '{src.name}': {' '.join(str(exc).split())[:200]}",
                          "check that the gguf and accelerate packages are installed") from None
    # the loaded model is flagged "gguf-quantised" although its weights are plain tensors now:
    # its config is saved as an ordinary one, and the weights with safetensors directly
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = "bfloat16"
    target = out_dir / HF_FOLDER
    _save_state_dict(compact_state_dict(model.state_dict(),
                                        tied=bool(getattr(config, "tie_word_embeddings", False))),
                     target, metadata={"format": "pt"})
    config.save_pretrained(target)
    if model.generation_config is not None:
        model.generation_config.save_pretrained(target)
    tok.save_pretrained(target)


def compact_state_dict(state: dict[str, torch.Tensor], tied: bool = False) -> dict[str, torch.Tensor]:
    """Floating-point matrices in bfloat16, vectors as they are; a tied output layer (the same
    tensor as the input embedding) kept once, under the embedding's name.

    Args:
        state: a model's state dict.
        tied: the model ties its output layer to its input embedding.
    """
    import torch

    out: dict[str, torch.Tensor] = {}
    seen: dict[int, str] = {}
    for key, t in state.items():
        ptr = t.data_ptr()
        if tied and ptr in seen and t.numel() > 0:
            continue  # lm_head.weight is model.embed_tokens.weight
        seen[ptr] = key
        out[key] = t.to(torch.bfloat16) if t.is_floating_point() and t.dim() >= 2 else t
    return out


def hf_folder(src: Path, out_dir: Path) -> None:
    """An HF model folder, copied as it is."""
    if not (src / "config.json").exists():
        raise ArtkitError(f"'{src}' is not a Hugging Face model folder (no config.json)")
    shutil.copytree(src, out_dir / HF_FOLDER)


def data_files(src: Path, out_dir: Path) -> None:
    """Data as shipped: a folder copied as it is, or one file placed in ``data/``."""
    target = out_dir / DATA_FOLDER
    if src.is_dir():
        shutil.copytree(src, target)
    else:
        target.mkdir(parents=True)
        shutil.copy2(src, target / src.name)


CONVERTERS: dict[str, Callable[[Path, Path], None]] = {
    "keras_vgg16_h5": keras_vgg16_h5,
    "torch_state_dict": torch_state_dict,
    "torchvision_vgg16": _torchvision_vgg("vgg16"),
    "torchvision_vgg19": _torchvision_vgg("vgg19"),
    "gguf_causal_lm": gguf_causal_lm,
    "hf_folder": hf_folder,
    "data_files": data_files,
}

"""VGG16 / VGG19 convolutional feature networks with named layers.

The convolutional part of VGG (Simonyan & Zisserman 2014) is the workhorse of neural style
transfer, neural-doodle's patch matching and ColorNet's hypercolumns. Here it is a plain chain of
named modules (``conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ...``) preceded by the input
preprocessing its weights were trained with, and a :class:`VGGFeatures` extractor that returns the
activations of the layers asked for and stops at the deepest of them.

Images go in as RGB in [0, 1]; the extractor applies the right preprocessing itself:

* ``"caffe"`` (the ``vgg16-hed`` weights): RGB -> BGR, x 255, minus the BGR means
  ``[103.939, 116.779, 123.68]``;
* ``"torchvision"`` (imported ``vgg16`` / ``vgg19``): minus ``[0.485, 0.456, 0.406]``, divided by
  ``[0.229, 0.224, 0.225]``.

Weights are read in torchvision's ``features.N.{weight,bias}`` layout (classifier keys ignored).

Example:
    >>> vgg = load_vgg("vgg16-hed", pooling="avg")        # doctest: +SKIP
    >>> feats = vgg(image01, ["relu1_1", "relu3_1"])       # doctest: +SKIP
    >>> feats["relu3_1"].shape                             # doctest: +SKIP
    torch.Size([1, 256, 64, 64])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from artkit.core.errors import ArtkitError
from artkit.core.runtime import resolve_device
from artkit.weights import load_state_dict

# Convolutions per block, and channels per block, of the two architectures.
_CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_WIDTHS = (64, 128, 256, 512, 512)

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)


@dataclass
class VGGConfig:
    """Which VGG to build.

    Args:
        arch: ``"vgg16"`` (13 convolutions) or ``"vgg19"`` (16 convolutions).
        pooling: ``"avg"`` (AvgPool2d(2, 2), the style-transfer convention) or ``"max"``.
        preprocess: ``"caffe"`` or ``"torchvision"``: how RGB images in [0, 1] are turned into
            the input the weights expect.
        widths: channels of the five blocks; ``None`` means VGG's ``(64, 128, 256, 512, 512)``.
            Small widths build a tiny network for tests.
    """

    arch: str = "vgg16"
    pooling: str = "avg"
    preprocess: str = "caffe"
    widths: tuple[int, int, int, int, int] | None = None

    def validate(self) -> None:
        """Raise ArtkitError when a field has an unknown value."""
        if self.arch not in _CONVS_PER_BLOCK:
            raise ArtkitError(f"unknown VGG architecture '{self.arch}'", "use vgg16 or vgg19")
        if self.pooling not in ("avg", "max"):
            raise ArtkitError(f"unknown VGG pooling '{self.pooling}'", "use avg or max")
        if self.preprocess not in ("caffe", "torchvision"):
            raise ArtkitError(f"unknown VGG preprocessing '{self.preprocess}'",
                              "use caffe or torchvision")
        if self.widths is not None and (len(self.widths) != 5 or min(self.widths) < 1):
            raise ArtkitError(f"VGG widths must be five positive channel counts, got {self.widths}")


VGG_SIZES: dict[str, VGGConfig] = {
    "vgg16": VGGConfig(arch="vgg16"),
    "vgg19": VGGConfig(arch="vgg19", preprocess="torchvision"),
    "tiny16": VGGConfig(arch="vgg16", widths=(4, 4, 6, 8, 8)),
    "tiny19": VGGConfig(arch="vgg19", preprocess="torchvision", widths=(4, 4, 6, 8, 8)),
}

# Weight-store name -> (architecture, preprocessing).
_PRETRAINED = {
    "vgg16-hed": ("vgg16", "caffe"),
    "vgg16": ("vgg16", "torchvision"),
    "vgg19": ("vgg19", "torchvision"),
}


# ----------------------------------------------------------------------------- preprocessing


def caffe_preprocess(x01: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> Caffe VGG input: BGR, 0-255, minus the BGR channel means.

    Args:
        x01: (B, 3, H, W) RGB images in [0, 1].

    Returns:
        (B, 3, H, W) BGR tensor.
    """
    mean = torch.tensor(CAFFE_MEAN_BGR, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
    return x01.flip(1) * 255.0 - mean  # (B, 3, H, W) in BGR order


def torchvision_preprocess(x01: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> torchvision VGG input: per-channel ImageNet mean and std normalisation.

    Args:
        x01: (B, 3, H, W) RGB images in [0, 1].

    Returns:
        (B, 3, H, W) RGB tensor.
    """
    mean = torch.tensor(TORCHVISION_MEAN, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
    std = torch.tensor(TORCHVISION_STD, dtype=x01.dtype, device=x01.device).view(1, 3, 1, 1)
    return (x01 - mean) / std


class CaffePreprocess(nn.Module):
    """Module form of :func:`caffe_preprocess`."""

    def forward(self, x01: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 3, H, W)
        return caffe_preprocess(x01)


class TorchvisionPreprocess(nn.Module):
    """Module form of :func:`torchvision_preprocess`."""

    def forward(self, x01: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 3, H, W)
        return torchvision_preprocess(x01)


# ----------------------------------------------------------------------------- layer layout


def layer_names(arch: str = "vgg16") -> list[str]:
    """All layer names of an architecture in forward order (``conv1_1, relu1_1, ..., pool5``)."""
    VGGConfig(arch=arch).validate()
    names = []
    for block, n_convs in enumerate(_CONVS_PER_BLOCK[arch], start=1):
        for i in range(1, n_convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


def torchvision_indices(arch: str = "vgg16") -> dict[str, int]:
    """Conv layer name -> index ``N`` of its ``features.N`` entry in torchvision's VGG."""
    return {name: i for i, name in enumerate(layer_names(arch)) if name.startswith("conv")}


class VGGFeatures(nn.Module):
    """A VGG feature extractor over named layers, taking RGB images in [0, 1].

    Children are ``preprocess`` followed by the named layers in forward order, so the model's own
    state dict has keys ``conv1_1.weight``, ``conv1_1.bias``, ... .

    Args:
        config: which network to build.
    """

    def __init__(self, config: VGGConfig | None = None):
        super().__init__()
        self.config = config = config or VGGConfig()
        config.validate()
        widths = config.widths or _WIDTHS
        caffe = config.preprocess == "caffe"
        self.preprocess = CaffePreprocess() if caffe else TorchvisionPreprocess()
        self._channels: dict[str, int] = {}
        channels = 3
        for block, (n_convs, width) in enumerate(zip(_CONVS_PER_BLOCK[config.arch], widths),
                                                 start=1):
            for i in range(1, n_convs + 1):
                self.add_module(f"conv{block}_{i}", nn.Conv2d(channels, width, 3, padding=1))
                self.add_module(f"relu{block}_{i}", nn.ReLU(inplace=False))
                self._channels[f"conv{block}_{i}"] = self._channels[f"relu{block}_{i}"] = width
                channels = width
            pool = nn.AvgPool2d(2, 2) if config.pooling == "avg" else nn.MaxPool2d(2, 2)
            self.add_module(f"pool{block}", pool)
            self._channels[f"pool{block}"] = width
        self.layer_names: list[str] = layer_names(config.arch)

    def out_channels(self, layer: str) -> int:
        """Number of channels of a named layer's output."""
        self._check_layers([layer])
        return self._channels[layer]

    def _check_layers(self, layers: Sequence[str]) -> None:
        if isinstance(layers, str):
            raise ArtkitError(f"VGG layers must be a list of names, got the string '{layers}'",
                              f"write ['{layers}']")
        unknown = [name for name in layers if name not in self._channels]
        if unknown:
            raise ArtkitError(f"unknown {self.config.arch} layer(s): "
                              f"{', '.join(map(str, unknown))}",
                              f"valid names: {', '.join(self.layer_names)}")

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Activations of the requested layers; later layers are not computed.

        Args:
            x: (B, 3, H, W) RGB images in [0, 1].
            layers: layer names such as ``["relu1_1", "relu2_1", "conv4_2"]``, in any order.

        Returns:
            ``{name: (B, C, H', W') activation}`` with exactly the requested names, in the
            order they were given.
        """
        self._check_layers(layers)
        if not layers:
            return {}
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ArtkitError(f"VGG expects RGB images shaped (B, 3, H, W), got {shape}",
                              "add a batch dimension with x[None] and convert grey images to RGB")
        wanted = set(layers)
        last = max(self.layer_names.index(name) for name in wanted)
        found: dict[str, torch.Tensor] = {}
        h = self.preprocess(x)  # (B, 3, H, W)
        for name in self.layer_names[: last + 1]:
            h = getattr(self, name)(h)  # (B, C, H / 2^k, W / 2^k)
            if name in wanted:
                found[name] = h
        return {name: found[name] for name in layers}

    # ------------------------------------------------------------------------- weights

    def load_state_dict(self, state_dict: Mapping[str, torch.Tensor], strict: bool = True,
                        assign: bool = False):
        """Load weights in torchvision's ``features.N.*`` layout or this module's own layout.

        Keys outside ``features.`` (e.g. ``classifier.*``) are ignored in the torchvision layout.

        Args:
            state_dict: the weights.
            strict: passed on to ``nn.Module.load_state_dict`` (after the checks below).
            assign: passed on to ``nn.Module.load_state_dict``.

        Raises:
            ArtkitError: a conv weight or bias is missing or has the wrong shape.
        """
        if any(key.startswith("features.") for key in state_dict):
            state_dict = from_torchvision(state_dict, self.config.arch)
        own = super().state_dict()
        for key, value in own.items():
            if key not in state_dict:
                raise ArtkitError(f"{self.config.arch} weights lack '{key}'",
                                  "check that the file holds the right VGG's weights")
            if tuple(state_dict[key].shape) != tuple(value.shape):
                raise ArtkitError(
                    f"{self.config.arch} weight '{key}' has shape "
                    f"{tuple(state_dict[key].shape)}, the network expects {tuple(value.shape)}",
                    "check that the file holds the right VGG's weights (vgg16 vs vgg19)")
        return super().load_state_dict(dict(state_dict), strict=strict, assign=assign)


def from_torchvision(state_dict: Mapping[str, torch.Tensor], arch: str = "vgg16",
                     ) -> dict[str, torch.Tensor]:
    """Rename torchvision ``features.N.{weight,bias}`` keys to ``convB_I.{weight,bias}``.

    Args:
        state_dict: a torchvision VGG state dict (classifier keys may be present; they are dropped).
        arch: ``"vgg16"`` or ``"vgg19"``.

    Raises:
        ArtkitError: a conv layer's weight or bias is missing.
    """
    out = {}
    for name, index in torchvision_indices(arch).items():
        for part in ("weight", "bias"):
            key = f"features.{index}.{part}"
            if key not in state_dict:
                raise ArtkitError(f"{arch} weights lack '{key}' (layer {name})",
                                  "check that the file holds torchvision-layout "
                                  f"{arch} weights")
            out[f"{name}.{part}"] = state_dict[key]
    return out


def to_torchvision(model: VGGFeatures) -> dict[str, torch.Tensor]:
    """The conv weights of ``model`` in torchvision's ``features.N.{weight,bias}`` layout."""
    own = model.state_dict()
    return {f"features.{index}.{part}": own[f"{name}.{part}"]
            for name, index in torchvision_indices(model.config.arch).items()
            for part in ("weight", "bias")}


def load_vgg(name: str = "vgg16-hed", pooling: str = "avg",
             device: str | torch.device = "cpu") -> VGGFeatures:
    """A frozen pretrained VGG feature extractor from the artkit weight store.

    Args:
        name: ``"vgg16-hed"`` (VGG16 fine-tuned for edges, Caffe preprocessing; fetchable),
            ``"vgg16"`` or ``"vgg19"`` (imported torchvision weights, torchvision preprocessing).
        pooling: ``"avg"`` or ``"max"``.
        device: where to put the network.

    Returns:
        The network in eval mode with ``requires_grad=False`` on all parameters.

    Raises:
        ArtkitError: unknown name, or weights missing from the store or not fitting.
    """
    if name not in _PRETRAINED:
        raise ArtkitError(f"unknown VGG weights '{name}'", f"use one of {', '.join(_PRETRAINED)}")
    arch, preprocess = _PRETRAINED[name]
    model = VGGFeatures(VGGConfig(arch=arch, pooling=pooling, preprocess=preprocess))
    model.load_state_dict(load_state_dict(name))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(resolve_device(device))

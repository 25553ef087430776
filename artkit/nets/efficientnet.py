"""EfficientNet-Lite0: a small ImageNet classifier built from plain ``nn.Module`` layers.

The Lite variant of EfficientNet drops squeeze-and-excitation and uses ReLU6 everywhere, so the
network is a plain chain of convolutions, batch norms, ReLU6s and residual additions. Every step is
a visible module (the residual add too), which lets attribution code such as PatternNet walk the
model layer by layer.

Module attribute names follow the layout of the published checkpoint (``_conv_stem``, ``_bn0``,
``_blocks.N._expand_conv`` ...), so ``model.load_state_dict(state_dict, strict=True)`` loads it
as is.

Checked against the ``efficientnet-lite0`` checkpoint (see ``tests/nets/test_efficientnet.py``):
TensorFlow "same" padding (stride-2 convolutions pad one pixel more on the bottom/right than on
the top/left, done by a :class:`SamePad2d` module in front of them), batch-norm ``eps = 1e-3`` and
the input scaling ``(255 x - 127) / 128``. The checkpoint was converted from the TensorFlow
original; symmetric ``k // 2`` padding also classifies, but with clearly lower confidence.

Example:
    >>> model = load_efficientnet()                       # doctest: +SKIP
    >>> x = preprocess_pil(skimage.data.chelsea())        # doctest: +SKIP
    >>> model.top_k(x, k=3)                               # doctest: +SKIP
    [[(282, 'tiger cat', 0.386), (285, 'Egyptian cat', 0.356), (281, 'tabby', 0.169)]]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from artkit.core.errors import ArtkitError
from artkit.core.runtime import resolve_device
from artkit.nets.imagenet import class_names
from artkit.weights import load_state_dict

# One stage of MBConv blocks: (expand ratio, kernel size, first stride, out channels, repeats).
StageSpec = tuple[int, int, int, int, int]

LITE0_STAGES: tuple[StageSpec, ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)


@dataclass
class EfficientNetConfig:
    """Sizes of an EfficientNet-Lite network.

    Args:
        stem_channels: channels of the stride-2 3x3 stem convolution.
        stages: MBConv stages as ``(expand, kernel, stride, out_channels, repeats)``; the stride
            applies to the first block of a stage, the others use stride 1.
        head_channels: channels of the final 1x1 convolution (the pooled feature size).
        num_classes: outputs of the linear classifier.
        dropout: dropout probability before the classifier (active in train mode only).
        bn_eps: batch-norm epsilon (the TensorFlow-trained checkpoint uses 1e-3).
    """

    stem_channels: int = 32
    stages: tuple[StageSpec, ...] = field(default=LITE0_STAGES)
    head_channels: int = 1280
    num_classes: int = 1000
    dropout: float = 0.2
    bn_eps: float = 1e-3


EFFICIENTNET_SIZES: dict[str, EfficientNetConfig] = {
    "lite0": EfficientNetConfig(),
    "tiny": EfficientNetConfig(
        stem_channels=4,
        stages=((1, 3, 1, 4, 1), (2, 3, 2, 6, 2), (2, 5, 2, 8, 1)),
        head_channels=16,
        num_classes=10,
        dropout=0.0,
    ),
}


class LitePreprocess(nn.Module):
    """Map RGB images in [0, 1] to the checkpoint's input scale, ``(255 x - 127) / 128``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 3, H, W)
        return (x * 255.0 - 127.0) / 128.0


class SamePad2d(nn.Module):
    """Zero padding that reproduces TensorFlow's ``padding="same"`` for a strided convolution.

    The output of the following (unpadded) convolution has ``ceil(H / stride)`` rows; the total
    padding this needs is split with the odd pixel going to the bottom / right.

    Args:
        kernel: kernel size of the convolution that follows.
        stride: its stride.
    """

    def __init__(self, kernel: int, stride: int):
        super().__init__()
        self.kernel = kernel
        self.stride = stride

    def _total(self, size: int) -> int:
        out = -(-size // self.stride)
        return max((out - 1) * self.stride + self.kernel - size, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H+ph, W+pw)
        ph, pw = self._total(x.shape[-2]), self._total(x.shape[-1])
        if ph == 0 and pw == 0:
            return x
        return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}"


def _strided_conv(in_channels: int, out_channels: int, kernel: int, stride: int,
                  groups: int = 1) -> tuple[nn.Module | None, nn.Conv2d]:
    """A "same"-padded convolution: a :class:`SamePad2d` for stride > 1, else padding k // 2."""
    if stride == 1:
        return None, nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2,
                               groups=groups, bias=False)
    return SamePad2d(kernel, stride), nn.Conv2d(in_channels, out_channels, kernel, stride=stride,
                                                groups=groups, bias=False)


class Residual(nn.Module):
    """The skip connection of an MBConv block as a module: ``forward(x, skip) = x + skip``.

    Being a module, it shows up in ``named_modules()`` and can carry hooks like any layer.
    """

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return x + skip


class MBConv(nn.Module):
    """Inverted-residual block: 1x1 expand, depthwise kxk, 1x1 project (no squeeze-excite).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        expand: expansion ratio of the hidden width; 1 skips the expand convolution.
        kernel: depthwise kernel size (odd).
        stride: depthwise stride (1 or 2).
        bn_eps: batch-norm epsilon.
    """

    def __init__(self, in_channels: int, out_channels: int, expand: int, kernel: int,
                 stride: int, bn_eps: float):
        super().__init__()
        hidden = in_channels * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=bn_eps)
            self._act0 = nn.ReLU6()
        pad, conv = _strided_conv(hidden, hidden, kernel, stride, groups=hidden)
        self._depthwise_pad = pad  # a SamePad2d for stride 2, else None (padding in the conv)
        self._depthwise_conv = conv
        self._bn1 = nn.BatchNorm2d(hidden, eps=bn_eps)
        self._act1 = nn.ReLU6()
        self._project_conv = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_channels, eps=bn_eps)
        self.has_residual = stride == 1 and in_channels == out_channels
        if self.has_residual:
            self._residual = Residual()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, Cin, H, W) -> (B, Cout, H/s, W/s)
        h = x
        if self.has_expand:
            h = self._act0(self._bn0(self._expand_conv(h)))  # (B, hidden, H, W)
        if self._depthwise_pad is not None:
            h = self._depthwise_pad(h)
        h = self._act1(self._bn1(self._depthwise_conv(h)))  # (B, hidden, H/s, W/s)
        h = self._bn2(self._project_conv(h))  # (B, Cout, H/s, W/s)
        if self.has_residual:
            h = self._residual(h, x)
        return h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 (or a smaller network of the same shape) taking RGB images in [0, 1].

    Args:
        config: the network sizes; ``EFFICIENTNET_SIZES["lite0"]`` matches the checkpoint.
    """

    def __init__(self, config: EfficientNetConfig | None = None):
        super().__init__()
        self.config = config = config or EfficientNetConfig()
        eps = config.bn_eps
        self._preprocess = LitePreprocess()
        pad, conv = _strided_conv(3, config.stem_channels, 3, 2)
        self._stem_pad, self._conv_stem = pad, conv
        self._bn0 = nn.BatchNorm2d(config.stem_channels, eps=eps)
        self._act0 = nn.ReLU6()
        blocks = []
        channels = config.stem_channels
        for expand, kernel, stride, out, repeats in config.stages:
            for i in range(repeats):
                blocks.append(MBConv(channels, out, expand, kernel, stride if i == 0 else 1, eps))
                channels = out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(channels, config.head_channels, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(config.head_channels, eps=eps)
        self._act1 = nn.ReLU6()
        self._avg_pool = nn.AdaptiveAvgPool2d(1)
        self._flatten = nn.Flatten(1)
        self._dropout = nn.Dropout(config.dropout)
        self._fc = nn.Linear(config.head_channels, config.num_classes)

    def features(self, x01: torch.Tensor) -> torch.Tensor:
        """Pooled features (the classifier's input) of RGB images in [0, 1].

        Args:
            x01: (B, 3, H, W) float images in [0, 1]; 224x224 for the ImageNet checkpoint.

        Returns:
            (B, head_channels) features, 1280-d for Lite0.
        """
        _check_images(x01)
        h = self._preprocess(x01)  # (B, 3, H, W)
        h = self._act0(self._bn0(self._conv_stem(self._stem_pad(h))))  # (B, 32, H/2, W/2)
        for block in self._blocks:
            h = block(h)  # (B, C, H/s, W/s)
        h = self._act1(self._bn1(self._conv_head(h)))  # (B, 1280, H/32, W/32)
        return self._flatten(self._avg_pool(h))  # (B, 1280)

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        """Class logits of RGB images in [0, 1] (resizing is the caller's job).

        Args:
            x01: (B, 3, H, W) float images in [0, 1].

        Returns:
            (B, num_classes) logits.
        """
        return self._fc(self._dropout(self.features(x01)))  # (B, num_classes)

    @torch.inference_mode()
    def top_k(self, x01: torch.Tensor, k: int = 5) -> list[list[tuple[int, str, float]]]:
        """The ``k`` most probable classes of each image.

        Args:
            x01: (B, 3, H, W) float images in [0, 1].
            k: how many classes to return per image.

        Returns:
            For each image, ``k`` tuples ``(class index, class name, probability)``, most probable
            first. Names come from :func:`artkit.nets.imagenet.class_names` for a 1000-class head,
            else they are ``"class N"``.
        """
        n = self.config.num_classes
        if not 1 <= k <= n:
            raise ArtkitError(f"top_k needs 1 <= k <= {n}, got k={k}")
        probs = torch.softmax(self.forward(x01).float(), dim=1)  # (B, num_classes)
        values, indices = probs.topk(k, dim=1)  # (B, k)
        names = _names(n)
        return [[(int(i), names[int(i)], float(p)) for p, i in zip(row_p, row_i)]
                for row_p, row_i in zip(values.cpu(), indices.cpu())]


def _names(n: int) -> list[str]:
    if n == 1000:
        return class_names()
    return [f"class {i}" for i in range(n)]


def _check_images(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ArtkitError(f"EfficientNet expects RGB images shaped (B, 3, H, W), got {shape}",
                          "add a batch dimension with x[None] and convert grey images to RGB")
    if not x.is_floating_point():
        raise ArtkitError(f"EfficientNet expects float images in [0, 1], got dtype {x.dtype}",
                          "divide uint8 images by 255")


def preprocess_pil(image: Image.Image | np.ndarray, size: int = 224) -> torch.Tensor:
    """Resize and centre-crop an image the way the ImageNet checkpoint was evaluated.

    The shorter side is resized (bicubic) to ``round(256 * size / 224)``, then the centre
    ``size x size`` square is cut out.

    Args:
        image: a PIL image (any mode; converted to RGB) or an (H, W, 3) / (H, W) uint8 array.
        size: side of the square output.

    Returns:
        (1, 3, size, size) float32 tensor in [0, 1].
    """
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            raise ArtkitError(f"preprocess_pil expects a uint8 array, got {image.dtype}")
        image = Image.fromarray(image)
    if not isinstance(image, Image.Image):
        raise ArtkitError(f"preprocess_pil expects a PIL image, got {type(image).__name__}")
    if size < 1:
        raise ArtkitError(f"size must be positive, got {size}")
    image = image.convert("RGB")
    short = max(size, round(256 * size / 224))
    w, h = image.size
    scale = short / min(w, h)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    image = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    image = image.crop((left, top, left + size, top + size))
    arr = np.asarray(image, dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).unsqueeze(0)  # (1, 3, H, W)


def load_efficientnet(device: str | torch.device = "cpu") -> EfficientNetLite0:
    """EfficientNet-Lite0 with its ImageNet weights from the artkit weight store, in eval mode.

    Args:
        device: where to put the model (``"cpu"``, ``"cuda"``, ``"auto"`` ...).

    Raises:
        ArtkitError: the weights are not in the store (run ``artkit weights fetch
            efficientnet-lite0``) or do not fit the network.
    """
    state = load_state_dict("efficientnet-lite0")
    model = EfficientNetLite0(EFFICIENTNET_SIZES["lite0"])
    load_checkpoint(model, state)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(resolve_device(device))


def load_checkpoint(model: EfficientNetLite0, state: dict[str, torch.Tensor]) -> None:
    """Load a checkpoint state dict strictly, turning key and shape mismatches into ArtkitError.

    Args:
        model: the network to fill.
        state: a state dict with the checkpoint's key names.
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ArtkitError(
            f"EfficientNet weights do not fit the network: {len(missing)} missing keys "
            f"(e.g. {missing[:3]}), {len(unexpected)} unexpected keys (e.g. {unexpected[:3]})",
            "re-fetch them with `artkit weights fetch efficientnet-lite0`")
    for key, value in own.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise ArtkitError(
                f"EfficientNet weight '{key}' has shape {tuple(state[key].shape)}, the network "
                f"expects {tuple(value.shape)}",
                "re-fetch them with `artkit weights fetch efficientnet-lite0`")
    model.load_state_dict(state, strict=True)


def with_config(**changes) -> EfficientNetConfig:
    """The Lite0 config with some fields changed (e.g. ``with_config(num_classes=2)``)."""
    return dataclasses.replace(EFFICIENTNET_SIZES["lite0"], **changes)

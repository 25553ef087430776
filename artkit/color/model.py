"""The learned colouriser: a frozen pretrained backbone and a small hypercolumn decoder.

The gray photo goes through a frozen ImageNet network (EfficientNet-Lite0, or VGG16-HED as in
ColorNet); activations from every resolution ("hypercolumns") are projected by 1×1 convolutions,
upsampled to 1/4 of the input and summed, refined by two 3×3 convolutions and decoded into Lab
chroma, either

* ``"regression"``: ab directly (Huber loss), or
* ``"classification"``: Zhang, Isola & Efros (2016): a distribution over the in-gamut ab bins of a
  10-unit grid, trained with class-rebalanced cross-entropy on soft-encoded targets and decoded by
  the annealed mean (temperature 0.38), which keeps the colours of rare, saturated bins.

:meth:`ColorModel.save` writes the decoder (not the frozen backbone) as an artifact of kind
``colorize-model``; :mod:`artkit.color.model_file` reads it back, checking every field first.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from artkit.core.artifacts import describe, save_artifact
from artkit.core.config import Config, param
from artkit.core.images import linear_to_srgb, rgb_to_lab
from artkit.core.presets import presets_root
from artkit.core.runtime import default_generator
from artkit.nets.efficientnet import EFFICIENTNET_SIZES, EfficientNetLite0, load_efficientnet
from artkit.nets.vgg import VGGConfig, VGGFeatures, load_vgg
from artkit.weights.store import sha256 as store_sha256

MODEL_KIND = "colorize-model"
MODEL_VERSION = 1
LEGACY_KIND = "artkit-colorize-hypercolumn"  # files written before the artifact convention
HINT = "train one with `artkit colorize train PHOTOS -o MODEL.safetensors`"
describe(MODEL_KIND, "colorize model", HINT)
BACKBONES = ("efficientnet-lite0", "vgg16-hed", "tiny")
GRID = 10.0  # ab bin size
AB_RANGE = 110.0  # bins cover [-110, 110]²
TEMPERATURE = 0.38


@dataclass
class ColorModelConfig(Config):
    """Sizes of a colouriser.

    Args:
        backbone: ``"efficientnet-lite0"``, ``"vgg16-hed"`` or ``"tiny"`` (random, for tests).
        loss: ``"classification"`` (Zhang 2016) or ``"regression"``.
        dim: channels of the decoder.
        temperature: annealed-mean temperature (classification only).
        rebalance: λ of the rebalancing weights ``((1 − λ) p̃ + λ / Q)⁻¹``.
    """

    backbone: str = param("efficientnet-lite0", choices=BACKBONES,
                          help="frozen feature network")
    loss: str = param("classification", choices=("classification", "regression"))
    dim: int = param(64, ge=4, le=512, help="decoder channels")
    temperature: float = param(TEMPERATURE, gt=0, le=1, help="annealed-mean temperature")
    rebalance: float = param(0.5, ge=0, le=1, help="class-rebalancing λ")


def default_model_path() -> Path:
    """The shipped model: ``presets/color/default.safetensors``."""
    return Path(str(presets_root())) / "color" / "default.safetensors"


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """Re-draw the weights of every Conv2d / Linear in ``module`` from ``generator``, with
    PyTorch's default scheme (Kaiming-uniform, a = √5; biases uniform in ±1/√fan_in), so a
    network's initial weights depend on the generator and never on global random state."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    fan_in = m.weight[0].numel()
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)


def _store_weights(name: str) -> None:
    """Record a weight-store set that was loaded (the store checks and records it; cheap once
    its hashes are remembered), so a network kept by a caller is still named in manifests."""
    store_sha256(name)


# ----------------------------------------------------------------------------------- ab bins


def gamut_bins() -> torch.Tensor:
    """Centres of the 10×10 ab bins that some sRGB colour falls in: (Q, 2), Q = 261."""
    return _gamut_bins().clone()


@functools.lru_cache(maxsize=1)
def _gamut_bins() -> torch.Tensor:
    g = torch.linspace(0, 1, 48, dtype=torch.float64)
    rgb = torch.stack(torch.meshgrid(g, g, g, indexing="ij")).reshape(3, -1, 1)  # (3, N, 1)
    ab = rgb_to_lab(rgb)[1:].reshape(2, -1).T  # (N, 2)
    q = torch.round(ab / GRID).clamp(-AB_RANGE / GRID, AB_RANGE / GRID)
    centres = torch.unique(q, dim=0) * GRID
    return centres.float()


def soft_encode(ab: torch.Tensor, bins: torch.Tensor, k: int = 5, sigma: float = 5.0
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft targets over the bins: the ``k`` nearest bins, Gaussian-weighted.

    Args:
        ab: (B, 2, H, W) chroma.
        bins: (Q, 2) bin centres.

    Returns:
        ``(idx, weights)``: (B, k, H, W) bin indices and their weights (summing to 1), and the
        nearest bin is ``idx[:, 0]``.
    """
    B, _, H, W = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)  # (N, 2)
    d2 = torch.cdist(flat, bins.to(flat)) ** 2  # (N, Q)
    dist, idx = d2.topk(k, dim=1, largest=False)  # (N, k)
    w = torch.softmax(-dist / (2 * sigma ** 2), dim=1)
    idx = idx.reshape(B, H, W, k).permute(0, 3, 1, 2)
    w = w.reshape(B, H, W, k).permute(0, 3, 1, 2)
    return idx, w


def rebalance_weights(ab_samples: torch.Tensor, bins: torch.Tensor, lam: float = 0.5,
                      sigma: float = 5.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Zhang's class-rebalancing weights from the empirical distribution of training chroma.

    Args:
        ab_samples: (N, 2) chroma of training pixels.
        bins: (Q, 2) bin centres.
        lam: mixing with the uniform distribution.
        sigma: Gaussian smoothing of the distribution in ab units.

    Returns:
        ``(prior, weights)``: the smoothed prior p̃ (Q,) and weights (Q,) with E_p̃[w] = 1.
    """
    nearest = torch.cdist(ab_samples.float(), bins).argmin(dim=1)
    counts = torch.bincount(nearest, minlength=len(bins)).float()
    p = counts / counts.sum().clamp(min=1)
    k = torch.exp(-torch.cdist(bins, bins) ** 2 / (2 * sigma ** 2))  # (Q, Q)
    p = k @ p
    p = p / p.sum()
    w = 1.0 / ((1 - lam) * p + lam / len(bins))
    w = w / (p * w).sum()
    return p, w


def annealed_mean(logits: torch.Tensor, bins: torch.Tensor, temperature: float) -> torch.Tensor:
    """Decode (B, Q, H, W) logits to (B, 2, H, W) ab: the mean of softmax(logits / T)."""
    prob = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("bqhw,qc->bchw", prob, bins.to(prob))


# ----------------------------------------------------------------------------------- backbone


class Backbone(nn.Module):
    """A frozen feature network returning activations at several resolutions.

    Args:
        name: ``"efficientnet-lite0"`` / ``"vgg16-hed"`` (pretrained, from the weight store) or
            ``"tiny"`` (a small EfficientNet with fixed random weights, for tests).
        pretrained: load the store's weights (false: random, for shape checks).
    """

    VGG_TAPS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

    def __init__(self, name: str, pretrained: bool = True):
        super().__init__()
        self.name = name
        with torch.random.fork_rng(devices=[]):  # default inits draw from the global state
            self._build(name, pretrained)
        self.net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)

    def _build(self, name: str, pretrained: bool) -> None:
        if name == "vgg16-hed":
            self.net = load_vgg("vgg16-hed") if pretrained else VGGFeatures(VGGConfig())
            if pretrained:
                _store_weights("vgg16-hed")
            self.channels = [self.net.out_channels(t) for t in self.VGG_TAPS]
            self.strides = [1, 2, 4, 8]
        else:
            if name == "tiny":  # random but fixed weights, so saved models reload the same
                net = EfficientNetLite0(EFFICIENTNET_SIZES["tiny"])
                init_parameters(net, torch.Generator().manual_seed(0))
            elif pretrained:
                net = load_efficientnet("cpu")
                _store_weights("efficientnet-lite0")
            else:
                net = EfficientNetLite0(EFFICIENTNET_SIZES["lite0"])
            self.net = net
            # Tap the last block at each resolution.
            self.taps: list[int] = []
            self.channels, self.strides = [], []
            stride, i = 2, 0
            for expand, kernel, s, out, repeats in net.config.stages:
                stride *= s
                i += repeats
                if self.strides and self.strides[-1] == stride:
                    self.taps[-1], self.channels[-1] = i - 1, out
                else:
                    self.taps.append(i - 1)
                    self.channels.append(out)
                    self.strides.append(stride)

    def train(self, mode: bool = True) -> "Backbone":  # always frozen, always eval
        super().train(mode)
        self.net.eval()
        return self

    def forward(self, x01: torch.Tensor) -> list[torch.Tensor]:
        """Activations of (B, 3, H, W) images in [0, 1], one per tap, finest first."""
        if self.name == "vgg16-hed":
            return list(self.net(x01, list(self.VGG_TAPS)).values())
        net = self.net
        h = net._preprocess(x01)  # contiguous: measured 2× faster than channels_last here
        h = net._act0(net._bn0(net._conv_stem(net._stem_pad(h))))  # (B, C0, H/2, W/2)
        out = []
        for i, block in enumerate(net._blocks):
            h = block(h)
            if i in self.taps:
                out.append(h)
            if i >= self.taps[-1]:
                break
        return out


# ----------------------------------------------------------------------------------- decoder


class HypercolumnDecoder(nn.Module):
    """Hypercolumns into chroma: coarse taps (stride ≥ 8) are projected by 1×1 convolutions,
    resized to 1/8 and summed, then refined by two 3×3 convolutions; the result is upsampled to
    1/4, the fine taps (stride ≤ 4) and the gray image are added, and a 1×1 head predicts ab or
    ab-bin logits.

    Args:
        channels: channels of each tap.
        strides: stride of each tap.
        dim: decoder width.
        out_channels: 2 (regression) or Q (classification).
    """

    def __init__(self, channels: list[int], strides: list[int], dim: int, out_channels: int):
        super().__init__()
        self.strides = list(strides)
        self.proj = nn.ModuleList(nn.Conv2d(c, dim, 1) for c in channels)
        self.gray = nn.Conv2d(1, dim, 1)
        groups = 8 if dim % 8 == 0 else 1
        self.norm_coarse = nn.GroupNorm(groups, dim)
        self.act_coarse = nn.ReLU()  # modules, not functions, so `artkit explain` sees them
        self.refine = nn.Sequential(
            nn.Conv2d(dim, dim, 3, padding=1), nn.ReLU(),
            nn.Conv2d(dim, dim, 3, padding=1), nn.ReLU())
        self.norm_fine = nn.GroupNorm(groups, dim)
        self.act_fine = nn.ReLU()
        self.head = nn.Conv2d(dim, out_channels, 1)

    @staticmethod
    def _fit(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if tuple(x.shape[-2:]) == size:
            return x
        if x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
            return F.interpolate(x, size=size, mode="area")
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    def forward(self, taps: list[torch.Tensor], gray: torch.Tensor) -> torch.Tensor:
        """taps: activations (finest first); gray: (B, 1, H, W) L / 100.

        Returns:
            (B, out, H/4, W/4).
        """
        H, W = gray.shape[-2:]
        fine = (max(1, H // 4), max(1, W // 4))
        coarse = (max(1, H // 8), max(1, W // 8))
        c = f = None
        for proj, stride, t in zip(self.proj, self.strides, taps):
            if stride >= 8:
                p = self._fit(proj(t), coarse)
                c = p if c is None else c + p
            else:  # project after resizing: cheaper for the big, fine maps
                p = proj(self._fit(t, fine))
                f = p if f is None else f + p
        h = self.gray(self._fit(gray, fine))  # (B, dim, H/4, W/4)
        if f is not None:
            h = h + f
        if c is not None:
            c = self.refine(self.act_coarse(self.norm_coarse(c)))  # (B, dim, H/8, W/8)
            h = h + self._fit(c, fine)
        return self.head(self.act_fine(self.norm_fine(h)))


class ColorModel(nn.Module):
    """Backbone + decoder + ab bins: gray L in, ab out.

    Args:
        config: the sizes.
        pretrained: load the backbone's pretrained weights.
        generator: draws the decoder's initial weights (default: a generator seeded with 0).
    """

    def __init__(self, config: ColorModelConfig | None = None, pretrained: bool = True, *,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.config = config = config or ColorModelConfig()
        config.validate()
        self.backbone = Backbone(config.backbone, pretrained=pretrained)
        bins = gamut_bins()
        self.register_buffer("bins", bins)
        self.register_buffer("weights", torch.ones(len(bins)))
        self.register_buffer("mean_ab", torch.zeros(2))
        out = len(bins) if config.loss == "classification" else 2
        with torch.random.fork_rng(devices=[]):  # its weights come from the generator below
            self.decoder = HypercolumnDecoder(self.backbone.channels, self.backbone.strides,
                                              config.dim, out)
        init_parameters(self.decoder, default_generator(generator))

    @staticmethod
    def gray_rgb(L: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) L in [0, 100] → (B, 3, H, W) the gray sRGB image of that lightness."""
        fy = (L + 16.0) / 116.0
        y = torch.where(fy ** 3 > 216.0 / 24389.0, fy ** 3, L * 27.0 / 24389.0)  # luminance Y
        return linear_to_srgb(y.clamp(0, 1)).expand(-1, 3, -1, -1)

    def raw(self, L: torch.Tensor) -> torch.Tensor:
        """Decoder output at 1/4 size: (B, 2, h, w) ab or (B, Q, h, w) logits."""
        with torch.no_grad():
            taps = self.backbone(self.gray_rgb(L))
        return self.decoder(taps, L / 100.0)

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """Raw decoder output → (B, 2, h, w) ab."""
        if self.config.loss == "classification":
            return annealed_mean(out, self.bins, self.config.temperature)
        return out * AB_RANGE

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) L in [0, 100] → (B, 2, H/4, W/4) predicted ab."""
        return self.decode(self.raw(L))

    def loss(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """Training loss of a batch: L (B, 1, H, W), true ab (B, 2, H, W)."""
        out = self.raw(L)
        target = F.interpolate(ab, size=out.shape[-2:], mode="area")
        if self.config.loss == "regression":
            return F.smooth_l1_loss(out, target / AB_RANGE, beta=0.05)
        idx, w = soft_encode(target, self.bins)  # (B, k, h, w)
        logp = torch.log_softmax(out, dim=1)
        ce = -(logp.gather(1, idx) * w).sum(dim=1)  # (B, h, w)
        pixel_w = self.weights[idx[:, 0]]
        return (ce * pixel_w).mean()

    # ------------------------------------------------------------------------- files

    def decoder_state(self) -> dict[str, torch.Tensor]:
        """What a model file holds: the decoder (float16), the bins, the rebalancing weights
        and the mean chroma (float32)."""
        sd = {f"decoder.{k}": v.detach().half().contiguous()
              for k, v in self.decoder.state_dict().items()}
        sd["bins"] = self.bins.float().contiguous()
        sd["weights"] = self.weights.float().contiguous()
        sd["mean_ab"] = self.mean_ab.float().contiguous()
        return sd

    def save(self, path: str | Path, training: dict | None = None, force: bool = False) -> Path:
        """Write the model file (the decoder, not the frozen backbone), atomically.

        Args:
            path: the ``.safetensors`` file.
            training: the training record kept in the file (photos, losses, recipe).
            force: overwrite an existing file.
        """
        meta = {"config": dataclasses.asdict(self.config), "training": training or {}}
        return save_artifact(path, self.decoder_state(), kind=MODEL_KIND,
                             version=MODEL_VERSION, meta=meta, force=force)

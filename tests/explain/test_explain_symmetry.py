"""The map of a mirrored input is the mirrored map, and a flat input gives a flat map (issue 17).

On a network whose kernels are mirror-symmetric and whose padding is symmetric, the forward pass
commutes with a left-right flip, and so must every explanation (patterns fitted on flip-augmented
data are then mirror-symmetric too). The stride grid of the pattern methods and its aliasing into
a "seam" broke both properties on EfficientNet-Lite0; these tests would have caught it.
"""

import numpy as np
import pytest
import torch
from torch import nn

from artkit.explain import attribute, fit_patterns, method_names
from artkit.explain.attribute import stride_smooth


def _symmetric_net(seed=0):
    """conv 3×3 → ReLU → conv 3×3 stride 2 → ReLU → depthwise 3×3 → ReLU → pool → linear, every
    kernel mirror-symmetric, zero padding 1 on all sides (odd input sizes keep stride 2 exact)."""
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(),
                        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                w = torch.randn(m.weight.shape, generator=g) * 0.4
                m.weight.copy_(w + w.flip(-1))
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return net.eval()


def _corr(a, b):
    return float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1])


def test_mirrored_input_gives_the_mirrored_map_for_every_method():
    net = _symmetric_net()
    g = torch.Generator().manual_seed(1)
    data = torch.rand(48, 3, 17, 17, generator=g)
    data = torch.cat([data, data.flip(-1)])  # flip-augmented, as the shipped patterns are fitted
    pats = fit_patterns(net, data.split(32), positions=None)
    x = torch.rand(1, 3, 17, 17, generator=g)
    t = int(net(x).argmax())
    for m in method_names():
        if m == "smoothgrad":  # noise is not mirrored; its mirror test is the gradient's
            continue
        a = attribute(net, x, m, target=t, patterns=pats)
        b = attribute(net, x.flip(-1), m, target=t, patterns=pats).flip(-1)
        assert _corr(a, b) >= 0.95, m
        assert torch.allclose(a, b, atol=1e-4 * float(a.abs().max())), m


def _tiny_lite(seed=0):
    from artkit.nets.efficientnet import EFFICIENTNET_SIZES, EfficientNetLite0

    torch.manual_seed(seed)  # tests may seed; library code may not
    model = EfficientNetLite0(EFFICIENTNET_SIZES["tiny"]).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 2)
                m.running_mean.normal_(0, 0.1)
    return model


def _grid_share(a: torch.Tensor) -> float:
    """Share of a map's energy at the period-2 and period-4 frequencies of rows and columns."""
    m = a.double().sum(0)
    m = m / m.abs().max().clamp_min(1e-300)  # PatternNet's natural scale reaches 1e25
    f = torch.fft.fft2(m - m.mean()).abs() ** 2
    n = m.shape[-1]
    rows = [n // 2, n // 4, 3 * n // 4]
    grid = sum(float(f[q, :].sum() + f[:, q].sum()) for q in rows)
    return grid / max(float(f.sum()), 1e-30)


@pytest.mark.parametrize("method", ["patternnet", "patternattribution"])
def test_flat_image_gives_no_grid_on_a_strided_network(method):
    """A flat gray input through stride-2 layers: the pattern methods' maps carry no stride grid
    (before the fix: most of PatternAttribution's energy sat on the grid's frequencies)."""
    model = _tiny_lite()
    g = torch.Generator().manual_seed(2)
    pats = fit_patterns(model, torch.rand(32, 3, 32, 32, generator=g).split(16), positions=None)
    flat = torch.full((1, 3, 64, 64), 0.3)
    a = attribute(model, flat, method, patterns=pats)[0]
    assert _grid_share(a) < 0.01  # before the fix: 0.43 (PatternNet), 0.76 (PatternAttribution)
    if method == "patternnet":  # a signal direction of random patterns: flatness is not expected
        return
    # no column or row of the evidence stands out from its two neighbours (a smooth drift from
    # the asymmetric padding is the network's view of the borders; an alternation is not)
    m = a.sum(0)[12:-12, 12:-12]
    scale = float(m.abs().mean())
    for profile in (m.mean(0), m.mean(1)):
        bump = (profile[1:-1] - (profile[:-2] + profile[2:]) / 2).abs().max()
        assert float(bump) <= 0.02 * scale  # before the fix: 0.84 and 1.40


def test_stride_smooth_is_flat_preserving_symmetric_and_kills_the_phase():
    g = torch.Generator().manual_seed(3)
    flat = torch.ones(1, 2, 9, 11)
    assert torch.allclose(stride_smooth(flat, (2, 2)), flat)
    r = torch.randn(1, 2, 9, 11, generator=g)
    assert torch.allclose(stride_smooth(r.flip(-1), (2, 2)), stride_smooth(r, (2, 2)).flip(-1),
                          atol=1e-6)
    checker = torch.ones(1, 1, 16, 16)
    checker[..., ::2, :] += 1.0
    checker[..., :, ::2] += 1.0
    out = stride_smooth(checker, (2, 2))[..., 2:-2, 2:-2]
    assert float(out.std()) < 1e-6  # the period-2 pattern is gone entirely


@pytest.mark.weights
def test_efficientnet_mirror_and_grid_on_real_photos(real_weights):
    """EfficientNet-Lite0 pads asymmetrically (TF "same"), so mirroring is not exact; measured
    on scikit-image's cat: PatternAttribution's map of the mirrored photo correlates 0.94 with
    the mirrored map (0.28 before the fix), and neither pattern method has a stride grid."""
    real_weights("efficientnet-lite0")
    skimage = pytest.importorskip("skimage")
    from PIL import Image

    from artkit.explain import Explainer

    ex = Explainer("efficientnet-lite0", device="cpu")
    x = ex.prepare(Image.fromarray(skimage.data.chelsea()))
    res = ex.explain(x, methods=("patternattribution", "patternnet"))
    flip = ex.explain(x.flip(-1), methods=("patternattribution",), target=res.target)
    assert _corr(res.maps["patternattribution"], flip.maps["patternattribution"].flip(-1)) >= 0.9
    for m in res.maps.values():
        assert _grid_share(m) < 0.01

"""PatternNet and PatternAttribution against a slow float64 reference written for clarity.

The reference walks a small random network by hand — a stride-2 convolution with padding, a
depthwise convolution, a 1×1 projection into a residual addition, global pooling and a linear
classifier — and back-projects with explicit per-position dot products (no conv_transpose, no
autograd), applying the same definitions: the pattern (PatternNet) or weight ⊙ pattern
(PatternAttribution) in place of each weight, ReLUs gating as in the forward pass, the residual
sending its relevance down both branches, and the stride filter after the strided layer. The fast path must agree within 1e-6.
"""

import torch
from torch import nn

from artkit.explain import attribute, fit_patterns
from artkit.nets.efficientnet import Residual


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.a1 = nn.ReLU()
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.a2 = nn.ReLU()
        self.pw = nn.Conv2d(6, 6, 1)
        self.res = Residual()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(6, 4)

    def forward(self, x):  # (B, 3, 15, 15) -> (B, 4)
        h = self.a1(self.c1(x))  # (B, 6, 8, 8)
        return self.fc(self.flat(self.pool(self.res(self.pw(self.a2(self.dw(h))), h))))


def _conv_back(r, A, stride, pad, in_hw, groups):
    """Σ over output positions and taps of A[k, c, ti, tj] · r[k, i, j] into the input (float64,
    loops)."""
    k_out, cin_g, kh, kw = A.shape
    hp, wp = in_hw[0] + 2 * pad, in_hw[1] + 2 * pad
    out = torch.zeros(cin_g * groups, hp, wp, dtype=torch.float64)
    per = k_out // groups
    for k in range(k_out):
        g = k // per
        for i in range(r.shape[1]):
            for j in range(r.shape[2]):
                for c in range(cin_g):
                    out[g * cin_g + c, i * stride:i * stride + kh, j * stride:j * stride + kw] += \
                        A[k, c] * r[k, i, j]
    return out[:, pad:pad + in_hw[0], pad:pad + in_hw[1]]


def _triangle(r, s):
    """The stride filter, by loops: weights 1..s..1 over each axis, normalised inside the map."""
    tri = [min(d + 1, 2 * s - 1 - d) for d in range(2 * s - 1)]
    for axis in (1, 2):
        out = torch.zeros_like(r)
        n = r.shape[axis]
        for p in range(n):
            num, den = 0.0, 0.0
            for d, wgt in enumerate(tri):
                q = p + d - (s - 1)
                if 0 <= q < n:
                    num = num + wgt * r.select(axis, q)
                    den += wgt
            out.select(axis, p).copy_(num / den)
        r = out
    return r


def _reference(model, x, pats, method, target):
    m = model
    x = x[0]
    z1 = m.c1(x[None])[0]
    h1 = torch.relu(z1)
    z2 = m.dw(h1[None])[0]

    def A(name, layer):
        a = pats.pattern(name).double()
        return a * layer.weight.detach() if method == "patternattribution" else a

    r = A("fc", m.fc)[target]  # (6,)
    r = r[:, None, None].expand(6, 8, 8) / 64.0  # through the mean pool
    skip = r.clone()  # the residual sends r down both branches
    Apw = A("pw", m.pw)[:, :, 0, 0]  # (K, C)
    r = torch.einsum("kc,kij->cij", Apw, r) * (z2 > 0)  # per-position dot products, ReLU gate
    r = _conv_back(r, A("dw", m.dw), 1, 1, (8, 8), groups=6) + skip
    r = r * (z1 > 0)
    r = _conv_back(r, A("c1", m.c1), 2, 1, (15, 15), groups=1)
    return _triangle(r, 2)


def test_pattern_methods_equal_the_slow_float64_reference():
    torch.manual_seed(7)
    model = Small().double().eval()
    data = torch.rand(96, 3, 15, 15, dtype=torch.float64)
    pats = fit_patterns(model, data.split(32), positions=None)
    assert pats.rectified == {"c1": True, "dw": True, "pw": False, "fc": False}
    x = torch.rand(1, 3, 15, 15, dtype=torch.float64)
    for method in ("patternnet", "patternattribution"):
        for target in (0, 3):
            fast = attribute(model, x, method, target=target, patterns=pats)[0]
            ref = _reference(model, x, pats, method, target)
            assert fast.dtype == torch.float64
            assert torch.allclose(fast, ref, rtol=0, atol=1e-6 * float(ref.abs().max())), method

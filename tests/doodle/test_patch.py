"""The patch engine: shapes, determinism, guidance, texture statistics, errors, internals."""

import pytest
import torch

from artkit.core.errors import ArtkitError
from artkit.core.progress import Collector
from artkit.doodle import patch
from artkit.doodle.patch import PatchConfig, synthesize

FAST = PatchConfig(em_iterations=2, pm_iterations=2)


def _gen(seed=0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _two_region_style(h=32, w=40, seed=0):
    """Left half red noise texture (region 0), right half blue (region 1)."""
    g = _gen(seed)
    img = torch.rand(1, 3, h, w, generator=g) * 0.25
    img[:, 0, :, : w // 2] += 0.7   # red
    img[:, 2, :, w // 2:] += 0.7   # blue
    labels = torch.zeros(h, w, dtype=torch.long)
    labels[:, w // 2:] = 1
    return img.clamp(0, 1), labels


def test_shape_range_and_progress():
    style, labels = _two_region_style()
    target = torch.zeros(24, 36, dtype=torch.long)
    target[12:] = 1
    events = Collector()
    out = synthesize(style, labels, target, 2, (24, 36), config=FAST, generator=_gen(),
                     progress=events)
    assert out.shape == (1, 3, 24, 36)
    assert out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    tasks = {e.task for e in events.events}
    assert tasks and all(t.startswith("patch level ") for t in tasks)
    assert any(e.done and "fidelity" in e.metrics for e in events.events)


def test_deterministic_with_same_seed():
    style, labels = _two_region_style()
    target = labels.flip(1)
    a = synthesize(style, labels, target, 2, (32, 40), config=FAST, generator=_gen(3))
    b = synthesize(style, labels, target, 2, (32, 40), config=FAST, generator=_gen(3))
    c = synthesize(style, labels, target, 2, (32, 40), config=FAST, generator=_gen(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_regions_follow_the_doodle():
    style, labels = _two_region_style()
    target = 1 - labels  # swapped: left blue, right red
    out = synthesize(style, labels, target, 2, (32, 40), config=FAST, generator=_gen())
    red = out[0, 0] > out[0, 2]  # (H, W)
    assert float(red[target == 0].float().mean()) >= 0.9
    assert float((~red)[target == 1].float().mean()) >= 0.9


def test_texture_synthesis_keeps_the_colour_histogram():
    colours = torch.tensor([[0.9, 0.8, 0.1], [0.1, 0.2, 0.7], [0.2, 0.6, 0.3]])
    stripe = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])  # period 8: 3/8, 2/8, 3/8
    idx = stripe[torch.arange(40) % 8].expand(32, 40)
    style = colours[idx].permute(2, 0, 1).unsqueeze(0).contiguous()  # (1, 3, 32, 40)
    labels = torch.zeros(32, 40, dtype=torch.long)
    out = synthesize(style, labels, None, 1, (32, 32), config=PatchConfig(), generator=_gen())
    pix = out[0].flatten(1).T  # (N, 3)
    nearest = torch.cdist(pix, colours).argmin(1)
    assert float(torch.cdist(pix, colours).min(1).values.max()) < 0.05  # copies, no blends
    hist = torch.bincount(nearest, minlength=3).float() / len(nearest)
    want = torch.tensor([3 / 8, 2 / 8, 3 / 8])
    assert float((hist - want).abs().sum()) < 0.2


def test_content_and_init_are_accepted():
    style, labels = _two_region_style()
    content = torch.linspace(0, 1, 40).view(1, 1, 1, 40).expand(1, 3, 32, 40).contiguous()
    cfg = PatchConfig(em_iterations=1, pm_iterations=1, content_weight=1.0)
    out = synthesize(style, labels, labels, 2, (32, 40), content=content, init=content,
                     config=cfg, generator=_gen())
    assert out.shape == (1, 3, 32, 40)


# ----------------------------------------------------------------------------------- errors


def test_region_missing_from_style_is_named():
    style, labels = _two_region_style()
    target = torch.full((32, 40), 2, dtype=torch.long)
    with pytest.raises(ArtkitError, match="region 2"):
        synthesize(style, labels, target, 3, (32, 40), config=FAST, generator=_gen())


def test_sizes_smaller_than_a_patch():
    style, labels = _two_region_style()
    with pytest.raises(ArtkitError, match="output size"):
        synthesize(style, labels, None, 2, (5, 40), config=FAST)
    with pytest.raises(ArtkitError, match="style image"):
        synthesize(style[..., :5], labels[:, :5], None, 2, (16, 16), config=FAST)


def test_style_too_small_at_the_coarsest_level():
    style, labels = _two_region_style()
    cfg = PatchConfig(levels=3, em_iterations=1, pm_iterations=1)  # 32 px → 8 px: fits
    synthesize(style, labels, None, 2, (32, 40), config=cfg, generator=_gen())
    cfg = PatchConfig(levels=4)  # 32 px → 4 px
    with pytest.raises(ArtkitError, match="coarsest"):
        synthesize(style, labels, None, 2, (32, 40), config=cfg)


def test_bad_patch_size_and_shapes():
    style, labels = _two_region_style()
    with pytest.raises(ArtkitError, match="odd"):
        synthesize(style, labels, None, 2, (32, 40), config=PatchConfig(patch_size=6))
    with pytest.raises(ArtkitError, match="target labels"):
        synthesize(style, labels, labels[:16], 2, (32, 40), config=FAST)


# ----------------------------------------------------------------------------------- internals


def test_vote_of_the_identity_field_reproduces_the_style():
    style, labels = _two_region_style(20, 24)
    feat = torch.cat([style, style[:, :1]], 1)
    level = patch._Level(style, feat, None, None, 5, _gen())
    # target = the style's interior: pixel (y, x) matches the patch centred at (y + 2, x + 2)
    ny, nx = torch.meshgrid(torch.arange(16), torch.arange(20), indexing="ij")
    out = patch._vote(level, ny, nx)
    assert torch.allclose(out, style[..., 2:18, 2:22], atol=1e-6)
    assert torch.equal(patch._centres(level, ny, nx), style[..., 2:18, 2:22])


def _brute_force(level, tvec):
    """Slow, simple reference: exact nearest bank row of every target vector (float64)."""
    d = torch.cdist(tvec.double(), level.bank.double())  # (N, Nv)
    return (d.min(1).values ** 2).float()


def test_patchmatch_comes_close_to_exhaustive_search():
    style, labels = _two_region_style(24, 28)
    target_img, _ = _two_region_style(16, 20, seed=1)
    p = 5
    level = patch._Level(style, style, None, None, p, _gen())
    tvec = patch._project(target_img, level.weight, level.bias, pad=True)
    cfg = PatchConfig(pm_iterations=6, uniformity=0.0)
    pick = level.sample(16 * 20, _gen()).view(16, 20)
    ny, nx, raw = patch._patchmatch(level, tvec, pick // level.wv, pick % level.wv, cfg,
                                    radius=28, jumps=3, generator=_gen())
    exact = _brute_force(level, tvec)
    # the reported costs are the true costs of the returned matches
    idx = (ny * level.wv + nx).flatten()
    again = ((level.bank[idx] - tvec) ** 2).sum(1)
    assert torch.allclose(raw, again, rtol=1e-3, atol=1e-4)
    assert float(raw.mean()) <= 1.15 * float(exact.mean()) + 1e-6


def test_uniformity_spreads_usage():
    style, labels = _two_region_style(24, 28)
    flat = torch.full((1, 3, 20, 20), 0.5)  # every style patch is a poor, equal-ish match
    counts = []
    for u in (0.0, 4.0):
        level = patch._Level(style, style, None, None, 5, _gen())
        tvec = patch._project(flat, level.weight, level.bias, pad=True)
        pick = level.sample(400, _gen()).view(20, 20)
        ny, nx, _ = patch._patchmatch(level, tvec, pick // level.wv, pick % level.wv,
                                      PatchConfig(pm_iterations=4, uniformity=u), radius=28,
                                      jumps=3, generator=_gen())
        counts.append(torch.unique(ny * level.wv + nx).numel())
    assert counts[1] > 2 * counts[0]

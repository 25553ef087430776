import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import wasserstein_distance

from artkit.core.errors import ArtkitError
from artkit.doodle.evaluate import (DoodleScores, baselines, evaluate, nearest_patches,
                                    random_directions, score, sliced_wasserstein, wasserstein_1d)

RED, BLUE = (0.8, 0.25, 0.2), (0.15, 0.3, 0.85)


def _close(a: torch.Tensor, b: torch.Tensor) -> None:
    # plain allclose: torch.testing's first call spends ~2 s importing
    assert a.shape == b.shape and torch.allclose(a, b, rtol=1e-5, atol=1e-6), (a, b)


def _two_regions(h=32, w=40, seed=0, split=None):
    """A noisy red left part (label 0) and a noisy blue right part (label 1); split: first column
    of the right part (the middle by default)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.zeros(h, w, dtype=torch.long)
    labels[:, w // 2 if split is None else split:] = 1
    base = torch.tensor([RED, BLUE]).t()[:, labels]                 # (3, H, W)
    img = (base + 0.15 * torch.randn(3, h, w, generator=g)).clamp(0, 1).unsqueeze(0)
    return img, labels


# ----------------------------------------------------------------------------------- score


def test_perfect_output_scores_one_and_zero():
    style, labels = _two_regions()
    s = score(style, style, labels, labels)
    assert isinstance(s, DoodleScores)
    assert s.label_fidelity == 1.0
    assert s.style_distance == pytest.approx(0.0, abs=1e-6)
    assert set(s.per_region) == {0, 1}
    for entry in s.per_region.values():
        assert entry["label_fidelity"] == 1.0
        assert entry["style_distance"] == pytest.approx(0.0, abs=1e-6)
    assert sum(e["area"] for e in s.per_region.values()) == pytest.approx(1.0)


def test_swapped_regions_score_low_fidelity():
    style, labels = _two_regions()
    w = style.shape[3]
    # blue where the doodle asks for red and the other way round
    swapped = torch.cat([style[..., w // 2:], style[..., :w // 2]], dim=3)
    bad = score(swapped, style, labels, labels)
    good = score(style, style, labels.numpy(), labels.numpy())
    assert bad.label_fidelity < 0.1
    assert bad.style_distance > 0.05 > good.style_distance


def test_other_painting_of_the_right_regions_is_faithful():
    style, labels = _two_regions(seed=0)
    other, _ = _two_regions(seed=1)               # same regions, different noise
    s = score(other, style, labels, labels, patch=5, scale=1.0)
    assert s.label_fidelity > 0.9
    assert 0.0 < s.style_distance < 0.05


def test_score_is_deterministic_and_uses_the_generator():
    style, labels = _two_regions()
    other, _ = _two_regions(seed=3)
    kw = dict(scale=1.0, max_patches=50)         # subsampling on
    a, b = score(other, style, labels, labels, **kw), score(other, style, labels, labels, **kw)
    assert a == b
    c = score(other, style, labels, labels, generator=torch.Generator().manual_seed(5), **kw)
    assert c.label_fidelity == a.label_fidelity
    assert c.style_distance != a.style_distance


def test_target_size_and_map_checks():
    style, labels = _two_regions()
    with pytest.raises(ArtkitError, match="target_labels"):
        score(style, style, labels, labels[:, :-1])
    with pytest.raises(ArtkitError, match="style_labels"):
        score(style, style, labels[:-1], labels)
    with pytest.raises(ArtkitError, match="smaller than one"):
        score(style[..., :10, :10], style, labels, labels[:10, :10])


def test_region_missing_from_style_gets_nan_distance():
    style, labels = _two_regions()
    target = labels.clone()
    target[:8] = 2                                # the doodle asks for a region the style lacks
    s = score(style, style, labels, target, scale=1.0)
    assert math.isnan(s.per_region[2]["style_distance"])
    assert s.per_region[2]["label_fidelity"] == 0.0
    assert not math.isnan(s.style_distance)


# ------------------------------------------------------------------------------ building blocks


def test_nearest_patches_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(37, 12, generator=g)
    k = torch.randn(203, 12, generator=g) + 3.0   # offset: tests the centring
    idx, d2 = nearest_patches(q, k, chunk=8)
    qn, kn = q.double().numpy(), k.double().numpy()
    ref = np.array([np.argmin([((a - b) ** 2).sum() for b in kn]) for a in qn])
    ref_d = np.array([((a - kn[j]) ** 2).sum() for a, j in zip(qn, ref)])
    assert np.array_equal(idx.numpy(), ref)
    np.testing.assert_allclose(d2.numpy(), ref_d, rtol=1e-4, atol=1e-4)
    assert torch.equal(nearest_patches(q, k)[0], idx)            # chunking does not matter


def test_nearest_patches_ties_go_to_lowest_index():
    k = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    idx, d2 = nearest_patches(torch.zeros(1, 2), k)
    assert idx.tolist() == [1] and d2.tolist() == [0.0]


def test_wasserstein_1d_equal_sizes_is_mean_sorted_gap():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 50, generator=g), torch.randn(3, 50, generator=g)
    ref = (a.sort(1).values - b.sort(1).values).abs().mean(1)
    _close(wasserstein_1d(a, b), ref)


def test_wasserstein_1d_unequal_sizes_matches_scipy():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(4, 30, generator=g, dtype=torch.float64), \
        torch.rand(4, 47, generator=g, dtype=torch.float64) * 3
    ours = wasserstein_1d(a, b)
    ref = [wasserstein_distance(a[i].numpy(), b[i].numpy()) for i in range(4)]
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10)


def _slow_sliced(a: np.ndarray, b: np.ndarray, dirs: np.ndarray) -> float:
    total = 0.0
    for u in dirs:
        pa, pb = sorted(a @ u), sorted(b @ u)
        total += sum(abs(x - y) for x, y in zip(pa, pb)) / len(pa)
    return total / len(dirs)


def test_sliced_wasserstein_zero_for_identical_and_grows_with_shift():
    g = torch.Generator().manual_seed(2)
    a = torch.rand(60, 9, generator=g)
    dirs = random_directions(16, 9, g)
    _close(dirs.norm(dim=1), torch.ones(16))
    assert sliced_wasserstein(a, a, dirs) == 0.0
    shuffled = a[torch.randperm(60, generator=g)]
    assert sliced_wasserstein(a, shuffled, dirs) == pytest.approx(0, abs=1e-6)
    previous = 0.0
    for shift in (0.05, 0.1, 0.3):
        b = a + shift * torch.linspace(-1, 1, 9)  # a shift along a fixed vector
        ours = sliced_wasserstein(a, b, dirs)
        ref = _slow_sliced(a.double().numpy(), b.double().numpy(), dirs.double().numpy())
        assert ours == pytest.approx(ref, rel=1e-4)
        assert ours > previous
        previous = ours


# ----------------------------------------------------------------------------------- baselines


def test_baselines_shapes_and_mean_colour_fill():
    style, labels = _two_regions(24, 20)
    target = torch.zeros(16, 30, dtype=torch.long)
    target[5:, 10:] = 1
    target[:2, :2] = 2                            # a region the style lacks → global mean
    palette = np.array([[255, 0, 0], [0, 0, 255], [0, 255, 0]], np.uint8)
    out = baselines(style, labels.numpy(), target.numpy(), palette)
    assert set(out) == {"mean-colour", "resized-style"}
    for img in out.values():
        assert img.shape == (1, 3, 16, 30) and img.dtype == torch.float32
    fill = out["mean-colour"][0]
    for r in (0, 1):
        mean = style[0][:, labels == r].mean(1)
        _close(fill[:, target == r], mean[:, None].expand(3, int((target == r).sum())))
    _close(fill[:, 0, 0], style[0].reshape(3, -1).mean(1))
    assert torch.equal(baselines(style, labels, target, 3)["mean-colour"], out["mean-colour"])
    with pytest.raises(ArtkitError, match="outside"):
        baselines(style, labels, target, 2)


def test_resized_style_of_same_size_is_the_style():
    style, labels = _two_regions(16, 24)
    out = baselines(style, labels, labels, 2)
    _close(out["resized-style"], style)


# ----------------------------------------------------------------------------------- files


def test_evaluate_round_trip_gives_an_evaluation(tmp_path):
    style, labels = _two_regions(32, 40, split=24)   # region 0 is the larger: palette order
    pal = np.array([[255, 255, 255], [0, 0, 255]], np.uint8)
    Image.fromarray((style[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(
        tmp_path / "style.png")
    Image.fromarray(pal[labels.numpy()]).save(tmp_path / "style_sem.png")
    # the doodle is drawn at twice the output size; it is resized to the output (nearest)
    big = np.repeat(np.repeat(labels.numpy(), 2, 0), 2, 1)
    Image.fromarray(pal[big]).save(tmp_path / "doodle.png")
    ev = evaluate(tmp_path / "style.png", tmp_path / "style.png",
                  tmp_path / "style_sem.png", tmp_path / "doodle.png")
    result = ev.to_dict()
    assert {"output", "baselines", "regions", "seconds", "notes"} <= set(result)
    assert result["regions"] == ["#ffffff", "#0000ff"] and ev.seconds > 0
    assert set(result["baselines"]) == {"mean-colour", "resized-style"}
    assert result["output"]["label_fidelity"] == 1.0
    assert result["baselines"]["mean-colour"]["label_fidelity"] > 0.5
    assert [r[0] for r in ev.rows()] == ["output", "mean-colour", "resized-style"]
    json.dumps(result)                            # plain types only

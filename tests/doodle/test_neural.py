"""The neural engine's parts against slow, simple float64 references."""

import math

import pytest
import torch
import torch.nn.functional as F

from doodle_helpers import tiny_vgg

from artkit.doodle.neural import (NeuralSettings, coverage, extract_patches, fold_matches,
                                  gather_fold, nearest_patches, normalised_bank, pool_to,
                                  project_patches, projection, run_phase, sample_patches,
                                  smoothness_loss)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_extract_patches_matches_loops():
    x = torch.randn(1, 2, 5, 6, generator=_gen())
    p = extract_patches(x, 3)
    assert p.shape == (3 * 4, 2 * 9)
    # row k = position (k // 4, k % 4); columns ordered channel-major, then 3x3 row-major
    for k in range(12):
        i, j = divmod(k, 4)
        assert torch.equal(p[k], x[0, :, i:i + 3, j:j + 3].reshape(-1))


def _reference_match(tf, ts, sf, ss, w):
    """Slow float64 NCC matching: for each target patch, the best style patch."""
    out = []
    for a, sa in zip(tf.double(), ts.double()):
        best, arg = -math.inf, -1
        for j, (b, sb) in enumerate(zip(sf.double(), ss.double())):
            score = a @ b / (a.norm() * b.norm()) + w * (sa @ sb) / (sa.norm() * sb.norm())
            if score > best:
                best, arg = score, j
        out.append(arg)
    return torch.tensor(out)


@pytest.mark.parametrize("memory_mb", [16, 512])
def test_nearest_patches_equals_reference(memory_mb):
    g = _gen(1)
    tf, sf = torch.randn(23, 12, generator=g), torch.randn(31, 12, generator=g)
    ts, ss = torch.rand(23, 4, generator=g), torch.rand(31, 4, generator=g)
    tb, sb = normalised_bank(tf, ts, 10.0), normalised_bank(sf, ss, 10.0)
    assert torch.equal(nearest_patches(tb, sb, memory_mb=memory_mb), _reference_match(tf, ts, sf, ss, 10.0))


def test_chunking_does_not_change_matches():
    g = _gen(2)
    t, s = F.normalize(torch.randn(300, 8, generator=g), dim=1), F.normalize(torch.randn(5000, 8, generator=g), dim=1)
    # 16 MB allows ~838 rows of 5000 scores per chunk; force tiny chunks via a huge bank
    assert torch.equal(nearest_patches(t, s, memory_mb=16), (t @ s.t()).argmax(1))


def test_semantic_weight_forces_regions():
    g = _gen(3)
    f_t, f_s = torch.randn(50, 6, generator=g), torch.randn(40, 6, generator=g)
    lab_t = torch.randint(0, 2, (50,), generator=g)
    lab_s = torch.arange(40) % 2
    sem_t, sem_s = F.one_hot(lab_t, 2).float(), F.one_hot(lab_s, 2).float()
    m = nearest_patches(normalised_bank(f_t, sem_t, 100.0), normalised_bank(f_s, sem_s, 100.0))
    assert torch.equal(lab_s[m], lab_t)


def test_variety_spreads_usage():
    g = _gen(4)
    s = F.normalize(torch.randn(20, 5, generator=g), dim=1)
    t = F.normalize(s[0:1] + 0.05 * torch.randn(200, 5, generator=g), dim=1)  # all near style 0
    plain = nearest_patches(t, s)
    varied = nearest_patches(t, s, variety=1.0)
    assert torch.bincount(varied).max() < torch.bincount(plain).max()


def test_fold_matches_gives_the_same_gradient_as_the_patch_loss():
    g = _gen(5)
    feat = torch.randn(1, 3, 6, 7, generator=g, dtype=torch.float64, requires_grad=True)
    matched = torch.randn(4 * 5, 27, generator=g, dtype=torch.float64)
    # the direct loss: sum over patches of squared distance to the matched patch
    direct = ((extract_patches(feat, 3) - matched) ** 2).sum()
    (g1,) = torch.autograd.grad(direct, feat)
    target, count = fold_matches(matched, (6, 7), 3)
    folded = (count * (feat - target) ** 2).sum()
    (g2,) = torch.autograd.grad(folded, feat)
    assert torch.allclose(g1, g2, atol=1e-10)
    assert count.sum() == 20 * 9


def test_smoothness_exact_value():
    img = torch.zeros(1, 1, 3, 3)
    img[0, 0, 0, 1] = 1.0  # one step in x at (0,0)→(0,1); one step in y at (0,1)→(1,1)
    # the 2x2 grid of forward differences: (0,0): dx=1, dy=0; (0,1): dx=-1, dy=-1; others 0
    expected = (1.0 ** 1.25 + 2.0 ** 1.25) / 4
    assert abs(float(smoothness_loss(img)) - expected) < 1e-5


def test_projection_keeps_dot_products_of_low_rank_data():
    g = _gen(6)
    low = torch.randn(400, 5, generator=g) @ torch.randn(5, 40, generator=g)
    basis = projection(low, 8, generator=g)
    assert basis.shape == (40, 8)
    a, b = low[:10] @ basis, low[10:20] @ basis
    assert torch.allclose(a @ b.t(), low[:10] @ low[10:20].t(), rtol=1e-3, atol=1e-2)
    assert projection(low, 0) is None and projection(low, 64) is None


def _tiny_vgg():
    return tiny_vgg()


def test_run_phase_lowers_the_loss_and_follows_regions():
    g = _gen(7)
    vgg = _tiny_vgg()
    style = torch.rand(1, 3, 32, 32, generator=g)
    sem = torch.zeros(1, 2, 32, 32)
    sem[:, 0, :, :16] = 1
    sem[:, 1, :, 16:] = 1
    image = torch.rand(1, 3, 32, 32, generator=g)
    settings = NeuralSettings(iterations=6, match_every=3, match_dims=0)
    out, log = run_phase(vgg, image, style, settings=settings, style_semantic=sem,
                         target_semantic=sem.flip(3))
    assert out.shape == image.shape and 0 <= out.min() and out.max() <= 1
    assert log.steps == 6 and log.matchings == 2 and log.loss[-1] < log.loss[0]


def test_run_phase_is_deterministic_whatever_the_global_random_state():
    # match_dims=16 < 8·9: the projection (once drawn from torch's global RNG) is in play
    vgg = _tiny_vgg()
    style = torch.rand(1, 3, 32, 32, generator=_gen(8))
    image = torch.rand(1, 3, 32, 32, generator=_gen(9))
    s = NeuralSettings(iterations=2, match_every=1, match_dims=16)
    a, _ = run_phase(vgg, image, style, settings=s, generator=_gen(0))
    torch.rand(7)  # move the global random state on
    b, _ = run_phase(vgg, image, style, settings=s, generator=_gen(0))
    assert torch.equal(a, b)


def test_projection_depends_only_on_its_generator():
    g = _gen(10)
    x = torch.randn(300, 6, generator=g) @ torch.randn(6, 72, generator=g) \
        + 0.01 * torch.randn(300, 72, generator=g)  # a decaying spectrum, like VGG patches
    a = projection(x, 16, generator=_gen(1))
    torch.rand(5)
    b = projection(x, 16, generator=_gen(1))
    assert torch.equal(a, b) and a.shape == (72, 16)
    # it spans the top principal directions: close to the exact SVD's subspace
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    top = v[:4].t()
    assert torch.linalg.matrix_norm(top - a @ (a.t() @ top)) < 1e-3


def test_gather_fold_equals_folding_the_gathered_patches():
    g = _gen(11)
    source = torch.randn(1, 5, 9, 11, generator=g, dtype=torch.float64)
    size, p = (7, 6), 3
    n = (size[0] - p + 1) * (size[1] - p + 1)
    matches = torch.randint(0, (9 - p + 1) * (11 - p + 1), (n,), generator=g)
    ref, count = fold_matches(extract_patches(source, p)[matches], size, p)
    assert torch.allclose(gather_fold(source, matches, size, p), ref, atol=1e-12)
    assert torch.equal(coverage(size, p, torch.float64), count)
    ones = torch.ones(1, p * p, n, dtype=torch.float64)
    assert torch.equal(count, F.fold(ones, size, p))


def test_patch_projection_as_a_convolution():
    g = _gen(12)
    x = torch.randn(1, 4, 8, 10, generator=g, dtype=torch.float64)
    basis = torch.randn(36, 5, generator=g, dtype=torch.float64)
    assert torch.allclose(project_patches(x, basis), extract_patches(x) @ basis, atol=1e-12)
    assert torch.equal(project_patches(x, None), extract_patches(x))
    some = sample_patches(x, 10, 3, _gen(1))
    rows = {tuple(r.tolist()) for r in extract_patches(x)}
    assert some.shape == (10, 36) and all(tuple(r.tolist()) in rows for r in some)


def test_pool_to_is_the_average_over_each_layer_cell():
    x = torch.rand(1, 3, 18, 21, generator=_gen(13))
    pooled = pool_to(x, (4, 5))  # stride 4: rows 16–17 and columns 20 dropped, as VGG drops them
    assert torch.allclose(pooled, F.interpolate(x[:, :, :16, :20], size=(4, 5), mode="area"))
    assert torch.equal(pool_to(x, (18, 21)), x)

"""``artkit classify`` on tiny synthetic images with a fake backbone (no real weights needed)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from artkit.classify import Classifier, train
from artkit.classify.features import extract_features
from artkit.classify.head import fit_logistic, stratified_folds
from artkit.classify.report import expected_calibration_error
from artkit.classify.robustness import evaluate_robustness, fgsm, pgd, uniform_noise
from artkit.cli import app
from artkit.core.errors import ArtkitError

RED, BLUE = (220, 30, 30), (30, 30, 220)


class FakeBackbone(torch.nn.Module):
    """Mean and std colour of the image, spread over 1280 dims by a fixed projection."""

    calls = 0

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.proj = torch.randn(6, 1280, generator=g)

    def features(self, x01):  # (B, 3, H, W) -> (B, 1280)
        FakeBackbone.calls += x01.shape[0]
        stats = torch.cat([x01.mean((2, 3)), x01.std((2, 3))], 1)  # (B, 6)
        return stats @ self.proj


@pytest.fixture(autouse=True)
def fake_backbone(request, monkeypatch, tmp_path):
    """The fake network and an empty ARTKIT_HOME, except in tests that need the real weights."""
    if request.node.get_closest_marker("weights"):
        return None
    monkeypatch.setenv("ARTKIT_HOME", str(tmp_path / "artkit-home"))
    FakeBackbone.calls = 0
    monkeypatch.setattr("artkit.nets.load_efficientnet", lambda device="cpu": FakeBackbone())
    return FakeBackbone


def _image(path, colour, seed, size=16):
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(colour) + rng.integers(-25, 25, (size, size, 3)), 0, 255)
    Image.fromarray(arr.astype(np.uint8)).save(path)


def _dataset(root, counts=None):
    counts = counts or {"red": 6, "blue": 6}
    colours = {"red": RED, "blue": BLUE}
    for label, n in counts.items():
        (root / label).mkdir(parents=True)
        for i in range(n):
            _image(root / label / f"{label}{i}.png", colours[label], seed=hash((label, i)) % 1000)
    return root


def test_red_vs_blue_is_perfect_and_round_trips(tmp_path):
    data = _dataset(tmp_path / "data")
    clf = train(data, folds=3, seed=0)
    rep = clf.report
    assert clf.labels == ["blue", "red"]
    assert rep["accuracy"]["mean"] == 1.0 and rep["accuracy"]["std"] == 0.0
    assert rep["zeror"]["accuracy"] == 0.5
    assert rep["confusion"]["matrix"] == [[6, 0], [0, 6]]
    assert rep["per_class"]["red"] == {"precision": 1.0, "recall": 1.0, "support": 6}
    assert 0.0 <= rep["ece"] <= 0.5
    path = clf.save(tmp_path / "m.safetensors")
    back = Classifier.load(path, backbone="efficientnet-lite0")
    assert back.labels == clf.labels and back.report["accuracy"] == rep["accuracy"]
    res = back.predict([data / "red"])
    assert not res.skipped and {p.label for p in res.items} == {"red"}
    assert all(p.probabilities["red"] > 0.5 for p in res.items)
    assert res.seconds > 0 and "m.safetensors" in res.weights


def test_zeror_on_imbalanced_data(tmp_path):
    data = _dataset(tmp_path / "data", {"red": 7, "blue": 3})
    rep = train(data, folds=5, seed=0).report
    assert rep["zeror"]["accuracy"] == pytest.approx(0.7)
    assert rep["zeror"]["cv_pooled"] == pytest.approx(0.7)
    assert rep["zeror"]["majority_label"] == "red"
    assert rep["folds"] == 3  # lowered to the smallest class's size
    assert rep["notes"]


def test_stratified_folds_keep_proportions():
    y = np.array([0] * 7 + [1] * 3)
    folds = stratified_folds(y, 5, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(10))
    assert [len(f) for f in folds] == [2, 2, 2, 2, 2]
    assert all(sum(y[f] == 1) <= 1 for f in folds)


def test_head_matches_a_float64_reference_gradient():
    """At the fitted optimum the gradient of the weighted, penalised loss is ~0."""
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(30, 5)))
    y = rng.integers(0, 3, 30)
    head = fit_logistic(x, y, 3, C=0.5)
    z = ((x - head.mean) / head.scale)
    w = head.weight.clone().requires_grad_(True)
    b = head.bias.clone().requires_grad_(True)
    counts = np.bincount(y, minlength=3)
    sw = torch.tensor(30 / (3 * counts[y]))
    logp = torch.log_softmax(z @ w + b, 1)
    loss = -(sw * logp[torch.arange(30), torch.tensor(y)]).sum() / sw.sum() \
        + (w * w).sum() / (2 * 0.5 * 30)
    loss.backward()
    assert w.grad.abs().max() < 1e-5 and b.grad.abs().max() < 1e-5


def test_ece_known_values():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y = np.array([0, 0, 0, 1])
    # bin (0.8, 0.9]: acc 1 vs conf 0.9; bin (0.5, 0.6]: acc 0.5 vs conf 0.6
    assert expected_calibration_error(probs, y) == pytest.approx(0.5 * 0.1 + 0.5 * 0.1)


def test_feature_cache_hits_and_invalidates(tmp_path, fake_backbone):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    _image(a, RED, 1)
    _image(b, BLUE, 2)
    first = extract_features([a, b])
    assert first.computed == 2 and fake_backbone.calls == 2
    second = extract_features([a, b])
    assert second.computed == 0 and fake_backbone.calls == 2
    assert torch.equal(first.features, second.features)
    _image(a, BLUE, 3)  # same name, new content
    third = extract_features([a, b])
    assert third.computed == 1 and fake_backbone.calls == 3
    assert not torch.equal(third.features[0], first.features[0])


def test_unreadable_file_skipped_and_listed(tmp_path):
    data = _dataset(tmp_path / "data")
    (data / "red" / "broken.png").write_bytes(b"not an image")
    clf = train(data, folds=2)
    assert [p for p, _ in clf.report["skipped"]] == [str(data / "red" / "broken.png")]
    assert clf.report["n_images"] == 12


def test_duplicates_across_labels_are_warned(tmp_path):
    data = _dataset(tmp_path / "data")
    (data / "blue" / "copy.png").write_bytes((data / "red" / "red0.png").read_bytes())
    rep = train(data, folds=2).report
    assert len(rep["duplicates"]) == 1 and any("two labels" in n for n in rep["notes"])


@pytest.mark.parametrize("layout, message", [
    ({"red": 3}, "at least 2"),
    ({"red": 3, "blue": 0}, "is empty"),
])
def test_bad_layouts(tmp_path, layout, message):
    data = _dataset(tmp_path / "data", layout)
    with pytest.raises(ArtkitError, match=message):
        train(data)


def test_label_with_only_unreadable_files(tmp_path):
    data = _dataset(tmp_path / "data", {"red": 3})
    (data / "blue").mkdir()
    (data / "blue" / "x.jpg").write_text("nope")
    with pytest.raises(ArtkitError, match="no readable images"):
        train(data)


def test_model_of_another_backbone_or_not_a_model(tmp_path):
    clf = train(_dataset(tmp_path / "data"), folds=2)
    clf.backbone = "resnet-50"
    path = clf.save(tmp_path / "other.safetensors")
    with pytest.raises(ArtkitError, match="resnet-50"):
        Classifier.load(path, backbone="efficientnet-lite0")
    with pytest.raises(ArtkitError, match="unknown backbone"):
        Classifier.load(path)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ArtkitError, match="not a safetensors file"):
        Classifier.load(junk)


def test_cli_train_predict(tmp_path):
    data = _dataset(tmp_path / "data")
    model = tmp_path / "m.safetensors"
    runner = CliRunner()
    res = runner.invoke(app, ["classify", "train", str(data), "-o", str(model), "--folds", "2"])
    assert res.exit_code == 0, res.output
    assert "accuracy 1.000" in res.stderr and "ZeroR 0.500" in res.stderr
    rep = json.loads((tmp_path / "m.report.json").read_text())
    assert rep["accuracy"]["mean"] == 1.0 and (tmp_path / "m.json").is_file()
    assert sum(b["count"] for b in rep["reliability"]) == 12 and len(rep["reliability"]) == 10
    png = tmp_path / "m.report.png"
    with Image.open(png) as im:
        im.verify()
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] > im.size[1] > 100
    again = runner.invoke(app, ["classify", "train", str(data), "-o", str(model)])
    assert again.exit_code == 1 and "already exists" in again.output
    model.unlink()  # only the picture is left: still refused without --force
    (tmp_path / "m.report.json").unlink()
    (tmp_path / "m.json").unlink()
    again = runner.invoke(app, ["classify", "train", str(data), "-o", str(model)])
    assert again.exit_code == 1 and "m.report.png" in again.output and not model.exists()
    forced = runner.invoke(app, ["classify", "train", str(data), "-o", str(model), "--folds",
                                 "2", "--force", "-q"])
    assert forced.exit_code == 0, forced.output
    res = runner.invoke(app, ["classify", "predict", str(data / "blue" / "blue0.png"),
                              "--model", str(model)])
    assert res.exit_code == 0, res.output
    assert "\tblue\t" in res.stdout and res.stdout.startswith("image\tlabel\tblue\tred")
    res = runner.invoke(app, ["classify", "predict", str(data), "--model", str(model)])
    assert res.exit_code == 0, res.output  # a labelled folder: its sub-folders' images
    rows = res.stdout.strip().splitlines()[1:]
    assert len(rows) == 12 and all(f"/{r.split(chr(9))[1]}/" in r.split(chr(9))[0] for r in rows)


def test_cli_errors_are_one_line(tmp_path):
    data = _dataset(tmp_path / "data", {"red": 3})
    runner = CliRunner()
    res = runner.invoke(app, ["classify", "train", str(data), "-o", str(tmp_path / "m.safetensors")])
    assert res.exit_code == 1
    assert res.output.strip().startswith("error:") and len(res.output.strip().splitlines()) == 1
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"junk")
    res = runner.invoke(app, ["classify", "predict", str(data / "red"), "--model", str(junk)])
    assert res.exit_code == 1 and "not a safetensors file" in res.output


@pytest.mark.weights
def test_imagenet_says_chelsea_is_a_cat(tmp_path, real_weights):
    real_weights("efficientnet-lite0")
    skimage = pytest.importorskip("skimage")
    path = tmp_path / "chelsea.png"
    Image.fromarray(skimage.data.chelsea()).save(path)
    res = CliRunner().invoke(app, ["classify", "imagenet", str(path), "--top", "3", "--is", "cat"])
    assert res.exit_code == 0, res.output
    top_line = res.stdout.splitlines()[1]  # piped: a header, then one tab-separated row per class
    assert top_line.split("\t")[1] == "1"
    assert any(name in top_line for name in ("tabby", "tiger cat", "Egyptian cat", "Persian",
                                             "Siamese"))
    assert "is cat: yes" in res.output


# ------------------------------------------------------------------ robustness (tiny linear model)


def _linear(seed=0):
    """Two classes on 3×8×8 images: logit_0 = a·x + c, logit_1 = −a·x − c, a of ±1 entries."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(0, 2, (3 * 8 * 8,), generator=g).double() * 2 - 1  # (192,) of ±1
    lin = torch.nn.Linear(192, 2).double()
    with torch.no_grad():
        lin.weight.copy_(torch.stack([a, -a]))
        lin.bias.copy_(torch.tensor([-a.sum() / 2, a.sum() / 2]))  # boundary at x = 0.5
    return torch.nn.Sequential(torch.nn.Flatten(), lin), a.view(1, 3, 8, 8)


def _images(n=16, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, 8, 8, generator=g, dtype=torch.float64)


def test_fgsm_moves_every_pixel_by_eps_along_the_gradient_sign():
    model, a = _linear()
    x = _images()
    y = model(x).argmax(1)
    eps = 4 / 255
    adv = fgsm(model, x, y, eps)
    # ∇ₓ CE = (p − onehot(y)) W = ∓2 p_other a: descending class y's logit, so sign(a)·(2y − 1)
    direction = a.sign() * (2 * y.view(-1, 1, 1, 1) - 1).double()  # (N, 3, 8, 8)
    moved = x + eps * direction
    inside = (moved >= 0) & (moved <= 1)
    assert inside.float().mean() > 0.9
    assert torch.allclose((adv - x)[inside], (eps * direction)[inside], atol=1e-12)
    assert torch.equal(adv[~inside], moved.clamp(0, 1)[~inside])
    assert (model(adv).argmax(1) == y).float().mean() < 1.0 or eps == 0


def test_pgd_stays_in_the_ball_and_the_box_and_beats_fgsm():
    model, _ = _linear()
    x = _images(64)
    # logit margins ~ 8, an ε step moves them by 2·ε·192 ≈ 3: some flip, some do not
    x[0, 0, 0, :2] = torch.tensor([0.0, 1.0])
    y = model(x).argmax(1)
    eps = 2 / 255
    g = torch.Generator().manual_seed(0)
    adv = pgd(model, x, y, eps, steps=10, generator=g)
    assert (adv - x).abs().max() <= eps + 1e-12
    assert adv.min() >= 0 and adv.max() <= 1
    acc = lambda z: float((model(z).argmax(1) == y).double().mean())  # noqa: E731
    assert 0.0 < acc(fgsm(model, x, y, eps)) < 1.0
    assert acc(adv) <= acc(fgsm(model, x, y, eps))


def test_uniform_noise_stays_in_the_ball():
    x = _images()
    eps = 8 / 255
    noisy = uniform_noise(x, eps, torch.Generator().manual_seed(3))
    d = noisy - x
    assert d.abs().max() <= eps + 1e-12 and noisy.min() >= 0 and noisy.max() <= 1
    assert d.abs().max() > eps / 2  # actually noisy
    again = uniform_noise(x, eps, torch.Generator().manual_seed(3))
    assert torch.equal(noisy, again)


def test_evaluate_robustness_reports_each_eps():
    model, _ = _linear()
    x = 0.5 + (_images(32) - 0.5) * 0.05
    y = model(x).argmax(1)
    res = evaluate_robustness(model, x, y, [0, 1, 4], steps=3,
                              generator=torch.Generator().manual_seed(0), batch_size=10)
    assert res["n"] == 32 and res["clean"] == 1.0 and res["steps"] == 3
    assert [r["eps"] for r in res["eps"]] == [0.0, 1.0, 4.0]
    assert res["eps"][0]["fgsm"] == res["eps"][0]["pgd"] == res["eps"][0]["noise"] == 1.0
    assert res["eps"][2]["pgd"] <= res["eps"][1]["pgd"] <= 1.0
    json.dumps(res)


def test_cli_robustness(tmp_path):
    data = _dataset(tmp_path / "data")
    model = tmp_path / "m.safetensors"
    runner = CliRunner()
    res = runner.invoke(app, ["classify", "train", str(data), "-o", str(model), "--folds", "2",
                              "-q"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "rob.json"
    res = runner.invoke(app, ["classify", "robustness", str(data), "--model", str(model),
                              "--eps", "1,8", "--steps", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "FGSM" in res.stdout and "PGD" in res.stdout
    rep = json.loads(out.read_text())
    assert rep["n"] == 12 and rep["clean"] == 1.0 and [r["eps"] for r in rep["eps"]] == [1, 8]
    assert rep["counts"] == {"blue": 6, "red": 6}


def test_cli_robustness_labels_must_match_the_model(tmp_path):
    data = _dataset(tmp_path / "data")
    model = tmp_path / "m.safetensors"
    runner = CliRunner()
    assert runner.invoke(app, ["classify", "train", str(data), "-o", str(model), "--folds", "2",
                               "-q"]).exit_code == 0
    (data / "blue").rename(data / "green")
    res = runner.invoke(app, ["classify", "robustness", str(data), "--model", str(model)])
    assert res.exit_code == 1
    assert res.output.strip().startswith("error:") and len(res.output.strip().splitlines()) == 1
    assert "green" in res.output
    res = runner.invoke(app, ["classify", "robustness", str(data), "--model", str(model),
                              "--eps", "1,x"])
    assert res.exit_code == 1 and "--eps" in res.output


@pytest.mark.weights
def test_predict_explain_writes_heatmaps(tmp_path, real_weights, monkeypatch):
    """Real EfficientNet-Lite0 + a head trained on red vs blue: the whole pipeline is explained."""
    real_weights("efficientnet-lite0")
    data = _dataset(tmp_path / "data", {"red": 4, "blue": 4})
    model = tmp_path / "m.safetensors"
    runner = CliRunner()
    res = runner.invoke(app, ["classify", "train", str(data), "-o", str(model), "--folds", "2", "-q"])
    assert res.exit_code == 0, res.output
    from artkit.classify.api import Classifier

    assert Classifier.load(model).pattern.shape == (2, 1280)
    out = tmp_path / "heat"
    res = runner.invoke(app, ["classify", "predict", str(data / "red" / "red0.png"), "-m", str(model),
                              "--explain", str(out), "-q"])
    assert res.exit_code == 0, res.output
    with Image.open(out / "red0.explain.png") as im:
        assert im.width > 2 * im.height
    res = runner.invoke(app, ["classify", "predict", str(data / "red" / "red0.png"), "-m", str(model),
                              "--explain", str(out)])
    assert res.exit_code == 1 and "exists" in res.output


def _saved(tmp_path, **change):
    """A trained model re-saved with some tensors or metadata changed (to test validation)."""
    from artkit.core.artifacts import save_artifact
    from safetensors import safe_open

    clf = train(_dataset(tmp_path / "data"), folds=2)
    path = clf.save(tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = json.loads(f.metadata()["artkit.meta"])
    for k, v in change.items():
        (tensors if isinstance(v, torch.Tensor) else meta)[k] = v
    bad = tmp_path / "bad.safetensors"
    save_artifact(bad, tensors, kind="classifier", meta=meta)
    return bad


@pytest.mark.parametrize("change, message", [
    ({"bias": torch.zeros(3, dtype=torch.float64)}, "tensor 'bias' is 3, expected 2"),
    ({"weight": torch.full((1280, 2), float("nan"), dtype=torch.float64)}, "NaN"),
    ({"labels": [1, 2]}, "labels"),
    ({"labels": ["a", "a"]}, "labels"),
    ({"scale": torch.zeros(1280, dtype=torch.float64)}, "scale"),
])
def test_damaged_classifier_files_are_refused(tmp_path, change, message):
    bad = _saved(tmp_path, **change)
    with pytest.raises(ArtkitError, match=message):
        Classifier.load(bad)


def test_explain_names_do_not_collide(tmp_path):
    from artkit.classify.cli import explain_names

    for rel in ("a.png", "a.jpg", "sub/a.png", "b.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    files = [tmp_path / r for r in ("a.png", "a.jpg", "sub/a.png", "b.png")]
    names = explain_names(files)
    assert len(set(names)) == 4
    assert names == ["a.png.explain.png", "a.jpg.explain.png", "sub/a.explain.png", "b.explain.png"]

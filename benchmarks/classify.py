"""``artkit classify`` on this machine: feature speed, head training time, accuracy vs ZeroR.

* EfficientNet-Lite0 feature extraction throughput (images/s) at 224 x 224, batch 16, under
  ``torch.inference_mode`` with ``--threads`` CPU threads.
* Feature cache: reading 1,000 cached 1280-d vectors back (no network is loaded), then the head
  on them (random labels, 2 classes): one L-BFGS fit at C = 1 and the inner-CV choice of C.
* Quality on a labelled set built offline: ``--per-class`` random 224 x 224 crops each of
  scikit-image's ``coffee()`` and ``astronaut()``; nested stratified 5-fold accuracy ± std
  against ZeroR. (An easy set — it checks the pipeline end to end, not a hard benchmark.)

Real weights are used when cached, else random ones (the script says which). Everything is
written to a temporary ARTKIT_HOME, so the user's feature cache is untouched.

Usage:
    python benchmarks/classify.py [--threads 2] [--repeats 3] [--per-class 64] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import sys
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save_results, table  # noqa: E402


def _real_home() -> str:
    return os.environ.get("ARTKIT_HOME") or str(Path.home() / ".cache" / "artkit")


def _model(device):
    from artkit.core.errors import ArtkitError
    from artkit.nets.efficientnet import EFFICIENTNET_SIZES, EfficientNetLite0, load_efficientnet

    try:
        return load_efficientnet(device), "efficientnet-lite0 weights"
    except ArtkitError:
        model = EfficientNetLite0(EFFICIENTNET_SIZES["lite0"]).eval().requires_grad_(False)
        return model.to(device), "random weights (efficientnet-lite0 not cached)"


def bench_features(device, repeats: int, batch: int = 16) -> float:
    model, source = _model(device)
    x = torch.rand(batch, 3, 224, 224, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.inference_mode():
        model.features(x)  # warm-up
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            model.features(x)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - t)
    rate = batch / statistics.median(times)
    print(f"features  EfficientNet-Lite0 ({source}), {batch} x 3 x 224 x 224: "
          f"{rate:.1f} images/s (median of {repeats})")
    return rate, source


def bench_head(home: Path, n: int = 1000) -> list:
    from artkit.classify.features import _write_cached, extract_features, sha256_bytes
    from artkit.classify.head import choose_C, fit_logistic

    rng = np.random.default_rng(0)
    folder = home / "random-files"
    folder.mkdir()
    files = []
    for i in range(n):
        f = folder / f"{i:04d}.bin"
        f.write_bytes(i.to_bytes(4, "little"))
        _write_cached("efficientnet-lite0", sha256_bytes(f.read_bytes()),
                      torch.from_numpy(rng.random(1280, dtype=np.float32)))
        files.append(f)
    t = time.perf_counter()
    fs = extract_features(files)
    read_s = time.perf_counter() - t
    assert fs.computed == 0 and len(fs.paths) == n
    y = rng.integers(0, 2, n)
    fit_logistic(fs.features[:64], y[:64], 2, C=1.0)  # warm-up: first use of the optimiser imports
    t = time.perf_counter()
    fit_logistic(fs.features, y, 2, C=1.0)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    C, _ = choose_C(fs.features, y, 2)
    choose_s = time.perf_counter() - t
    print(f"cache     {n} cached 1280-d vectors read back in {read_s:.2f} s (network not loaded)")
    print(f"head      {n} x 1280, 2 classes: one L-BFGS fit {fit_s:.2f} s; "
          f"choosing C (4 values x 3 inner folds) {choose_s:.2f} s -> C = {C:g}")
    return [[f"read {n} cached feature vectors (no network)", read_s],
            [f"fit the head on {n} × 1280 (C = 1)", fit_s],
            ["choose C (4 values × 3 inner folds)", choose_s]]


def bench_quality(home: Path, per_class: int, device) -> list:
    from PIL import Image
    from skimage import data

    from artkit.classify import train

    rng = np.random.default_rng(0)
    root = home / "photos"
    for name, photo in (("coffee", data.coffee()), ("astronaut", data.astronaut())):
        (root / name).mkdir(parents=True)
        h, w = photo.shape[:2]
        for i in range(per_class):
            top, left = rng.integers(0, h - 224 + 1), rng.integers(0, w - 224 + 1)
            Image.fromarray(photo[top:top + 224, left:left + 224]).save(root / name / f"{i:03d}.png")
    t = time.perf_counter()
    clf = train(root, folds=5, seed=0, device=device)
    first = time.perf_counter() - t
    t = time.perf_counter()
    train(root, folds=5, seed=0, device=device)
    second = time.perf_counter() - t
    rep = clf.report
    acc, zr = rep["accuracy"], rep["zeror"]
    print(f"quality   coffee vs astronaut, {per_class} random 224² crops each, "
          f"{rep['folds']}-fold nested CV: accuracy {acc['mean']:.3f} ± {acc['std']:.3f} "
          f"vs ZeroR {zr['accuracy']:.3f}; ECE {rep['ece']:.3f}; C per fold {rep['C_per_fold']}")
    print(f"          train: {first:.1f} s first run, {second:.1f} s again (features cached)")
    return [f"coffee vs astronaut crops ({per_class} each)", acc["mean"], acc["std"], zr["accuracy"],
            rep["ece"], first, second]


def bench_fashion(home: Path, per_class: int, device) -> list | None:
    """A harder offline set: Fashion-MNIST shirts vs T-shirts (needs the fashion-mnist data set)."""
    from PIL import Image

    from artkit.classify import train
    from artkit.explain.fashion import load_split
    from artkit.weights import store

    if not store.is_cached("fashion-mnist"):
        print("fashion   skipped: run `artkit weights fetch fashion-mnist` for this part")
        return None
    x, y = load_split("test")
    root = home / "fashion"
    for label, name in ((0, "tshirt"), (6, "shirt")):
        (root / name).mkdir(parents=True)
        for i in (y == label).nonzero().flatten()[:per_class].tolist():
            arr = (x[i, 0].numpy() * 255).astype(np.uint8)
            Image.fromarray(arr).convert("RGB").save(root / name / f"{i}.png")
    t = time.perf_counter()
    rep = train(root, folds=5, seed=0, device=device).report
    seconds = time.perf_counter() - t
    acc, zr = rep["accuracy"], rep["zeror"]
    print(f"fashion   shirt vs T-shirt (Fashion-MNIST test, {per_class} each, 28² grey upscaled), "
          f"5-fold: accuracy {acc['mean']:.3f} ± {acc['std']:.3f} vs ZeroR {zr['accuracy']:.3f}; "
          f"ECE {rep['ece']:.3f}; {seconds:.1f} s "
          f"(DeepDoggo, good vs bad dogs: 0.730 vs ZeroR 0.619)")
    return [f"Fashion-MNIST shirt vs T-shirt ({per_class} each)", acc["mean"], acc["std"],
            zr["accuracy"], rep["ece"], seconds, None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-class", type=int, default=64)
    parser.add_argument("--fashion-per-class", type=int, default=250)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from artkit.core.runtime import resolve_device

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}")
    load = os.getloadavg()[0]
    rate, source = bench_features(device, args.repeats)
    real_weights = Path(_real_home()) / "weights"
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "weights").symlink_to(real_weights, target_is_directory=True)
        os.environ["ARTKIT_HOME"] = str(home)  # keep the user's feature cache untouched
        head_rows = bench_head(home)
        quality = [bench_quality(home, args.per_class, device),
                   bench_fashion(home, args.fashion_per_class, device)]
    tables = [
        table(f"feature extraction, EfficientNet-Lite0 ({source}), batch 16 at 224², "
              f"{torch.get_num_threads()} threads", ["images/s"], [[rate]]),
        table("feature cache and head", ["step", "seconds"], head_rows),
        table("nested 5-fold cross-validation against ZeroR (DeepDoggo, good vs bad dogs: 0.730 "
              "vs ZeroR 0.619)", ["set", "accuracy", "± std", "ZeroR", "ECE", "train s",
                                 "again s (cached)"], [q for q in quality if q is not None]),
    ]
    save_results("classify", tables, command="python benchmarks/classify.py " + " ".join(sys.argv[1:]),
                 notes=[f"load average at start: {load:.1f}, at end: {os.getloadavg()[0]:.1f}"])


if __name__ == "__main__":
    main()

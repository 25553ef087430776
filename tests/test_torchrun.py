"""Scaling out on torch.distributed (issue 19): two processes on CPU with gloo on 127.0.0.1.

Each launch starts its ranks the way torchrun does (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``
...); a rank script imports torch and artkit once and runs every training command's library
path, so that one launch of two processes and one of a single process cover them all:

* data-parallel training (colorize, jazz, biaxial) gives the weights one process gives, for
  the same global batches and seed;
* checkpoints written by two processes resume in one;
* classify's sharded features equal one process's, and rank 0 alone fits the head;
* explain's pattern statistics, summed by one all-reduce, equal one process's;

and the command line under two processes: rank 0 alone writes a trained model and prints;
a folder batch writes each output exactly once (each by the rank that made it) and a rerun
skips what is done; a checkpoint of one process resumes in two.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from ranks import launch




def ok(results: list[subprocess.CompletedProcess]) -> None:
    assert all(r.returncode == 0 for r in results), \
        "\n".join(f"rank {i}: {r.stderr[-1500:]}" for i, r in enumerate(results))


# ------------------------------------------------------------------------ the library paths

RANKS = r"""
import json, os, shutil, sys
from pathlib import Path
import torch
from safetensors.torch import save_file
from artkit.core import distributed as D

w, dev = D.setup("cpu")
torch.set_num_threads(1)
torch.manual_seed(0)  # the untrained test backbone's weights: the same in every process
tag = f"w{w.size}"
out = {}  # name -> tensor, written by rank 0

def gen():
    return torch.Generator().manual_seed(0)

# colorize: two epochs straight; interrupted after one epoch's checkpoint; with one process,
# resume the checkpoint two processes wrote
from artkit.color.model import ColorModelConfig
from artkit.color.training import TrainConfig, train as color_train
cfg = dict(size=32, batch=4, crops_per_image=2, model=ColorModelConfig(backbone="tiny", dim=8))
res = color_train("photos", config=TrainConfig(epochs=2, **cfg), device=dev, generator=gen(),
                  pretrained=False)
out |= {f"color.{k}": v for k, v in res.model.decoder.state_dict().items()}
out["color.losses"] = torch.tensor(res.epoch_losses, dtype=torch.float64)
probe = torch.rand(2, 1, 32, 32, generator=gen()) * 100  # (2, 1, 32, 32) lightness
with torch.no_grad():
    out["colorout"] = res.model.eval()(probe)  # (2, 2, 8, 8) predicted ab
def stop(event):  # Ctrl-C in the second epoch, after the first one's checkpoint
    if event.total and event.completed > event.total / 2:
        raise KeyboardInterrupt
try:
    color_train("photos", config=TrainConfig(epochs=2, **cfg), checkpoint=f"color-{tag}.ckpt",
                device=dev, generator=gen(), pretrained=False, progress=stop)
except KeyboardInterrupt:
    pass
if w.size == 1:
    shutil.copy("color-w2.ckpt", "color-resumed.ckpt")
    res = color_train("photos", config=TrainConfig(epochs=2, **cfg), checkpoint="color-resumed.ckpt",
                      resume=True, device=dev, generator=gen(), pretrained=False)
    out |= {f"color-resumed.{k}": v for k, v in res.model.decoder.state_dict().items()}
    with torch.no_grad():
        out["colorout-resumed"] = res.model.eval()(probe)

# music: jazz and biaxial, two epochs; one epoch to a checkpoint, resumed (one process) to two
from artkit.music.train import train as music_train
for kind in ("jazz", "biaxial"):
    m = music_train(["music"], model=kind, size="tiny", epochs=2, device=dev, generator=gen())
    out |= {f"{kind}.{k}": v for k, v in m.net.state_dict().items()}
    music_train(["music"], model=kind, size="tiny", epochs=1, checkpoint=f"{kind}-{tag}.ckpt",
                device=dev, generator=gen())
    if w.size == 1:
        for src in ("w1", "w2"):
            shutil.copy(f"{kind}-{src}.ckpt", f"{kind}-{src}-resumed.ckpt")
            m = music_train(["music"], model=kind, size="tiny", epochs=2, resume=True,
                            checkpoint=f"{kind}-{src}-resumed.ckpt", device=dev, generator=gen())
            out |= {f"{kind}-{src}-resumed.{k}": v for k, v in m.net.state_dict().items()}

# classify: features sharded and gathered; the head on rank 0 alone
import artkit.nets
class Fake(torch.nn.Module):
    def features(self, x):  # (B, 3, H, W) -> (B, 1280)
        proj = torch.randn(6, 1280, generator=torch.Generator().manual_seed(0))
        return torch.cat([x.mean((2, 3)), x.std((2, 3))], 1) @ proj
artkit.nets.load_efficientnet = lambda device="cpu": Fake()
from artkit.classify.api import scan_dataset, train as classify_train
from artkit.classify.features import extract_features
labels, files = scan_dataset("labels")
fs = extract_features([p for lab in labels for p in files[lab]], use_cache=False)
out["classify.features"] = fs.features
out["classify.paths"] = torch.tensor([len(str(p)) for p in fs.paths])
clf = classify_train("labels", folds=2, seed=0, device=dev)
if w.is_main:
    out["classify.weight"] = clf.head.weight
json.dump({"clf_none": clf is None, "skipped": [str(p) for p, _ in fs.skipped]},
          open(f"rank{w.rank}-{tag}.json", "w"))

# explain: pattern statistics of a tiny CNN, each rank its share of the units
from artkit.explain.api import fit
from artkit.explain.models import Explainable, FashionCNN
torch.manual_seed(0)
net = FashionCNN(width=4, hidden=8).eval()
ex = Explainable("tiny", net, [str(i) for i in range(10)],
                 lambda img: torch.tensor(list(img.convert("L").resize((28, 28)).getdata()),
                                          dtype=torch.float32).view(1, 1, 28, 28) / 255,
                 image_size=28)
pats = fit(ex, "gray", crops=2, positions=8, generator=gen())
out |= {f"explain.{k}": v for k, v in pats.tensors().items()}
out["explain.images"] = torch.tensor([pats.meta["images"]])
if w.is_main:
    save_file({k: v.detach().contiguous() for k, v in out.items()}, f"lib-{tag}.safetensors")
D.teardown()
"""


def _colour_photo(path: Path, seed: int, size=(56, 48)) -> None:
    rng = np.random.default_rng(seed)
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    arr[:, : size[0] // 2] = (200, 40 + 30 * seed, 30)
    arr[:, size[0] // 2:] = (30, 60, 200 - 20 * seed)
    arr = np.clip(arr.astype(int) + rng.integers(-20, 20, arr.shape), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)


def _song(path: Path, seed: int) -> None:
    """A 4/4 melody over chords (MIDI) written with music21."""
    from music21 import chord, meter, note, stream

    rng = np.random.default_rng(seed)
    melody, chords = stream.Part(), stream.Part()
    melody.append(meter.TimeSignature("4/4"))
    chords.append(meter.TimeSignature("4/4"))
    roots = [60, 65, 67, 60, 62, 67, 60, 65]
    for bar, root in enumerate(roots):
        chords.append(chord.Chord([root - 12, root - 8, root - 5], quarterLength=4))
        for _ in range(4):
            melody.append(note.Note(int(root + rng.choice([0, 2, 4, 7, 9, 12])),
                                    quarterLength=1))
    score = stream.Score([melody, chords])
    score.write("midi", fp=str(path))


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """The inputs every launch shares: colour photos, gray photos, songs, labelled photos."""
    root = tmp_path_factory.mktemp("scale")
    for sub in ("photos", "gray", "music", "labels/red", "labels/blue"):
        (root / sub).mkdir(parents=True)
    for i in range(3):
        _colour_photo(root / "photos" / f"p{i}.png", i)
    for i in range(20):
        g = np.random.default_rng(i).integers(0, 255, (20 + i % 5, 24), dtype=np.uint8)
        Image.fromarray(g).save(root / "gray" / f"g{i:02d}.png")
    for i in range(4):
        _song(root / "music" / f"s{i}.mid", i)
    for i in range(5):
        for label, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
            arr = np.clip(np.array(colour) + np.random.default_rng(i).integers(-25, 25, (16, 16, 3)),
                          0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / "labels" / label / f"{label}{i}.png")
    (root / "ranks.py").write_text(textwrap.dedent(RANKS))
    return root


# Biases that a GroupNorm follows have a gradient of exactly zero in exact arithmetic: Adam
# turns the rounding noise of their gradients (~1e-9) into steps of ±lr, in one process as in
# two, so they wander apart by ~lr while the function the network computes does not change.
NORMALISED_AWAY = {"gray.bias", "proj.0.bias", "proj.1.bias", "proj.2.bias", "refine.2.bias"}


def _colour_key(key: str) -> bool:
    return key.split(".", 1)[1] in NORMALISED_AWAY if key.startswith("color") else False


def test_two_processes_train_and_fit_like_one(job):
    ok(launch(["ranks.py"], 2, job, timeout=120))  # first: its checkpoints are resumed below
    ok(launch(["ranks.py"], 1, job, timeout=120))
    two, one = load_file(job / "lib-w2.safetensors"), load_file(job / "lib-w1.safetensors")
    assert set(two) <= set(one)
    for key in two:
        a, b = two[key].double(), one[key].double()
        if key.startswith("explain."):  # float64 sums in another order
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-9), key
        elif key.startswith("classify."):
            assert torch.equal(a, b), key
        elif key == "colorout":  # the colours predicted for a probe, in ab units (±110)
            assert (a - b).abs().max() <= 1e-3, float((a - b).abs().max())
        elif not _colour_key(key):
            assert (a - b).abs().max() <= 1e-5, (key, float((a - b).abs().max()))
    assert int(two["explain.images"]) == 40  # every input once: 20 images, 2 crops each
    # a checkpoint two processes wrote continues in one as one process's own checkpoint does
    for key in [k for k in one if k.startswith("color.") and k != "color.losses"]:
        diff = (one[key] - one["color-resumed." + key[len("color."):]]).abs().max()
        assert _colour_key(key) or diff <= 1e-5, (key, float(diff))
    assert (one["colorout"] - one["colorout-resumed"]).abs().max() <= 1e-3
    for kind in ("jazz", "biaxial"):
        for key in [k for k in one if k.startswith(f"{kind}-w1-resumed.")]:
            other = key.replace("-w1-", "-w2-")
            assert (one[key] - one[other]).abs().max() <= 1e-5, key
    ranks = [json.loads((job / f"rank{r}-w2.json").read_text()) for r in range(2)]
    assert ranks[0]["clf_none"] is False and ranks[1]["clf_none"] is True


# ------------------------------------------------------------------------ the command line


def test_cli_under_two_processes(job, tmp_path):
    art = ["-m", "artkit"]
    train = ["colorize", "train", str(job / "photos"), "-o", "m.safetensors", "--size", "32",
             "--batch", "4", "--crops", "2", "--backbone", "tiny", "--device", "cpu"]
    from typer.testing import CliRunner

    from artkit.cli import app

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:  # one process, in this one: the checkpoint the two processes resume
        res = CliRunner().invoke(app, train + ["--epochs", "1", "-q"])
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    res = launch(art + train + ["--epochs", "2", "--resume", "--force"], 2, tmp_path)  # 1 → 2
    ok(res)
    assert "wrote m.safetensors" in res[0].stderr and res[1].stderr == "" and res[1].stdout == ""
    manifest = json.loads((tmp_path / "m.json").read_text())
    assert manifest["extra"]["processes"] == 2 and len(manifest["extra"]["epoch_losses"]) == 2
    # a folder batch: every output once, by the rank that made it; a rerun skips them
    batch = ["colorize", str(job / "gray"), "-o", "out", "--model", "m.safetensors",
             "--device", "cpu"]
    res = launch(art + batch, 2, tmp_path)
    ok(res)
    made = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert made == [f"g{i:02d}.png" for i in range(20)]
    assert "20 input(s) done by 2 processes (10, 10 by rank)" in res[0].stderr
    assert res[1].stderr == ""
    inputs = {json.loads((tmp_path / "out" / f"g{i:02d}.json").read_text())["extra"]["input"]
              for i in range(20)}
    assert len(inputs) == 20
    (tmp_path / "out" / "g03.png").unlink()  # one output gone, with its manifest
    (tmp_path / "out" / "g03.json").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    res = launch(art + batch, 2, tmp_path)
    ok(res)
    assert "skipping 19 photo(s)" in res[0].stderr and "1 input(s) done" in res[0].stderr
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    assert {k for k in after if after[k] != before.get(k)} == {"g03.png", "g03.json"}
    # an output that exists without its manifest is not artkit's: one error, from rank 0
    (tmp_path / "out" / "g05.json").unlink()
    res = launch(art + batch, 2, tmp_path)
    assert [r.returncode for r in res] == [1, 1]
    assert res[0].stderr.strip().splitlines() == [
        "skipping 19 photo(s) coloured by an earlier run with the same settings (--force "
        "redoes them)",
        f"error: output image '{Path('out') / 'g05.png'}' already exists (use --force to "
        "overwrite it, or choose another name)"]
    assert res[1].stderr == ""


def test_a_dead_rank_ends_the_job_with_one_clear_line(job, tmp_path):
    """Rank 1 dies inside training; rank 0 stops at the next all-reduce instead of hanging."""
    script = tmp_path / "die.py"
    script.write_text(textwrap.dedent("""
        import os, sys
        import artkit.core.distributed as D
        real = D.all_reduce_gradients
        def dying(module):
            if D.world().rank == 1:
                os._exit(3)
            return real(module)
        D.all_reduce_gradients = dying
        sys.argv = ["artkit", "colorize", "train", sys.argv[1], "-o", "m.safetensors",
                    "--size", "32", "--batch", "4", "--crops", "2", "--backbone", "tiny",
                    "--device", "cpu", "--epochs", "1"]
        from artkit.cli import main
        main()
    """))
    res = launch([str(script), str(job / "photos")], 2, tmp_path, timeout=90,
                 env={"ARTKIT_DIST_TIMEOUT": "5"})
    assert res[1].returncode == 3 and res[0].returncode == 1
    lines = res[0].stderr.strip().splitlines()
    assert len(lines) == 1 and "another process stopped" in lines[0], res[0].stderr[-800:]
    assert not (tmp_path / "m.safetensors").exists()


def test_explain_show_a_folder_under_two_processes(job, tmp_path):
    """``explain show DIR``: each picture once, by the rank that made it."""
    argv = ["-m", "artkit", "explain", "show", str(job / "gray"), "--model", "fashion-cnn",
            "--method", "patternattribution", "-o", "ex", "--device", "cpu"]
    res = launch(argv, 2, tmp_path)
    ok(res)
    assert sorted(p.name for p in (tmp_path / "ex").glob("*.png")) == \
        [f"g{i:02d}.png" for i in range(20)]
    assert "20 input(s) done by 2 processes (10, 10 by rank)" in res[0].stderr
    assert res[1].stderr == ""
    manifest = json.loads((tmp_path / "ex" / "g07.json").read_text())
    assert manifest["extra"]["input"] == str(job / "gray" / "g07.png")
    assert manifest["extra"]["processes"] == 2

"""Scaling out on torch.distributed (issue 19): two processes on CPU with gloo on 127.0.0.1.

Starting a process costs seconds here (the interpreter, torch, artkit), so the suite starts
few: each launch starts its ranks the way torchrun does (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` ...) and checks many things.

The library launch runs every training command's library path in two processes, then — the
group left, as outside torchrun — in one process on rank 0:

* data-parallel training (colorize, jazz, biaxial) gives the weights one process gives, for
  the same global batches and seed;
* checkpoints written by two processes resume in one;
* classify's sharded features equal one process's, and rank 0 alone fits the head;
* explain's pattern statistics, summed by one all-reduce, equal one process's.

The command-line launch runs commands one after another in both processes: a checkpoint of
one process resumes in two and rank 0 alone writes the model and prints; folder batches
(``colorize DIR``, ``explain show DIR``, ``doodle batch JOBS.toml``) write each output exactly
once, each by the rank that made it, and a rerun skips what is done; an output that is not
artkit's is one error from rank 0; a rank that dies ends the job with one clear line.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from ranks import free_ports, launch


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

def gen():
    return torch.Generator().manual_seed(0)

def work(w, dev):  # every library path once, as w; rank 0 writes lib-w{size}.safetensors
    torch.manual_seed(0)  # the untrained test backbone's weights: the same in every run
    tag = f"w{w.size}"
    out = {}  # name -> tensor, written by rank 0

    # core.distributed: a small network on each rank's share of the same global batches; the
    # collectives
    g = gen()
    x, y = torch.randn(24, 5, generator=g), torch.randn(24, 1, generator=g)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    net.load_state_dict({k: torch.full_like(v, 0.1) * (i + 1)
                         for i, (k, v) in enumerate(net.state_dict().items())})
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for epoch in range(3):
        for idx, n in D.batch_indices(24, 8, epoch, seed=3, w=w):
            opt.zero_grad()
            (((net(x[idx]) - y[idx]) ** 2).sum() / n).backward()
            sent = D.all_reduce_gradients(net)
            opt.step()
    out |= {f"core.{k}": v for k, v in net.state_dict().items()}
    stats = D.all_reduce(torch.tensor([float(w.rank + 1)], dtype=torch.float64))
    rows = D.gather_rows(torch.full((w.rank + 1, 2), float(w.rank)))
    gathered = D.all_gather_objects({"rank": w.rank})
    bcast = D.broadcast_object("from-0" if w.is_main else "other")
    if w.is_main:
        json.dump({"sent": sent, "stats": stats.item(), "rows": [r.tolist() for r in rows],
                   "gathered": gathered, "bcast": bcast}, open(f"core-{tag}.json", "w"))

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


import artkit.nets
REAL_EFFICIENTNET = artkit.nets.load_efficientnet  # classify's part replaces it
w, dev = D.setup("cpu")
torch.set_num_threads(1)
work(w, dev)  # two processes
D.teardown()
if w.is_main:  # then one process, as outside torchrun: no group, every collective a no-op
    assert D.active() == D.World()
    work(D.World(), torch.device("cpu"))
artkit.nets.load_efficientnet = REAL_EFFICIENTNET
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


RED, BLUE = (255, 0, 0), (0, 0, 255)
DOODLE_JOBS = """
[defaults]
engine = "patch"
size = "40x32"
""" + "".join(f"""
[[job]]
style = "style{i % 2}.png"
map = "map{i}.png"
output = "out/painting{i}.png"
seed = {i}
""" for i in range(4))


def _halves(left, right, size=(56, 48)) -> np.ndarray:
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    arr[:, : size[0] // 2], arr[:, size[0] // 2:] = left, right
    return arr


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """The inputs every launch shares: colour photos, gray photos, songs, labelled photos."""
    root = tmp_path_factory.mktemp("scale")
    for sub in ("photos", "gray", "music", "labels/red", "labels/blue", "doodle"):
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
    for i in range(4):  # doodles: a two-colour painting, its map and maps that swap the halves
        _colour_photo(root / "doodle" / f"style{i % 2}.png", i % 2)
    for name in ("style0", "style1"):
        Image.fromarray(_halves(RED, BLUE)).save(root / "doodle" / f"{name}_sem.png")
    for i in range(4):
        Image.fromarray(_halves(BLUE, RED)[:, :: 1 if i % 2 else -1]).save(
            root / "doodle" / f"map{i}.png")
    (root / "doodle" / "jobs.toml").write_text(DOODLE_JOBS)
    (root / "doodle" / "bad.toml").write_text(DOODLE_JOBS.replace("seed = 2", "sed = 2"))
    return root


# Biases that a GroupNorm follows have a gradient of exactly zero in exact arithmetic: Adam
# turns the rounding noise of their gradients (~1e-9) into steps of ±lr, in one process as in
# two, so they wander apart by ~lr while the function the network computes does not change.
NORMALISED_AWAY = {"gray.bias", "proj.0.bias", "proj.1.bias", "proj.2.bias", "refine.2.bias"}


def _colour_key(key: str) -> bool:
    return key.split(".", 1)[1] in NORMALISED_AWAY if key.startswith("color") else False


def test_two_processes_train_and_fit_like_one(launched):
    job = launched.folder
    assert (job / "lib-w1.safetensors").exists(), launched.stderr[0][-3000:]
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
    ranks = [json.loads((job / f"rank{r}-w2.json").read_text()) for r in range(2)]
    assert ranks[0]["clf_none"] is False and ranks[1]["clf_none"] is True
    core = json.loads((job / "core-w2.json").read_text())  # the collectives, two processes
    assert core["sent"] == 4 * (5 * 8 + 8 + 8 + 1) and core["stats"] == 3.0
    assert core["rows"] == [[[0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]]
    assert core["gathered"] == [{"rank": 0}, {"rank": 1}] and core["bcast"] == "from-0"
    core = json.loads((job / "core-w1.json").read_text())  # one process: nothing sent
    assert core["sent"] == 0 and core["stats"] == 1.0 and core["gathered"] == [{"rank": 0}]


def test_checkpoints_resume_across_world_sizes(launched):
    """A checkpoint two processes wrote continues in one as one process's own checkpoint does
    (and the command line below resumes one process's checkpoint in two)."""
    one = load_file(launched.folder / "lib-w1.safetensors")
    for key in [k for k in one if k.startswith("color.") and k != "color.losses"]:
        diff = (one[key] - one["color-resumed." + key[len("color."):]]).abs().max()
        assert _colour_key(key) or diff <= 1e-5, (key, float(diff))
    assert (one["colorout"] - one["colorout-resumed"]).abs().max() <= 1e-3
    for kind in ("jazz", "biaxial"):
        keys = [k for k in one if k.startswith(f"{kind}-w1-resumed.")]
        assert keys
        for key in keys:
            other = key.replace("-w1-", "-w2-")
            assert (one[key] - one[other]).abs().max() <= 1e-5, key


# ------------------------------------------------------------------------ the command line

# Then, in the same launch, the commands one after another in each of the two processes, as
# torchrun would start each (every command joins its own process group, on its own port), with
# a barrier between them; in the last one rank 1 dies inside training.
COMMANDS = r"""
import time
from artkit.cli import app

RANK, SIZE = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
PORTS = os.environ["TEST_PORTS"].split(",")
JOB = Path(os.environ["JOB"])
TRAIN = ["colorize", "train", str(JOB / "photos"), "-o", "m.safetensors", "--size", "32",
         "--batch", "4", "--crops", "2", "--backbone", "tiny", "--device", "cpu"]
BATCH = ["colorize", str(JOB / "gray"), "-o", "out", "--model", "m.safetensors", "--device", "cpu"]

def sync(name):
    Path(f"sync-{name}-{RANK}").touch()
    deadline = time.monotonic() + 120
    while not all(Path(f"sync-{name}-{r}").exists() for r in range(SIZE)):
        if time.monotonic() > deadline:
            sys.exit(f"rank {RANK}: the other process never reached {name}")
        time.sleep(0.05)

def step(k, name, argv):
    os.environ["MASTER_PORT"] = PORTS[k]
    print(f"@@step {name}", file=sys.stderr, flush=True)
    try:
        app(args=argv, prog_name="artkit")
        rc = 0
    except SystemExit as exc:
        rc = exc.code or 0
    sys.stdout.flush()
    print(f"@@rc {rc}", file=sys.stderr, flush=True)

def mtimes():
    return {p.name: p.stat().st_mtime_ns for p in Path("out").iterdir()}

sync("library")
step(0, "train", TRAIN + ["--epochs", "2", "--resume", "--force"])  # one process's checkpoint
sync("train")
step(1, "batch", BATCH)
if RANK == 0:  # one output gone, with its manifest
    Path("out/g03.png").unlink()
    Path("out/g03.json").unlink()
    json.dump(mtimes(), open("before.json", "w"))
sync("batch")
step(2, "rerun", BATCH)
if RANK == 0:
    json.dump(mtimes(), open("after.json", "w"))
    Path("out/g05.json").unlink()  # an output without its manifest is not artkit's
sync("rerun")
step(3, "foreign", BATCH)
sync("foreign")
step(4, "explain", ["explain", "show", str(JOB / "gray"), "--model", "fashion-cnn",
                    "--method", "patternattribution", "-o", "ex", "--device", "cpu"])
sync("explain")
step(5, "doodle", ["doodle", "batch", str(JOB / "doodle" / "jobs.toml"), "--device", "cpu"])
step(6, "badjobs", ["doodle", "batch", str(JOB / "doodle" / "bad.toml"), "--device", "cpu"])
sync("doodle")
os.environ["ARTKIT_DIST_TIMEOUT"] = "5"
real = D.all_reduce_gradients
def dying(module):
    if D.world().rank == 1:
        os._exit(3)
    return real(module)
D.all_reduce_gradients = dying
step(7, "dies", TRAIN + ["-o", "dead.safetensors", "--epochs", "1"])
"""


def _steps(stderr: str) -> dict[str, tuple[int | None, str]]:
    """``{step: (exit status or None when the process ended inside it, its stderr)}``."""
    found = {}
    for chunk in stderr.split("@@step ")[1:]:
        name, _, rest = chunk.partition("\n")
        text, _, rc = rest.partition("@@rc ")
        found[name] = (int(rc.strip()) if rc.strip() else None, text)
    return found


class Launched(NamedTuple):
    folder: Path  # the inputs, and every output
    steps: list[dict[str, tuple[int | None, str]]]  # by rank: {command: (status, stderr)}
    codes: list[int]  # exit statuses by rank
    stderr: list[str]


@pytest.fixture(scope="module")
def launched(job) -> Launched:
    """One process trains a colouriser for an epoch (in this one), then the one launch of two
    processes: the library paths, then the commands."""
    from typer.testing import CliRunner

    from artkit.cli import app

    argv = ["colorize", "train", str(job / "photos"), "-o", str(job / "m.safetensors"), "--size",
            "32", "--batch", "4", "--crops", "2", "--backbone", "tiny", "--device", "cpu",
            "--epochs", "1", "-q"]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 0, res.output
    (job / "ranks.py").write_text(textwrap.dedent(RANKS) + textwrap.dedent(COMMANDS))
    ranks = launch(["ranks.py"], 2, job, timeout=300,
                   env={"JOB": str(job), "TEST_PORTS": ",".join(map(str, free_ports(8)))})
    return Launched(job, [_steps(r.stderr) for r in ranks], [r.returncode for r in ranks],
                    [r.stderr for r in ranks])


def test_training_resumes_one_process_in_two_and_rank_0_alone_writes(launched):
    cwd, (zero, one) = launched.folder, launched.steps
    assert zero["train"][0] == 0 and one["train"][0] == 0, zero["train"][1] + one["train"][1]
    assert "wrote m.safetensors" in zero["train"][1] and one["train"][1] == ""
    manifest = json.loads((cwd / "m.json").read_text())
    assert manifest["extra"]["processes"] == 2 and len(manifest["extra"]["epoch_losses"]) == 2


def test_a_folder_batch_writes_each_output_once_and_a_rerun_skips_them(launched):
    cwd, (zero, one) = launched.folder, launched.steps
    assert zero["batch"][0] == 0 and one["batch"][0] == 0, zero["batch"][1] + one["batch"][1]
    made = sorted(p.name for p in (cwd / "out").glob("*.png"))
    assert made == [f"g{i:02d}.png" for i in range(20)]
    assert "20 input(s) done by 2 processes (10, 10 by rank)" in zero["batch"][1]
    assert one["batch"][1] == ""
    inputs = {json.loads((cwd / "out" / f"g{i:02d}.json").read_text() if i != 5 else "{}")
              .get("extra", {}).get("input") for i in range(20) if i != 5}
    assert len(inputs) == 19
    # the rerun: only the output that was removed is made again
    assert zero["rerun"][0] == 0 and one["rerun"][0] == 0, zero["rerun"][1]
    assert "skipping 19 photo(s)" in zero["rerun"][1] and "1 input(s) done" in zero["rerun"][1]
    before = json.loads((cwd / "before.json").read_text())
    after = json.loads((cwd / "after.json").read_text())
    assert {k for k in after if after[k] != before.get(k)} == {"g03.png", "g03.json"}


def test_an_output_without_its_manifest_is_one_error_from_rank_0(launched):
    zero, one = launched.steps
    assert (zero["foreign"][0], one["foreign"][0]) == (1, 1)
    assert zero["foreign"][1].strip().splitlines() == [
        "skipping 19 photo(s) coloured by an earlier run with the same settings (--force "
        "redoes them)",
        f"error: output image '{Path('out') / 'g05.png'}' already exists (use --force to "
        "overwrite it, or choose another name)"]
    assert one["foreign"][1] == ""


def test_explain_show_a_folder_under_two_processes(launched, job):
    """``explain show DIR``: each picture once, by the rank that made it."""
    cwd, (zero, one) = launched.folder, launched.steps
    assert zero["explain"][0] == 0 and one["explain"][0] == 0, zero["explain"][1]
    assert sorted(p.name for p in (cwd / "ex").glob("*.png")) == \
        [f"g{i:02d}.png" for i in range(20)]
    assert "20 input(s) done by 2 processes (10, 10 by rank)" in zero["explain"][1]
    assert one["explain"][1] == ""
    manifest = json.loads((cwd / "ex" / "g07.json").read_text())
    assert manifest["extra"]["input"] == str(job / "gray" / "g07.png")
    assert manifest["extra"]["processes"] == 2


def test_doodle_batch_paints_each_job_once_under_two_processes(launched, job):
    """``doodle batch JOBS.toml``: jobs 0 and 2 on rank 0, 1 and 3 on rank 1, each written
    with its manifest by the rank that painted it."""
    zero, one = launched.steps
    assert zero["doodle"][0] == 0 and one["doodle"][0] == 0, zero["doodle"][1] + one["doodle"][1]
    out = job / "doodle" / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"painting{i}{ext}" for i in range(4) for ext in (".png", ".json"))
    assert "4 input(s) done by 2 processes (2, 2 by rank)" in zero["doodle"][1]
    assert one["doodle"][1] == ""
    # a mistake in the job file: one line, from rank 0, before any work
    assert (zero["badjobs"][0], one["badjobs"][0]) == (1, 1) and one["badjobs"][1] == ""
    assert zero["badjobs"][1].strip().splitlines() == [
        f"error: {job / 'doodle' / 'bad.toml'} job 3: unknown key 'sed' (did you mean 'seed'?)"]
    # each job has its own generator: one process (at the ranks' one thread) paints the same
    from typer.testing import CliRunner

    from artkit.cli import app

    (job / "doodle" / "one.toml").write_text(DOODLE_JOBS.replace("out/", "one/"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = CliRunner().invoke(app, ["doodle", "batch", str(job / "doodle" / "one.toml"),
                                       "--device", "cpu", "-q"])
    finally:
        torch.set_num_threads(threads)
    assert res.exit_code == 0, res.output
    for i in range(4):
        manifest = json.loads((out / f"painting{i}.json").read_text())
        assert manifest["extra"]["processes"] == 2 and manifest["seed"] == i
        assert manifest["params"]["map"] == str(job / "doodle" / f"map{i}.png")
        two = np.asarray(Image.open(out / f"painting{i}.png"))
        assert two.shape == (32, 40, 3)
        assert np.array_equal(two, np.asarray(Image.open(job / "doodle" / "one" / f"painting{i}.png")))


def test_a_dead_rank_ends_the_job_with_one_clear_line(launched):
    """Rank 1 dies inside training; rank 0 stops at the next all-reduce instead of hanging."""
    cwd, (zero, one), codes = launched.folder, launched.steps, launched.codes
    assert codes == [1, 3] and one["dies"][0] is None
    lines = zero["dies"][1].strip().splitlines()
    assert zero["dies"][0] == 1 and len(lines) == 1, zero["dies"][1][-800:]
    assert lines[0].startswith("error: rank 0:") and "another process stopped" in lines[0]
    assert not (cwd / "dead.safetensors").exists()

"""Training returns a model (writing only its checkpoints); model files are artifacts checked on
load; the same seed trains the same weights; resuming continues a run."""

import json
import shutil

import pytest
import torch

from artkit.core.artifacts import load_artifact, peek_kind, save_artifact
from artkit.core.errors import ArtkitError
from artkit.core.progress import Collector
from artkit.music import JazzModel, load_model, train, upgrade_model
from artkit.music.grammar import BAR
from artkit.music.model import JazzConfig, JazzLSTM


def test_train_returns_the_model_and_writes_only_its_checkpoint(tiny):
    model, path = tiny
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny.ckpt.safetensors", "tiny.safetensors"]
    assert peek_kind(path) == "jazz-model" and peek_kind(path.with_name("tiny.ckpt.safetensors")) == "checkpoint"
    meta = load_artifact(path, "jazz-model").meta
    assert meta["config"]["hidden"] == 16 and BAR in meta["vocab"] and meta["training"]["pieces"] == 4
    assert len(meta["features"]) == 4 and meta["training"]["harmony"] == {"chord symbols": 4}
    history = model.training["history"]
    assert len(history) == 3 and history[-1]["loss"] < history[0]["loss"]
    assert [n for n, _ in model.skipped] == []


def test_train_without_a_checkpoint_writes_nothing(corpus_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train([str(corpus_dir)], size="tiny", epochs=1, device="auto")      # CUDA where there is one
    assert list(tmp_path.iterdir()) == []


def test_the_same_seed_trains_the_same_weights(corpus_dir):
    def run(seed):      # deepjazz's size: dropout 0.2 between and after the LSTMs
        m = train([str(corpus_dir)], epochs=1, device="cpu", generator=torch.Generator().manual_seed(seed))
        return m.net.state_dict()

    a, b, c = run(5), run(5), run(6)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_a_saved_model_loads_the_same(tiny):
    model, path = tiny
    loaded = JazzModel.load(path)
    ids = torch.tensor([[0, 1, 2, 3]])
    assert torch.equal(loaded.net(ids)[0], model.net.eval()(ids)[0]) and loaded.vocab == model.vocab
    assert len(loaded.sha256) == 64 and load_model(path, device="auto").vocab == model.vocab


def test_resume_continues_from_the_checkpoint(tiny, corpus_dir, tmp_path):
    model, path = tiny
    ck = tmp_path / "run.ckpt.safetensors"
    shutil.copy(path.with_name("tiny.ckpt.safetensors"), ck)
    events = Collector()
    resumed = train([str(corpus_dir)], size="tiny", epochs=5, checkpoint=ck, resume=True,
                    device="cpu", progress=events)
    history = resumed.training["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert history[:3] == model.training["history"]              # the first three were kept
    assert any(e.task == "train" for e in events.events)
    with pytest.raises(ArtkitError, match="no checkpoint"):
        train([str(corpus_dir)], size="tiny", checkpoint=tmp_path / "none.ckpt.safetensors", resume=True)
    with pytest.raises(ArtkitError, match="from a jazz training run, not biaxial"):
        train([str(corpus_dir)], model="biaxial", size="tiny", checkpoint=ck, resume=True)


@pytest.mark.parametrize("kw, match", [
    (dict(epochs=0), "--epochs must be ≥ 1"), (dict(size="original"), "not a jazz model size"),
    (dict(model="lstm"), "--model must be one of"), (dict(lr=-1.0), "--lr must be > 0"),
    (dict(batch_size=0), "--batch-size"),
])
def test_training_settings_are_checked(corpus_dir, kw, match):
    with pytest.raises(ArtkitError, match=match):
        train([str(corpus_dir)], **kw)


def test_train_refuses_bad_sources(tmp_path):
    with pytest.raises(ArtkitError, match="no music files"):
        train([str(tmp_path)], size="tiny")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(ArtkitError, match="no usable piece.*bad.mid"):
        train([str(bad)], size="tiny")


def _tampered(path, tmp_path, *, meta=None, tensors=None):
    art = load_artifact(path, "jazz-model")
    out = tmp_path / "t.safetensors"
    save_artifact(out, {**art.tensors, **(tensors or {})}, kind="jazz-model",
                  meta={**art.meta, **(meta or {})}, force=True)
    return out


def test_model_files_are_checked_before_use(tiny, tmp_path):
    model, path = tiny
    cases = [
        (dict(meta={"vocab": model.vocab[:-1]}), "vocabulary does not match"),
        (dict(meta={"config": {**load_artifact(path, "jazz-model").meta["config"], "hidden": 10**9}}),
         "config does not hold"),
        (dict(meta={"config": {**load_artifact(path, "jazz-model").meta["config"], "hidden": 17}}),
         "its config says"),
        (dict(tensors={"head.bias": torch.full_like(model.net.head.bias, float("nan"))}), "NaN"),
    ]
    for kw, match in cases:
        with pytest.raises(ArtkitError, match=match):
            load_model(_tampered(path, tmp_path, **kw))
    other = save_artifact(tmp_path / "o.safetensors", {"w": torch.ones(2)}, kind="colorize-model")
    with pytest.raises(ArtkitError, match="not a jazz model or biaxial model"):
        load_model(other)
    with pytest.raises(ArtkitError, match="unknown model 'nope'"):
        load_model("nope")


def test_old_format_models_are_upgraded(tiny, tmp_path):
    """A model as an older artkit wrote it — plain weights (one 2-layer LSTM) and its config in
    MODEL.json — loads only through ``upgrade``, with the same weights."""
    from safetensors.torch import save_file

    model, _ = tiny
    old = tmp_path / "old.safetensors"
    legacy = {k: v for k, v in model.net.state_dict().items() if not k.startswith("lstm.")}
    for k in range(2):
        for name, t in model.net.lstm[k].state_dict().items():
            legacy[f"lstm.{name[:-1]}{k}"] = t
    save_file(legacy, str(old))
    config = dict(vocab_size=len(model.vocab), embed=8, hidden=16, layers=2, dropout=0.0,
                  seq_len=20, step=3)
    old.with_suffix(".json").write_text(json.dumps({"model": "jazz", "config": config,
                                                    "vocab": model.vocab, "training": {"pieces": 4}}))
    with pytest.raises(ArtkitError, match="older artkit.*artkit music upgrade"):
        load_model(old)
    new = upgrade_model(old)
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(new.net.eval()(ids)[0], model.net.eval()(ids)[0])
    assert new.training == {"pieces": 4}
    with pytest.raises(ArtkitError, match="not an old-format"):
        upgrade_model(tmp_path / "missing.safetensors")


def test_network_shapes_are_known_without_building_it():
    config = JazzConfig(50, embed=8, hidden=16, layers=3)
    assert JazzLSTM.shapes(config) == {k: tuple(v.shape) for k, v in JazzLSTM(config).state_dict().items()}

"""The real weight sets (marked: they need `artkit weights fetch --all`; each skips when its set
is not cached)."""

import pytest

from artkit.core.provenance import recording
from artkit.weights import REGISTRY, hf_folder, load_state_dict, verify

pytestmark = pytest.mark.weights

FETCHED = [n for n, s in REGISTRY.items() if not s.importable]


@pytest.mark.parametrize("name", FETCHED)
def test_cached_sets_match_the_registry_pins(real_weights, name):
    real_weights(name)
    assert verify(name) == []


def test_state_dicts_load_and_are_recorded(real_weights):
    real_weights("vgg16-hed")
    real_weights("efficientnet-lite0")
    with recording() as used:
        vgg = load_state_dict("vgg16-hed")
        eff = load_state_dict("efficientnet-lite0")
    assert len(vgg) == 26 and tuple(vgg["features.0.weight"].shape) == (64, 3, 3, 3)
    assert len(eff) == 296 and tuple(eff["_fc.weight"].shape) == (1000, 1280)
    assert used == {n: REGISTRY[n].pins["model.safetensors"] for n in ("vgg16-hed", "efficientnet-lite0")}


def test_minilm_embeds(real_weights):
    import torch
    from transformers import AutoModel, AutoTokenizer

    real_weights("minilm-l6")
    with recording() as used:
        folder = hf_folder("minilm-l6")
    assert used == {"minilm-l6": REGISTRY["minilm-l6"].sha256}  # copied as shipped
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    batch = tok(["a cat on a mat", "a kitten on a rug", "stock market report"], padding=True,
                return_tensors="pt")
    with torch.inference_mode():
        h = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1)
    e = torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1), dim=-1)
    assert e.shape == (3, 384)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_smollm_is_stored_compactly(real_weights):
    from safetensors import safe_open

    real_weights("smollm2-135m")
    f = hf_folder("smollm2-135m") / "model.safetensors"
    assert f.stat().st_size < 300e6  # 270 MB in bfloat16, not 538 MB in float32
    with safe_open(str(f), "pt") as st:
        dtypes = {k: st.get_slice(k).get_dtype() for k in st.keys()}  # noqa: SIM118
    assert "lm_head.weight" not in dtypes  # tied to the embedding, stored once
    matrices = {k for k in dtypes if "norm" not in k}
    assert {dtypes[k] for k in matrices} == {"BF16"}
    assert {dtypes[k] for k in set(dtypes) - matrices} == {"F32"}  # norms as shipped


@pytest.mark.slow
def test_smollm_generates(real_weights):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    real_weights("smollm2-135m")
    folder = hf_folder("smollm2-135m")
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = tok("The capital of France is", return_tensors="pt").input_ids
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=4, do_sample=False)
    assert "Paris" in tok.decode(out[0][ids.shape[1]:])

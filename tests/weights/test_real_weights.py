"""The real weight sets load (marked: needs `artkit weights fetch --all`)."""

import pytest

pytestmark = pytest.mark.weights


def test_registry_sets_verify_and_load(real_weights):
    from artkit.weights import hf_folder, load_state_dict, verify

    real_weights("vgg16-hed")
    real_weights("efficientnet-lite0")
    assert verify("vgg16-hed") == [] and verify("efficientnet-lite0") == []
    vgg = load_state_dict("vgg16-hed")
    assert len(vgg) == 26 and tuple(vgg["features.0.weight"].shape) == (64, 3, 3, 3)
    eff = load_state_dict("efficientnet-lite0")
    assert len(eff) == 296 and tuple(eff["_fc.weight"].shape) == (1000, 1280)


def test_minilm_embeds(real_weights):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from artkit.weights import hf_folder

    real_weights("minilm-l6")
    folder = hf_folder("minilm-l6")
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


@pytest.mark.slow
def test_smollm_generates(real_weights):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from artkit.weights import hf_folder

    real_weights("smollm2-135m")
    folder = hf_folder("smollm2-135m")
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = tok("The capital of France is", return_tensors="pt").input_ids
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=4, do_sample=False)
    assert "Paris" in tok.decode(out[0][ids.shape[1]:])

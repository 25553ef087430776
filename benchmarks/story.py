"""``artkit story`` on this machine: speed, memory, grounding, style accuracy, against baselines.

* Speed and memory: one story of ``--speed-length`` words (default 200) about scikit-image's
  cat, end to end in a fresh process state (networks loaded, corpus embeddings from the cache
  when warm), and the process' peak RSS.
* Quality: ``artkit story evaluate`` over offline photos (scikit-image, scikit-learn,
  matplotlib samples) x ``--styles`` in the conditions: full; ``no_facts`` (the same writer
  told only the style); ``no_exemplars`` (facts, the style named but no passages, no style
  opening, no bias); the ablations ``free_opening`` and ``bias``. Prints grounding, style
  accuracy, distinct-2, repeated sentences and length, the full pipeline against both
  baselines, and two of the stories.

Needs the cached weights (efficientnet-lite0, minilm-l6, smollm2-135m) and, for romance,
``artkit weights fetch janeausten``.

Usage:
    python benchmarks/story.py [--photos chelsea,coffee,rocket] [--styles romance,noir,scifi]
        [--length 80] [--speed-length 200] [--threads 2] [--out benchmarks/out/story.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

PHOTOS = ("chelsea", "coffee", "rocket", "astronaut", "china", "flower", "grace_hopper")


def photo(name: str):
    """An offline sample photo as a PIL image."""
    from PIL import Image

    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return Image.fromarray(load_sample_image(f"{name}.jpg"))
    if name == "grace_hopper":
        import matplotlib.cbook as cbook

        return Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")
    import skimage.data

    return Image.fromarray(np.asarray(getattr(skimage.data, name)())).convert("RGB")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def decoding_speed(teller, tokens: int = 150) -> dict:
    """Tokens/s of artkit's decoding loop (float32 prefill, bfloat16 weights per token) against
    the stock path — transformers' ``generate`` on the float32 model — on one story prompt,
    greedy, the same number of new tokens."""
    import torch

    from artkit.story.writer import Writer

    w = teller.writer
    prompt = w.prompt("noir", 100, ["A photo of a cat.", "The main colours are grey and brown."],
                      list(teller.style("noir")[1][:3]), "cat", "grey")
    ids = w.tokenizer(prompt, return_tensors="pt", add_special_tokens=not w.chat)
    t = time.perf_counter()
    text = w.generate(prompt, 10_000, 0.0, 0, max_tokens=tokens)
    made = len(w.tokenizer(text, add_special_tokens=False)["input_ids"])  # may end early
    ours = made / (time.perf_counter() - t)
    stock = Writer(dtype="float32")
    with torch.inference_mode():
        t = time.perf_counter()
        stock.model.generate(**ids, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                             pad_token_id=w.tokenizer.eos_token_id)
        base = tokens / (time.perf_counter() - t)
    print(f"\ndecoding, {ids['input_ids'].shape[1]}-token prompt + {tokens} tokens: artkit "
          f"{ours:.1f} tokens/s vs transformers generate (float32) {base:.1f} tokens/s: "
          f"x{ours / base:.2f}")
    return {"prompt_tokens": int(ids["input_ids"].shape[1]), "new_tokens": tokens,
            "artkit_tokens_per_s": round(ours, 2), "hf_generate_fp32_tokens_per_s": round(base, 2),
            "ratio": round(ours / base, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", default="chelsea,coffee,rocket")
    ap.add_argument("--styles", default="romance,fairytale,noir,scifi,adventure")
    ap.add_argument("--conditions", default="full,no_facts,no_exemplars,free_opening,bias")
    ap.add_argument("--length", type=int, default=80, help="words per story in the evaluation")
    ap.add_argument("--speed-length", type=int, default=200)
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--out", default="benchmarks/out/story.json")
    args = ap.parse_args()

    import torch

    from artkit.core.runtime import set_threads
    from artkit.story.api import Storyteller
    from artkit.story.evaluate import evaluate

    set_threads(args.threads)
    result: dict = {"settings": vars(args), "torch_threads": torch.get_num_threads()}
    t0 = time.perf_counter()
    teller = Storyteller()
    result["load_s"] = round(time.perf_counter() - t0, 2)
    print(f"networks loaded in {result['load_s']:.1f} s")

    if not args.skip_speed:
        im = photo("chelsea")
        teller.style("romance")  # corpus embeddings: computed once per machine, then cached
        t = time.perf_counter()
        story = teller.tell(im, "romance", length=args.speed_length, seed=args.seed,
                            retries=args.retries)
        total = time.perf_counter() - t + result["load_s"]
        result["speed"] = {"words": story.words, "seconds_end_to_end": round(total, 2),
                           "timings": story.timings, "attempts": story.attempts,
                           "title": story.title, "text": story.text,
                           "peak_rss_mb": round(peak_rss_mb(), 1)}
        print(f"\n{story.words}-word romance story: {total:.1f} s end to end (load "
              f"{result['load_s']:.1f} s, {story.attempts} draft(s), {story.timings}); "
              f"peak RSS {peak_rss_mb():.0f} MB")
        print(f"\n# {story.title}\n\n{story.text}\n")

    styles = [s for s in args.styles.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name in [p for p in args.photos.split(",") if p]:
            path = Path(tmp) / f"{name}.png"
            photo(name).save(path)
            files.append(path)
        t = time.perf_counter()
        rep = evaluate(files, styles, teller, length=args.length, seed=args.seed,
                       conditions=[c for c in args.conditions.split(",") if c],
                       retries=args.retries)
        rep["seconds"] = round(time.perf_counter() - t, 1)
    result["evaluation"] = rep
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)

    print(f"\n{len(files)} photos x {len(styles)} styles, {args.length} words "
          f"({rep['seconds']:.0f} s)")
    print(f"{'condition':14} {'n':>3} {'ground':>7} {'style':>7} {'dist-2':>7} {'repeat':>7} "
          f"{'len ok':>7} {'words':>6} {'s/story':>8}")
    for cond, s in rep["summary"].items():
        print(f"{cond:14} {s['n']:3d} {s['grounding']:7.2f} {s['style_accuracy']:7.2f} "
              f"{s['distinct2']:7.3f} {s['repeated_sentences']:7d} {s['length_ok']:7.2f} "
              f"{s['words']:6.0f} {s['seconds']:8.1f}")
    summ = rep["summary"]
    if "full" in summ:
        for base in ("no_facts", "no_exemplars"):
            if base in summ:
                f, b = summ["full"], summ[base]
                print(f"full vs {base}: grounding {f['grounding']:.2f} vs {b['grounding']:.2f} "
                      f"({f['grounding'] - b['grounding']:+.2f}), style accuracy "
                      f"{f['style_accuracy']:.2f} vs {b['style_accuracy']:.2f} "
                      f"({f['style_accuracy'] - b['style_accuracy']:+.2f})")
    print(f"peak RSS {result['peak_rss_mb']:.0f} MB")
    full = [r for r in rep["stories"] if r["condition"] == "full"]
    for r in full[:2]:
        print(f"\n[{r['photo']}, {r['style']}; grounded {r['grounded']}, read as "
              f"{r['predicted_style']}]\n# {r['title']}\n\n{r['text']}")
    if not args.skip_speed:
        result["decoding"] = decoding_speed(teller)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()

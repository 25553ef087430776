"""``artkit story`` on this machine: subject naming, grounding, style accuracy, speed, memory.

Three parts, each its own flag:

* ``--build DIR``: the labelled photo set, rebuilt from offline packages into DIR (33 photos, 11
  with people) plus a disjoint calibration set (DIR/calibration, 24 photos), each with a label
  file (``labels.tsv``: what a person sees, a few nouns, and how many people). Sources:
  scikit-image's and matplotlib's sample photos (installed with artkit), scikit-learn's wheel
  (``pip download``), and the Debian packages ``opencv-doc``, ``palapeli-data``,
  ``python3-scipy``, ``lomiri-wallpapers-16.04`` / ``-20.04`` (``apt-get download`` into a
  temporary folder, unpacked with ``dpkg-deb -x``; no root needed).
* ``--calibrate DIR``: the classifier's top label on the calibration photos — how often its
  noun names what a person sees, by probability band — the figures behind the confidence
  thresholds :data:`artkit.story.labels.SURE` and ``GUESS``; and the face detector's precision
  and recall (people / no people, and counts) on both sets.
* ``--speed``: one 200-word romance story about scikit-image's cat end to end (networks loaded,
  corpus embeddings cached), peak RSS, and decoding speed: artkit's loop (float32 prefill,
  bfloat16 fused Llama step) against transformers' ``generate`` on the float32 model, the same
  prompt and number of tokens, in the same run.
* ``--subjects DIR``: without writing stories, the subject each photo's story would be about
  (the phrase that opens it and leads its prompt) against the label file, for the new facts and
  the old rule (the top ImageNet label, told as certain): a fast upper bound of subject naming.
* ``--gallery``: scikit-image's cat in the five styles with the defaults (seed 0), written to
  ``gallery/story/README.md`` exactly as the writer wrote them.
* ``--evaluate DIR``: ``artkit story evaluate`` on the labelled set in the conditions full,
  labels_only (the facts as artkit had them before people and scenes), no_facts and
  no_exemplars, for ``--styles``: subject naming overall and on the people subset, grounding,
  style accuracy; and the six photos of issue 22 as a table (subject, top label, title).

Figures are printed and recorded in ``benchmarks/results/story.json``.

Usage:
    python benchmarks/story.py --build /tmp/story-photos
    python benchmarks/story.py --calibrate /tmp/story-photos
    flock /tmp/artkit-heavy.lock python benchmarks/story.py --evaluate /tmp/story-photos \\
        --styles fairytale,noir --length 80
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fetch_debs, save_results, table  # noqa: E402

OPENCV = "usr/share/doc/opencv-doc/examples/data/"
OPENCV_HTML = "usr/share/doc/opencv-doc/opencv4/html/"
WALL = "usr/share/backgrounds/"
PALAPELI = "usr/share/palapeli/collection/"
DEBS = ("opencv-doc", "palapeli-data", "python3-scipy", "python3-pywt", "lomiri-wallpapers-16.04",
        "lomiri-wallpapers-20.04")

# name → (source, nouns a person would use for what the photo shows, people in it)
PHOTOS: dict[str, tuple[str, str, int]] = {
    # people (11)
    "astronaut.png": ("skimage:astronaut", "astronaut, woman, person", 1),
    "camera.png": ("skimage:camera", "photographer, man, person, cameraman", 1),
    "grace_hopper.jpg": ("matplotlib:grace_hopper.jpg", "woman, officer, person, lady", 1),
    "messi5.jpg": (f"deb:{OPENCV}messi5.jpg", "footballer, football player, player, man, person", 1),
    "basketball1.png": (f"deb:{OPENCV}basketball1.png", "men, people, players, man, person", 2),
    "ascent.png": ("pywt:ascent", "people, person, man, men, boy, stairs, staircase", 2),
    "young_man.jpg": (f"deb:{OPENCV_HTML}227943776_1.jpg", "man, young man, person, guy", 1),
    "bearded_man.jpg": (f"deb:{OPENCV_HTML}230501201_1.jpg", "man, person, guy", 1),
    "smiling_man.jpg": (f"deb:{OPENCV_HTML}face_swapped.jpg", "man, person, guy", 1),
    "woman.png": (f"crop:{OPENCV_HTML}12.jpg", "woman, girl, person, lady", 1),
    "girl_drawing.jpg": (f"deb:{OPENCV_HTML}orig_comic.jpg", "girl, woman, person, child", 1),
    # no people (22)
    "chelsea.png": ("skimage:chelsea", "cat, kitten", 0),
    "coffee.png": ("skimage:coffee", "coffee, cup, espresso", 0),
    "rocket.jpg": ("skimage:rocket", "rocket, launch, spacecraft", 0),
    "hubble.jpg": ("skimage:hubble_deep_field", "stars, galaxies, sky, space, galaxy, star", 0),
    "motorcycle.png": ("skimage:stereo_motorcycle", "motorcycle, motorbike, bike", 0),
    "china.jpg": ("sklearn:china.jpg", "temple, pagoda, palace, building, roof", 0),
    "flower.jpg": ("sklearn:flower.jpg", "flower, flowers, blossom, daisy", 0),
    "baboon.jpg": (f"deb:{OPENCV}baboon.jpg", "baboon, mandrill, monkey, ape", 0),
    "butterfly.jpg": (f"deb:{OPENCV}butterfly.jpg", "butterfly, moth", 0),
    "starry_night.jpg": (f"deb:{OPENCV}starry_night.jpg", "stars, sky, night, village, painting", 0),
    "squirrel.jpg": (f"deb:{OPENCV}squirrel_cls.jpg", "squirrel", 0),
    "castle.jpg": (f"deb:{PALAPELI}castle-maintenon.jpg", "castle, chateau, palace", 0),
    "bridge.jpg": (f"deb:{PALAPELI}cincinnati-bridge.jpg", "bridge, river, city", 0),
    "bee.jpg": (f"deb:{PALAPELI}european-honey-bee.jpg", "bee, honeybee, flower", 0),
    "milky_way.jpg": (f"deb:{WALL}Infinite-Sea_by_Aury88.jpg", "stars, sky, night, sea, milky way", 0),
    "nuthatch.jpg": (f"deb:{WALL}Kleiber_by_Lukas_Baubkus.jpg", "bird, nuthatch, tree", 0),
    "fig.jpg": (f"deb:{WALL}Picture_0B_by_freespace.jpg", "fig, fruit, plate, bowl", 0),
    "dogs.jpg": (f"deb:{WALL}friends_by_Aitzol_Berasategi.jpg", "dogs, dog, puppy, spaniel", 0),
    "stream.jpg": (f"deb:{WALL}life_by_Aitzol_Berasategi.jpg", "stream, river, forest, trees, waterfall", 0),
    "mountains.jpg": (f"deb:{WALL}picosdeeuropa_by_Aitzol_Berasategi.jpg", "mountains, mountain, peaks, valley", 0),
    "bus.jpg": (f"deb:{OPENCV_HTML}pexels_double_decker_bus.jpg", "bus, double-decker, street", 0),
    "raccoon.png": ("scipy:face", "raccoon", 0),
}
# the calibration set: disjoint from the photos above, used only to choose thresholds
CALIBRATION: dict[str, tuple[str, str, int]] = {
    "apple.jpg": (f"deb:{OPENCV}apple.jpg", "apple, fruit", 0),
    "orange.jpg": (f"deb:{OPENCV}orange.jpg", "orange, fruit", 0),
    "fruits.jpg": (f"deb:{OPENCV}fruits.jpg", "fruit, orange, lemon, lime, kiwi", 0),
    "home.jpg": (f"deb:{OPENCV}home.jpg", "building, house, palace, tower", 0),
    "building.jpg": (f"deb:{OPENCV}building.jpg", "building, hotel", 0),
    "fish_drawing.jpg": (f"deb:{OPENCV}HappyFish.jpg", "fish", 0),
    "street.jpg": (f"deb:{OPENCV}leuvenA.jpg", "street, houses, building", 0),
    "pekinese.png": (f"deb:{OPENCV}chicky_512.png", "dog, pekinese, puppy", 0),
    "aerial.jpg": (f"deb:{OPENCV}aero1.jpg", "town, city, aerial view, landscape", 0),
    "circuit.jpg": (f"deb:{OPENCV}board.jpg", "circuit board, board, chip, electronics", 0),
    "plant.jpg": ("deb:usr/share/doc/opencv-doc/examples/alphamat/input_images/plant.jpg",
                  "plant, pot, flowerpot", 0),
    "citrus.jpg": (f"deb:{PALAPELI}citrus-fruits.jpg", "fruit, orange, lemon, lime", 0),
    "chameleon.jpg": (f"deb:{PALAPELI}panther-chameleon-female.jpg", "chameleon, lizard", 0),
    "brushes.jpg": (f"deb:{WALL}Picture_1A_by_freespace.jpg", "brushes, paintbrush, brush", 0),
    "wine.jpg": (f"deb:{WALL}Wine_by_Jakkub_Mede.jpg", "room, wine, bottle, drum, table", 0),
    "dandelions.jpg": (f"deb:{WALL}seeding_by_Clements_Engelhardt.jpg", "dandelion, dandelions, flowers, meadow", 0),
    "sunset.jpg": (f"deb:{WALL}sunset_by_Aitzol_Berasategi.jpg", "sunset, sun, hills, sky", 0),
    "bird.jpg": (f"deb:{WALL}free_by_Peter_Nerlich.jpg", "bird", 0),
    "clock.jpg": (f"deb:{WALL}greentock_by_Peter_Nerlich.jpg", "clock, wall clock", 0),
    "meadow.jpg": (f"deb:{WALL}aitzgorri_by_Aitzol_Berasategi.jpg", "mountain, meadow, hills, valley", 0),
    "cow.jpg": (f"deb:{OPENCV_HTML}Laplace_Operator_Tutorial_Original_Image.jpg", "cow, cattle, ox", 0),
    "kitten.jpg": (f"deb:{OPENCV_HTML}cat_det.jpg", "cat, kitten", 0),
    "shuttle.jpg": (f"deb:{OPENCV_HTML}space_shuttle.jpg", "space shuttle, shuttle, plane", 0),
    "boat.jpg": (f"deb:{OPENCV_HTML}boat.jpg", "boat, ship, harbour", 0),
}
# issue 22's six photos, as close as offline photos come (its portrait of a young man in a suit
# has no offline match: the young man here wears a T-shirt; the Renoir river landscape: a photo
# of a stream in a forest)
SIX = ("young_man.jpg", "bearded_man.jpg", "astronaut.png", "camera.png", "hubble.jpg", "stream.jpg")


# ----------------------------------------------------------------------------------- build


def _sklearn_image(work: Path, name: str):
    from PIL import Image

    wheels = list(work.glob("scikit_learn-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "-q", "-d", str(work), "scikit-learn"], check=True)
        wheels = list(work.glob("scikit_learn-*.whl"))
    with zipfile.ZipFile(wheels[0]) as z:
        member = next(m for m in z.namelist() if m.endswith(f"datasets/images/{name}"))
        with z.open(member) as f:
            return Image.open(f).convert("RGB")


def _image(source: str, root: Path, work: Path):
    """The photo a source string names, as a PIL image."""
    from PIL import Image

    kind, what = source.split(":", 1)
    if kind == "skimage":
        import skimage.data

        data = getattr(skimage.data, what)()
        data = data[0] if isinstance(data, tuple) else data  # stereo_motorcycle: (left, right, disp)
        return Image.fromarray(np.asarray(data)).convert("RGB")
    if kind == "matplotlib":
        import matplotlib.cbook as cbook

        return Image.open(cbook.get_sample_data(what)).convert("RGB")
    if kind == "sklearn":
        return _sklearn_image(work, what)
    if kind == "scipy":  # scipy.misc's raccoon: bz2-compressed raw RGB bytes (no pickle)
        import bz2

        raw = bz2.decompress((root / "usr/lib/python3/dist-packages/scipy/misc" / f"{what}.dat")
                             .read_bytes())
        return Image.fromarray(np.frombuffer(raw, dtype="uint8").reshape(768, 1024, 3))
    if kind == "pywt":  # PyWavelets' copy of scipy's "ascent", as .npz (read without pickle)
        with np.load(root / "usr/lib/python3/dist-packages/pywt/data" / f"{what}.npz",
                     allow_pickle=False) as data:
            arr = data[data.files[0]]
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB")
    im = Image.open(root / what).convert("RGB")
    if kind == "crop":  # the left third of a three-panel figure
        im = im.crop((0, 0, im.size[0] // 3, im.size[1]))
    return im


def build(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = fetch_debs(DEBS, work)
        for sub, photos in ((folder, PHOTOS), (folder / "calibration", CALIBRATION)):
            sub.mkdir(parents=True, exist_ok=True)
            lines = ["# photo\twhat a person sees (any of these nouns)\tpeople"]
            for name, (source, nouns, people) in photos.items():
                _image(source, root, work).save(sub / name)
                lines.append(f"{name}\t{nouns}\t{people}")
            (sub / "labels.tsv").write_text("\n".join(lines) + "\n")
            print(f"wrote {len(photos)} photos and labels.tsv to {sub}")


# ----------------------------------------------------------------------------------- calibrate


def calibrate(folder: Path) -> list[dict]:
    from artkit import nets
    from artkit.core.images import load_image
    from artkit.story.evaluate import read_labels
    from artkit.story.facts import classify
    from artkit.story.labels import top_labels
    from artkit.story.people import find_people
    from artkit.story.writer import mentions

    model = nets.load_efficientnet("cpu")
    names = nets.class_names()
    rows, faces = [], []
    for sub in (folder / "calibration", folder):
        labels = read_labels(sub / "labels.tsv")
        for name, label in labels.items():
            image = load_image(sub / name)
            probs, _ = classify(model, image)
            top = top_labels(probs, names, 1)[0]
            found = find_people(image, probs, names)
            faces.append((sub.name, name, label.people, 0 if found is None else found.count,
                          found is not None and found.evidence == "face"))
            if sub != folder:
                rows.append({"photo": name, "label": top.label, "noun": top.noun,
                             "p": top.group_probability,
                             "right": mentions(" ".join([top.noun, top.label, *top.hypernyms]),
                                               label.nouns)})
    bands = [(0.45, 1.01), (0.15, 0.45), (0.0, 0.15)]
    band_rows = []
    for lo, hi in bands:
        mine = [r for r in rows if lo <= r["p"] < hi]
        band_rows.append([f"{lo:.2f}-{min(hi, 1):.2f}", len(mine), sum(r["right"] for r in mine)])
    for r in sorted(rows, key=lambda r: -r["p"]):
        print(f"  {r['p']:.3f} {'yes' if r['right'] else 'no ':3} {r['photo']:18} {r['label']} → {r['noun']}")
    tp = sum(1 for _, _, truth, n, _ in faces if truth > 0 and n > 0)
    fp = sum(1 for _, _, truth, n, _ in faces if truth == 0 and n > 0)
    fn = sum(1 for _, _, truth, n, _ in faces if truth > 0 and n == 0)
    count_ok = sum(1 for _, _, truth, n, _ in faces if truth > 0 and n == truth)
    people = sum(1 for f in faces if f[2] > 0)
    for f in faces:
        if (f[2] > 0) != (f[3] > 0) or (f[2] > 0 and f[2] != f[3]):
            print(f"  people: {f[1]} has {f[2]}, found {f[3]}")
    tables = [
        table("Does the top ImageNet label name what a person sees? (24 calibration photos)",
              ["group probability", "photos", "named"], band_rows,
              "thresholds: SURE where the label is nearly always right, GUESS where it is right "
              "about half the time"),
        table(f"People found (faces + person cues) on {len(faces)} photos, {people} with people",
              ["precision", "recall", "count right (of photos with people)"],
              [[round(tp / max(1, tp + fp), 3), round(tp / max(1, tp + fn), 3),
                f"{count_ok}/{people}"]]),
    ]
    return tables


# ----------------------------------------------------------------------------------- subjects


def subjects(folder: Path) -> list[dict]:
    from artkit import nets
    from artkit.core.images import load_image
    from artkit.story.evaluate import read_labels
    from artkit.story.facts import extract
    from artkit.story.writer import mentions

    model = nets.load_efficientnet("cpu")
    labels = read_labels(folder / "labels.tsv")
    rows, totals = [], {"new": [0, 0], "old": [0, 0]}
    for name, label in labels.items():
        image = load_image(folder / name)
        new, old = extract(image, model), extract(image, model, people=False)
        hits = [mentions(f.subject.phrase, label.nouns) for f in (new, old)]
        for key, hit in zip(("new", "old"), hits):
            totals[key][0] += hit
            totals[key][1] += hit and label.people > 0
        rows.append([name, label.people, new.describe_labels()[0], new.subject.phrase,
                     "yes" if hits[0] else "no", old.subject.phrase, "yes" if hits[1] else "no"])
    people = sum(v.people > 0 for v in labels.values())
    summary = [[k, f"{v[0]}/{len(labels)}", f"{v[1]}/{people}"] for k, v in totals.items()]
    return [table("the subject each story is told about, against what a person sees",
                  ["photo", "people", "top label", "subject (new)", "named", "subject (old rule)",
                   "named"], rows),
            table("subject named by the subject phrase", ["facts", "all photos", "with people"],
                  summary)]


# ----------------------------------------------------------------------------------- gallery


def gallery(teller=None) -> list[dict]:
    import textwrap

    import skimage.data
    from PIL import Image

    from artkit.story.api import Storyteller

    teller = teller or Storyteller(device="cpu")
    cat = Image.fromarray(np.asarray(skimage.data.chelsea()))
    stories = [(style, n, teller.tell(cat, style, length=n)) for style, n in
               (("romance", 200), ("fairytale", 120), ("noir", 120), ("scifi", 120),
                ("adventure", 120))]
    first = stories[0][2]
    out = ["# `artkit story` — scikit-image's cat", "", "![chelsea](chelsea.jpg)", "",
           f"Facts artkit read from the photo: {' '.join(first.captions)} ImageNet: "
           f"{'; '.join(first.facts.describe_labels()[:2])}.", "",
           "Written by SmolLM2-135M-Instruct with artkit's defaults (seed 0, temperature 0.7, 3 "
           "exemplars, the style's opening, no vocabulary bias), exactly as written: "
           "`python benchmarks/story.py --gallery`.", ""]
    rows = []
    for style, n, st in stories:
        out += [f"## {style}, {n} words asked, {st.words} written, {st.attempts} draft(s)", "",
                f"> # {st.title}", ">"]
        for para in st.text.split("\n\n"):
            out += ["> " + line for line in textwrap.wrap(para, 96)] + [">"]
        out[-1] = ""
        rows.append([style, n, st.words, st.attempts, round(st.seconds, 1), st.title])
    (Path(__file__).resolve().parents[1] / "gallery" / "story" / "README.md").write_text(
        "\n".join(out))
    return [table("gallery: the cat in five styles", ["style", "asked", "words", "drafts",
                                                      "seconds", "title"], rows)]


# ----------------------------------------------------------------------------------- speed


def speed(length: int = 200, tokens: int = 150) -> list[dict]:
    import skimage.data
    import torch
    from PIL import Image

    from artkit.core.runtime import set_threads
    from artkit.story.api import Storyteller
    from artkit.story.writer import Writer

    set_threads(2)
    t0, c0 = time.perf_counter(), time.process_time()
    teller = Storyteller(device="cpu")
    load = time.perf_counter() - t0
    teller.style("romance")  # corpus embeddings: computed once per machine, then cached
    cat = Image.fromarray(np.asarray(skimage.data.chelsea()))
    t = time.perf_counter()
    story = teller.tell(cat, "romance", length=length)
    total = time.perf_counter() - t + load
    cpu = time.process_time() - c0
    print(f"\n# {story.title}\n\n{story.text}\n")
    w = teller.writer
    prompt = w.prompt("noir", 100, story.captions, list(teller.style("noir")[1][:3]), "cat", "the cat")
    ids = w.tokenizer(prompt, return_tensors="pt", add_special_tokens=not w.chat)
    t = time.perf_counter()
    text = w.generate(prompt, 10_000, 0.0, None, max_tokens=tokens)
    made = len(w.tokenizer(text, add_special_tokens=False)["input_ids"])
    ours = made / (time.perf_counter() - t)
    stock = Writer(dtype="float32")
    with torch.inference_mode():
        t = time.perf_counter()
        stock.model.generate(**ids, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                             pad_token_id=w.tokenizer.eos_token_id)
        base = tokens / (time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load_avg = open("/proc/loadavg").read().split()[0]
    return [table(f"a {length}-word romance story about scikit-image's cat, end to end",
                  ["words", "drafts", "wall s", "CPU s", "networks s", "facts s", "writing s",
                   "title s", "peak RSS MB"],
                  [[story.words, story.attempts, round(total, 1), round(cpu, 1), round(load, 1),
                    story.timings.get("facts"), story.timings.get("write"),
                    story.timings.get("title"), round(rss)]], f"load average {load_avg}"),
            table(f"decoding, {ids['input_ids'].shape[1]}-token prompt + {tokens} tokens, greedy",
                  ["artkit tokens/s", "transformers generate (float32) tokens/s", "ratio"],
                  [[round(ours, 2), round(base, 2), round(ours / base, 2)]],
                  f"load average {load_avg}")]


# ----------------------------------------------------------------------------------- evaluate


def evaluate_set(folder: Path, styles: list[str], length: int, conditions: list[str],
                 retries: int) -> list[dict]:
    from artkit.core.runtime import make_generator, set_threads
    from artkit.story.api import Storyteller
    from artkit.story.evaluate import StoryEvaluation, evaluate, read_labels, summarise

    set_threads(2)
    labels = read_labels(folder / "labels.tsv")
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    teller = Storyteller(device="cpu")
    gen = make_generator(0)
    stories: list[dict] = []
    log = Path(tempfile.gettempdir()) / "story-records.jsonl"
    log.write_text("")
    for name in labels:  # photo by photo, each story logged as it comes (the same random stream)
        part = evaluate([folder / name], styles, teller, labels=labels, length=length,
                        conditions=conditions, retries=retries, generator=gen)
        stories += part.stories
        with log.open("a") as f:
            for r in part.stories:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {sum(bool(r['subject_named']) for r in part.stories)}/{len(part.stories)} "
              f"named", flush=True)
    summary = {}
    for c in conditions:
        mine = [r for r in stories if r["condition"] == c]
        summary[c] = summarise(mine, length)
        summary[c]["by_style"] = {s: summarise([r for r in mine if r["style"] == s], length)
                                  for s in styles}
    rep = StoryEvaluation(summary=summary, stories=stories)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    rows = []
    for c, s in rep.summary.items():
        rows.append([c, s["n"], s["subject_naming"], s["subject_naming_people"], s["grounding"],
                     s["style_accuracy"], s["distinct2"], s["repeated_sentences"], s["length_ok"],
                     s["seconds"]])
    by_style = [[c, st, s["subject_naming"], s["subject_naming_people"], s["grounding"],
                 s["style_accuracy"]] for c, cs in rep.summary.items()
                for st, s in cs["by_style"].items()]
    six = []
    for name in SIX:
        for r in rep.stories:
            if r["photo"] == name and r["condition"] in ("full", "labels_only") \
                    and r["style"] == styles[0]:
                six.append([name, r["condition"], r["labels"][0] if r["labels"] else "",
                            r["subject"], r["title"], "yes" if r["subject_named"] else "no"])
    out = Path(tempfile.gettempdir()) / "story-evaluation.json"
    out.write_text(json.dumps(rep.to_dict(), indent=1, ensure_ascii=False))
    print(f"every story: {out}")
    cols = ["condition", "stories", "subject", "subject (people)", "grounding", "style acc.",
            "distinct-2", "repeated", "length ok", "s/story"]
    note = (f"{len(labels)} photos ({sum(v.people > 0 for v in labels.values())} with people) x "
            f"{', '.join(styles)}, {length} words, retries {retries}; wall {wall:.0f} s, CPU "
            f"{cpu:.0f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
            f" MB, load average {open('/proc/loadavg').read().split()[0]} at the end")
    return [table("artkit story evaluate on the labelled set", cols, rows, note),
            table("by style", ["condition", "style", "subject", "subject (people)", "grounding",
                               "style acc."], by_style),
            table(f"issue 22's six photos (closest offline matches), {styles[0]}",
                  ["photo", "condition", "top label", "subject told", "title", "subject named"],
                  six)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", type=Path)
    ap.add_argument("--calibrate", type=Path)
    ap.add_argument("--evaluate", type=Path)
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--subjects", type=Path)
    ap.add_argument("--gallery", action="store_true")
    ap.add_argument("--styles", default="fairytale,noir")
    ap.add_argument("--conditions", default="full,labels_only,no_facts,no_exemplars")
    ap.add_argument("--length", type=int, default=80)
    ap.add_argument("--retries", type=int, default=1)
    args = ap.parse_args()
    tables: list[dict] = []
    if args.build:
        build(args.build)
    if args.calibrate:
        tables += calibrate(args.calibrate)
    if args.subjects:
        tables += subjects(args.subjects)
    if args.speed:
        tables += speed()
    if args.gallery:
        tables += gallery()
    if args.evaluate:
        tables += evaluate_set(args.evaluate, args.styles.split(","), args.length,
                               args.conditions.split(","), args.retries)
    if tables:
        save_results("story", tables, command="python benchmarks/story.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()

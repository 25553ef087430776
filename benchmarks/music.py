"""``artkit music`` on this machine: speed of composing, reading charts, rendering and training;
quality of the composed music against random baselines, over the shipped progressions and over
the bundled lead sheets (MusicXML, ABC, iReal Pro), with Bach soprano lines as anchors.

* speed: compose the default piece (a 36-bar jazz blues: three choruses) with the model loaded,
  median of ``--repeats`` seeds, wall and CPU time; read each bundled chart; render 60 s of
  audio with the built-in synthesiser (in its blocks); train the default LSTM (2×128) for
  ``--epochs`` epochs on 40 Bach chorales.
* quality: the five figures of ``artkit music evaluate`` for ``--seeds`` compositions of the
  default length over each shipped progression and each bundled chart, against uniform-random
  and random-walk baselines built from the same compositions (same rhythm, random pitches), and
  the overlap with the model's training-set figures.
* anchors: the soprano lines of 40 Bach chorales with their own baselines; deepjazz's Metheny
  solo when ``ARTKIT_DATA`` holds ``music/original_metheny.mid``.
* biaxial: the shipped polyphonic model composing ``--biaxial-seeds`` × 16 bars.

Usage:
    python benchmarks/music.py [--threads 2] [--repeats 3] [--seeds 5] [--biaxial-seeds 3]
                               [--epochs 2] [--speed-only]

Figures are printed and recorded in benchmarks/results/music.json (``save_results``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
from common import data_dir, save_results, table

PROGRESSIONS = ["jazz-blues", "blues", "ii-v-i", "rhythm-changes", "minor-blues", "pop",
                "jazz-waltz", "five-four"]
CHARTS = ["blues", "aaba", "waltz", "five"]
KEYS = ["scale_consistency", "pitch_entropy", "repetition", "groove", "chord_tone_ratio"]
COLUMNS = ["", "scale consistency", "pitch-class entropy", "3-gram repetition", "groove",
           "chord tones, strong beats"]


def row(name: str, d: dict, extra=(), width: int = 0) -> list:
    """A table row of the five figures (and ``extra`` ones), padded to ``width`` cells."""
    cells = [name] + [round(d[k], 3) for k in KEYS] + [round(x, 3) for x in extra]
    return cells + [""] * (width - len(cells))


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeats`` calls of ``fn(i)``, and the last result."""
    walls, cpus, out = [], [], None
    for i in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn(i)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def speed(composer, args) -> dict:
    from artkit.music import read_chart, render
    from artkit.music.midi import MidiNote, MidiSong, MidiTrack

    composer.compose(progression="ii-v-i", bars=4)           # warm-up
    gen = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    wall, cpu, score = timed(lambda s: composer.compose(generator=gen(s)), args.repeats)
    rows = [["compose the default piece (36-bar jazz blues)", round(wall, 3), round(cpu, 3),
             round(wall / score.n_bars * 32, 3)]]
    read_chart("waltz")                                      # music21 imported once, before timing
    for name in CHARTS:
        w, c, prog = timed(lambda _: read_chart(name).progression(), 1)
        rows.append([f"read chart '{name}' ({len(prog.bars)} bars played)", round(w, 3), round(c, 3), ""])
    notes = [MidiNote(i * 0.5, 0.45, 60 + (i * 7) % 24, 90) for i in range(240)]
    bass = [MidiNote(float(i), 0.9, 36 + (i * 5) % 12, 80) for i in range(120)]
    song = MidiSong([MidiTrack("melody", 0, 0, notes), MidiTrack("bass", 2, 32, bass)], [(0.0, 120.0)])
    w, c, audio = timed(lambda _: render(song).audio(), args.repeats)     # a fresh render each time
    rows.append([f"render {song.duration_s:.0f} s of music ({audio.shape[1] / 44100:.1f} s with "
                 f"the tail, 44.1 kHz stereo)", round(w, 2), round(c, 2),
                 f"{song.duration_s / w:.1f}× real time"])
    return table("speed (model loaded)", ["what", "wall s (median)", "CPU s", "per 32 bars / rate"],
                 rows, note=f"{args.threads} threads, load average {os.getloadavg()[0]:.1f} on "
                            f"{os.cpu_count()} cores; sampling and synthesis run on one thread")


def anchors_and_training(args) -> list[dict]:
    from artkit.music.corpus import load_pieces
    from artkit.music.metrics import evaluate_pieces
    from artkit.music.model import SIZES, JazzConfig, JazzLSTM, JazzModel, fit
    from artkit.music.train import build_vocab
    from artkit.music.training import init_parameters

    t = time.perf_counter()
    bach, _ = load_pieces([f"corpus:chorales:{args.chorales}"])
    read_s = time.perf_counter() - t
    ev = evaluate_pieces(bach, seed=0)
    anchors = table(f"anchors: soprano lines of {len(bach)} Bach chorales", COLUMNS,
                    [row("Bach soprano (mean)", ev.mean), row("Bach soprano (std)", ev.std),
                     row("uniform random", ev.uniform), row("random walk", ev.walk)])
    streams = [p.tokens() for p in bach]
    vocab = build_vocab(streams)
    per_piece = [[vocab.index(x) for x in s] for s in streams]
    net = JazzLSTM(JazzConfig(len(vocab), **SIZES["default"]))
    init_parameters(net, torch.Generator().manual_seed(0))
    jm = JazzModel(net, vocab)
    t, c = time.perf_counter(), time.process_time()
    hist, _ = fit(jm, per_piece, epochs=args.epochs, generator=torch.Generator().manual_seed(0))
    per_epoch = (time.perf_counter() - t) / args.epochs
    tokens = sum(len(p) for p in per_piece)
    training = table("training (LSTM 2×128, batch 64, one thread)",
                     ["tokens", "s per epoch", "CPU s per epoch", "tokens/s", "loss first → last",
                      "reading s per piece"],
                     [[tokens, round(per_epoch, 2), round((time.process_time() - c) / args.epochs, 2),
                       round(tokens / per_epoch), f"{hist[0]['loss']} → {hist[-1]['loss']}",
                       round(read_s / len(bach), 2)]])
    return [anchors, training]


def quality(composer, args, label: str, names: list[str], key: str) -> dict:
    from artkit.music.metrics import evaluate_pieces, mean_features, overlap_scores, piece_features

    reference = composer.model.features
    rows, pieces = [], []
    for name in names:
        mine = [composer.compose(generator=torch.Generator().manual_seed(s), **{key: name}).piece()
                for s in range(args.seeds)]
        pieces += mine
        feats = [piece_features(p) for p in mine]
        rows.append(row(f"{name} ({len(mine[0].bars)} bars)", mean_features(feats),
                        [overlap_scores(feats, reference)["mean"]]))
    ev = evaluate_pieces(pieces, reference, seed=0)
    rows.append(row("all compositions", ev.mean, [ev.overlap["mean"]]))
    rows.append(row("uniform random (same rhythm)", ev.uniform, width=7))
    rows.append(row("random walk (same rhythm)", ev.walk, width=7))
    ratios = ", ".join(f"{k}: {ev.mean[k] / max(ev.uniform[k], 1e-9):.2f}× uniform, "
                       f"{ev.mean[k] / max(ev.walk[k], 1e-9):.2f}× walk"
                       for k in ("scale_consistency", "chord_tone_ratio"))
    return table(f"quality over {label}: {args.seeds} seeds each, default length, temperature 0.5",
                 COLUMNS + ["overlap with training set"], rows, note=ratios)


def biaxial(args) -> dict:
    from artkit.music import Composer
    from artkit.music.metrics import evaluate_pieces

    composer = Composer("biaxial", device="cpu")
    pieces, secs = [], []
    for seed in range(args.biaxial_seeds):
        t = time.perf_counter()
        score = composer.compose(bars=16, generator=torch.Generator().manual_seed(seed))
        secs.append(time.perf_counter() - t)
        if score.piece() is not None:
            pieces.append(score.piece())
    ev = evaluate_pieces(pieces, composer.model.features, seed=0)
    return table(f"biaxial: {args.biaxial_seeds} seeds × 16 bars, temperature 1.0 (compose "
                 f"{statistics.median(secs):.1f} s median)", COLUMNS + ["overlap with training set"],
                 [row("biaxial compositions", ev.mean, [ev.overlap["mean"]] if ev.overlap else [], 7),
                  row("uniform random (same rhythm)", ev.uniform, width=7),
                  row("random walk (same rhythm)", ev.walk, width=7)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=2, help="epochs for the training-time figure")
    ap.add_argument("--biaxial-seeds", type=int, default=3)
    ap.add_argument("--chorales", type=int, default=40, help="Bach chorales for the anchors")
    ap.add_argument("--speed-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from artkit.music import Composer

    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    composer = Composer("jazz", device="cpu")
    tables = [speed(composer, args)]
    if not args.speed_only:
        tables += anchors_and_training(args)
        tables.append(quality(composer, args, "the shipped progressions", PROGRESSIONS, "progression"))
        tables.append(quality(composer, args, "the bundled lead sheets", CHARTS, "chords_from"))
        if args.biaxial_seeds > 0:
            tables.append(biaxial(args))
        metheny = data_dir("music")
        if metheny is not None and (metheny / "original_metheny.mid").is_file():
            from artkit.music.corpus import load_pieces
            from artkit.music.metrics import piece_features

            mp, _ = load_pieces([str(metheny / "original_metheny.mid")])
            tables.append(table("deepjazz's Metheny solo, for comparison", COLUMNS,
                                [row("Metheny solo", piece_features(mp[0]))]))
    save_results("music", tables, command="python benchmarks/music.py " + " ".join(sys.argv[1:]),
                 notes=[f"load average {load0:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
                        f"cores; {time.perf_counter() - t0:.0f} s wall, "
                        f"{time.process_time() - c0:.0f} s CPU for the whole run"])


if __name__ == "__main__":
    main()

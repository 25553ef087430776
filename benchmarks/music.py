"""``artkit music`` on this machine: speed of composing, rendering and training; quality of the
composed music against random baselines, the training set, and 40 Bach soprano lines.

* compose 32 bars with the model loaded (the shipped ``jazz`` model unless ``--model``), median
  of ``--repeats`` seeds; render 60 s of audio with the built-in synthesiser (32 bars at 128
  bpm), median of ``--repeats``.
* training: seconds per epoch of the default LSTM (2×128) on the tokens of 40 Bach chorales
  (and the corpus-reading time), with ``--threads`` threads.
* quality: the five figures of ``artkit music evaluate`` for ``--seeds`` compositions over each
  of several progressions, against uniform-random and random-walk baselines built from the
  same compositions, and the overlap with the model's training-set figures.
* anchors: the same figures for the soprano lines of 40 Bach chorales (the issue's anchors:
  scale consistency 0.97 ± 0.03 vs 0.70 uniform, entropy 2.63 vs 3.31 bits, repetition 0.28
  vs 0.01); deepjazz's Metheny solo too when ``../shared/data`` is there.

Usage:
    python benchmarks/music.py [--threads 2] [--repeats 3] [--seeds 5] [--model jazz]
                               [--biaxial-seeds 3]

* biaxial: the shipped polyphonic ``biaxial`` model composing ``--biaxial-seeds`` × 16 bars
  (seconds each), the same figures measured on its top line over its chordified lower notes,
  against the same baselines and its training set's figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

PROGRESSIONS = ["jazz-blues", "blues", "ii-v-i", "rhythm-changes", "minor-blues", "pop"]


def fmt_row(name: str, d: dict, keys) -> str:
    return f"  {name:28s}" + "".join(f"{d[k]:>10.3f}" for k in keys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--model", default="jazz")
    ap.add_argument("--epochs", type=int, default=2, help="epochs for the training-time figure")
    ap.add_argument("--speed-only", action="store_true", help="only compose and render times")
    ap.add_argument("--biaxial-seeds", type=int, default=3,
                    help="16-bar compositions of the biaxial model to measure (0: skip)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from artkit.music import compose, load_model
    from artkit.music.corpus import load_pieces
    from artkit.music.metrics import (evaluate_pieces, mean_features, overlap_scores,
                                      piece_features)
    from artkit.music.synth import synthesize

    import os

    print(f"artkit music benchmark — {args.threads} threads, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    t = time.perf_counter()
    model = load_model(args.model)
    print(f"model '{args.model}': loaded in {time.perf_counter() - t:.2f} s; trained on "
          f"{model.info['training']['pieces']} pieces, {model.info['training']['tokens']} tokens, "
          f"{model.info['training']['epochs']} epochs in {model.info['training']['seconds']} s")

    # ---- speed: compose and render (one warm-up: music21 is imported to read the chords)
    compose(model, progression="jazz-blues", bars=4, generator=torch.Generator().manual_seed(0))
    times, cpu = [], []
    for s in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        score = compose(model, progression="jazz-blues", bars=32, tempo=128,
                        generator=torch.Generator().manual_seed(s))
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    c_med = statistics.median(times)
    print(f"\ncompose 32 bars: {c_med:.3f} s median of {args.repeats} (CPU time "
          f"{statistics.median(cpu):.3f} s; target ≤ 2 s)")
    song = score.midi_song()
    times, cpu = [], []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        audio, sr = synthesize(song)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    r_med = statistics.median(times)
    secs = audio.shape[1] / sr
    print(f"render {song.duration_s:.1f} s of music ({secs:.1f} s with the tail, "
          f"{sum(len(t.notes) for t in song.tracks)} notes, 44.1 kHz stereo): {r_med:.2f} s "
          f"median = {song.duration_s / r_med:.1f}× real time (CPU time {statistics.median(cpu):.2f} s; "
          "target ≤ 5 s for 60 s)")
    rms = audio.pow(2).mean().sqrt().item()
    print(f"  listen-proxy: RMS {rms:.3f}, peak {audio.abs().max().item():.3f}, "
          f"length {secs:.2f} s (expected {song.duration_s + 1.0:.2f} s)")
    if args.speed_only:
        return

    # ---- Bach anchors and training speed on the same 40 chorales
    t = time.perf_counter()
    bach, skipped = load_pieces(["corpus:chorales:40"])
    read_s = time.perf_counter() - t
    ev = evaluate_pieces(bach, seed=0)
    keys = ["scale_consistency", "pitch_entropy", "repetition", "groove", "chord_tone_ratio"]
    head = "".join(f"{k.split('_')[0][:9]:>10s}" for k in keys)
    print(f"\nanchors: soprano lines of {len(bach)} Bach chorales (read in {read_s:.1f} s)")
    print(f"  {'':28s}{head}")
    print(fmt_row("Bach soprano (mean)", ev.mean, keys))
    print(fmt_row("Bach soprano (std)", ev.std, keys))
    print(fmt_row("uniform random", ev.uniform, keys))
    print(fmt_row("random walk", ev.walk, keys))
    print("  issue anchors: scale 0.97 ± 0.03 vs 0.70, entropy 2.63 vs 3.31, repetition 0.28 vs 0.01")

    from artkit.music.api import build_vocab
    from artkit.music.model import SIZES, JazzConfig, JazzLSTM, JazzModel, fit

    streams = [p.tokens() for p in bach]
    vocab = build_vocab(streams)
    per_piece = [[vocab.index(x) for x in s] for s in streams]
    ids = [i for p in per_piece for i in p]
    torch.manual_seed(0)
    jm = JazzModel(JazzLSTM(JazzConfig(len(vocab), **SIZES["default"])), vocab)
    t = time.perf_counter()
    hist = fit(jm, per_piece, epochs=args.epochs, generator=torch.Generator().manual_seed(0))
    per_epoch = (time.perf_counter() - t) / args.epochs
    print(f"\ntraining (LSTM 2×128, batch 64): {per_epoch:.2f} s per epoch on {len(ids)} tokens "
          f"({len(ids) / per_epoch:.0f} tokens/s); reading {len(bach)} pieces took {read_s:.1f} s "
          f"({read_s / len(bach):.2f} s each). Loss {hist[0]['loss']} → {hist[-1]['loss']}")
    n_tok = model.info["training"]["tokens"]
    n_ep = model.info["training"]["epochs"]
    print(f"  → the shipped model's corpus ({n_tok} tokens, {n_ep} epochs): about "
          f"{n_tok / len(ids) * per_epoch * n_ep:.0f} s of training here")

    # ---- quality of compositions
    reference = model.info.get("features")
    print(f"\ncomposed music: {args.seeds} seeds × 32 bars per progression, temperature 0.5")
    print(f"  {'':28s}{head}   overlap")
    all_rows, all_pieces = [], []
    for prog in PROGRESSIONS:
        pieces = [compose(model, progression=prog, bars=32,
                          generator=torch.Generator().manual_seed(s)).piece()
                  for s in range(args.seeds)]
        rows = [piece_features(p) for p in pieces]
        all_rows += rows
        all_pieces += pieces
        ov = overlap_scores(rows, reference)["mean"] if reference else float("nan")
        print(fmt_row(prog, mean_features(rows), keys) + f"{ov:>10.3f}")
    ev = evaluate_pieces(all_pieces, reference, seed=0)
    print(fmt_row("all compositions", ev.mean, keys)
          + (f"{ev.overlap['mean']:>10.3f}" if ev.overlap else ""))
    print(fmt_row("uniform random (same rhythm)", ev.uniform, keys))
    print(fmt_row("random walk (same rhythm)", ev.walk, keys))
    if reference:
        print(fmt_row("training set (mean)", mean_features(reference), keys))
        tr_rep = sorted(r["repetition"] for r in reference)
        lo, hi = tr_rep[len(tr_rep) // 10], tr_rep[(9 * len(tr_rep)) // 10]
        print(f"  training-set repetition, 10th–90th percentile: {lo:.3f}–{hi:.3f}")
    for k in ("scale_consistency", "chord_tone_ratio", "repetition"):
        print(f"  {k}: compositions / uniform = {ev.mean[k] / max(ev.uniform[k], 1e-9):.2f}, "
              f"/ random walk = {ev.mean[k] / max(ev.walk[k], 1e-9):.2f}")

    if args.biaxial_seeds > 0:
        biaxial_section(args.biaxial_seeds, keys, head)

    metheny = Path(__file__).resolve().parents[2] / "shared" / "data" / "music" / "original_metheny.mid"
    if metheny.is_file():
        mp, _ = load_pieces([str(metheny)])
        if mp:
            print()
            print(fmt_row("deepjazz's Metheny solo", piece_features(mp[0]), keys))


def biaxial_section(seeds: int, keys, head: str) -> None:
    """Compose with the shipped biaxial model and measure it like the jazz compositions."""
    from artkit.music import load_model
    from artkit.music.api import compose, model_presets
    from artkit.music.metrics import evaluate_pieces, mean_features

    if "biaxial" not in model_presets():
        print("\nbiaxial: no shipped model")
        return
    bm = load_model("biaxial")
    tr = bm.info["training"]
    print(f"\nbiaxial (polyphonic piano roll): {seeds} seeds × 16 bars at temperature 1.0; "
          f"model trained on {tr['pieces']} pieces ({tr['steps']} steps), {tr['epochs']} epochs, "
          f"{tr.get('seconds_all_runs', tr['seconds']) / 60:.1f} min")
    pieces, secs, notes = [], [], []
    for seed in range(seeds):
        t = time.perf_counter()
        score = compose(bm, bars=16, generator=torch.Generator().manual_seed(seed))
        secs.append(time.perf_counter() - t)
        notes.append(len(score.notes()))
        p = score.piece()
        if p is not None:
            pieces.append(p)
    print(f"  compose 16 bars: {statistics.median(secs):.2f} s median; notes per piece "
          f"{statistics.mean(notes):.0f}")
    if not pieces:
        print("  no composition could be measured")
        return
    ev = evaluate_pieces(pieces, bm.info.get("features"), seed=0)
    print(f"  {'':28s}{head}   overlap")
    ov = ev.overlap["mean"] if ev.overlap else float("nan")
    print(fmt_row("biaxial compositions", ev.mean, keys) + f"{ov:>10.3f}")
    print(fmt_row("uniform random (same rhythm)", ev.uniform, keys))
    print(fmt_row("random walk (same rhythm)", ev.walk, keys))
    if bm.info.get("features"):
        print(fmt_row("its training set (mean)", mean_features(bm.info["features"]), keys))


if __name__ == "__main__":
    main()

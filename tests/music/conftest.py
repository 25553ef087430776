"""Shared music fixtures: the shipped jazz model loaded once, a tiny trained model, tiny songs."""

from __future__ import annotations

import pytest
import torch

from artkit.music.midi import MidiNote, MidiSong, MidiTrack, write_midi

CHORDS = ["Dm7", "G7", "Cmaj7", "A7"]
ARPS = {"Dm7": [62, 65, 69, 72], "G7": [67, 71, 74, 77], "Cmaj7": [64, 67, 71, 72],
        "A7": [61, 64, 67, 69]}


def make_song(seed: int, bars: int = 8) -> bytes:
    """A swing-less bebop exercise: arpeggios up, a scale step, a rest, over ii-V-I-VI."""
    g = torch.Generator().manual_seed(seed)
    mel, comp, markers = [], [], []
    for b in range(bars):
        ch = CHORDS[b % 4]
        t0 = 4.0 * b
        markers.append((t0, ch))
        arp = ARPS[ch]
        rhythm = [0.5] * 6 + [1.0] if torch.rand((), generator=g) < 0.5 else [1.0, 0.5, 0.5, 1.0, 1.0]
        t = t0
        for i, d in enumerate(rhythm):
            mel.append(MidiNote(t, d, arp[i % 4] + (12 if i >= 4 and b % 2 else 0), 90))
            t += d
        comp += [MidiNote(t0, 4.0, p - 12, 60) for p in arp[:3]]
    return write_midi(MidiSong([MidiTrack("melody", 0, 0, mel), MidiTrack("piano", 1, 0, comp)],
                               markers=markers))


@pytest.fixture(scope="session")
def composer():
    """The shipped jazz model, loaded once on the CPU."""
    from artkit.music import Composer

    return Composer("jazz", device="cpu")


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    for i in range(4):
        (d / f"tune{i}.mid").write_bytes(make_song(i))
    (d / "notes.txt").write_text("not music")
    return d


@pytest.fixture(scope="session")
def tiny(corpus_dir, tmp_path_factory):
    """A tiny jazz model trained for 3 epochs (with a checkpoint), and where it was saved."""
    from artkit.music import train

    d = tmp_path_factory.mktemp("model")
    model = train([str(corpus_dir)], size="tiny", epochs=3, checkpoint=d / "tiny.ckpt.safetensors",
                  device="cpu", generator=torch.Generator().manual_seed(0))
    path = model.save(d / "tiny.safetensors")
    return model, path

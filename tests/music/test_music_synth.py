"""MIDI files, the built-in synthesiser and WAV output."""

import wave

import pytest
import torch

from artkit.core.errors import ArtkitError
from artkit.music.midi import MidiNote, MidiSong, MidiTrack, read_midi, write_midi
from artkit.music import synth
from artkit.music.synth import (TAIL_S, Renderer, check_soundfont, read_wav, render_fluidsynth,
                                synthesize, write_wav)


def song(seconds_at_120: float = 4.0) -> MidiSong:
    q = seconds_at_120 * 2          # quarters at 120 bpm
    mel = [MidiNote(float(i), 0.9, 60 + (i % 8), 90) for i in range(int(q))]
    bass = [MidiNote(float(i), 0.9, 36 + (i % 5), 80) for i in range(int(q))]
    drums = [MidiNote(float(i), 0.25, p, 80) for i in range(int(q)) for p in (36, 42, 51)]
    return MidiSong([MidiTrack("melody", 0, 0, mel), MidiTrack("bass", 2, 32, bass),
                     MidiTrack("drums", 9, 0, drums)], [(0.0, 120.0)], [(0.0, 4, 4)],
                    [(0.0, "C7"), (4.0, "F7")])


def test_midi_round_trip(tmp_path):
    s = song()
    s.tempos = [(0.0, 100.0), (4.0, 150.0)]
    p = tmp_path / "a.mid"
    p.write_bytes(write_midi(s))
    back = read_midi(p)
    assert [t.name for t in back.tracks] == ["melody", "bass", "drums"]
    assert back.tracks[2].is_drums and back.tracks[1].program == 32
    a, b = s.tracks[0].notes, back.tracks[0].notes
    assert [(n.start, n.pitch, n.velocity) for n in a] == [(n.start, n.pitch, n.velocity) for n in b]
    assert back.markers == [(0.0, "C7"), (4.0, "F7")]
    assert back.seconds(4.0) == pytest.approx(2.4) and back.seconds(6.0) == pytest.approx(3.2)


@pytest.mark.parametrize("data, match", [(b"", "empty"), (b"RIFF....", "not a readable"),
                                         (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x01\x00\x00\x90",
                                          "not a readable")])
def test_bad_midi_is_a_clear_error(tmp_path, data, match):
    p = tmp_path / "bad.mid"
    p.write_bytes(data)
    with pytest.raises(ArtkitError, match=match):
        read_midi(p)


def test_render_is_non_silent_and_the_right_length(tmp_path):
    s = song(3.0)
    audio, sr = synthesize(s, sample_rate=16000)
    assert audio.shape[0] == 2 and sr == 16000
    expect = s.duration_s + TAIL_S
    assert abs(audio.shape[1] / sr - expect) < 0.01
    assert abs(s.duration_s - 2.95) < 0.01      # last note ends at 5.9 quarters
    rms = audio.pow(2).mean().sqrt().item()
    assert rms > 0.03 and audio.abs().max().item() <= 1.0
    # every second of the song sounds (no silent holes)
    per_s = audio[:, : int(s.duration_s) * sr].reshape(2, -1, sr).pow(2).mean((0, 2)).sqrt()
    assert bool((per_s > 0.01).all())
    # the bass track is darker than the piano: more of its energy below 300 Hz
    spec = lambda x: torch.fft.rfft(x).abs()  # noqa: E731
    b = spec(synthesize(MidiSong([s.tracks[1]]), 16000, reverb=0)[0][0])
    m = spec(synthesize(MidiSong([s.tracks[0]]), 16000, reverb=0)[0][0])
    cut = int(300 / 16000 * 2 * len(b))
    assert b[:cut].sum() / b.sum() > m[:cut].sum() / m.sum()
    p = tmp_path / "o.wav"
    write_wav(p, audio, sr)
    with wave.open(str(p)) as w:
        assert w.getnchannels() == 2 and w.getsampwidth() == 2 and w.getframerate() == sr
    back, sr2 = read_wav(p)
    assert sr2 == sr and torch.allclose(back, audio, atol=1 / 16000)


def test_blocks_render_what_one_pass_renders(tmp_path, monkeypatch):
    s = song(3.0)
    whole = Renderer(s, 8000, block_s=1000).audio()
    blocks = Renderer(s, 8000, block_s=0.37).audio()       # notes and reverb cross the blocks
    assert whole.shape == blocks.shape and torch.allclose(whole, blocks, atol=1e-5)
    monkeypatch.setattr(synth, "IN_MEMORY_S", 1.0)          # a "long" piece: two passes, streamed
    r = Renderer(s, 8000, block_s=0.5)
    r.write_wav(tmp_path / "long.wav")
    back, _ = read_wav(tmp_path / "long.wav")
    assert torch.allclose(back, whole, atol=2 / 32768)
    with pytest.raises(ArtkitError, match="too long to hold in memory"):
        r.audio()


def test_same_seed_same_audio():
    s = song(1.0)
    a, _ = synthesize(s, 8000, seed=3)
    b, _ = synthesize(s, 8000, seed=3)
    assert torch.equal(a, b)


def test_soundfont_checks(tmp_path):
    fake = tmp_path / "x.sf2"
    fake.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    with pytest.raises(ArtkitError, match="not a SoundFont"):
        check_soundfont(fake)
    with pytest.raises(ArtkitError, match="does not exist"):
        check_soundfont(tmp_path / "none.sf2")
    good = tmp_path / "y.sf2"
    good.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")
    import shutil

    if shutil.which("fluidsynth") is None:
        with pytest.raises(ArtkitError, match="FluidSynth is not installed"):
            render_fluidsynth(song(1.0), good)


def test_block_convolution_matches_torchaudio():
    import torchaudio.functional as AF

    from artkit.music.synth import convolve

    g = torch.Generator().manual_seed(0)
    x, h = torch.randn(2, 70001, generator=g), torch.randn(2, 3001, generator=g)
    assert torch.allclose(convolve(x, h, block=4096), AF.fftconvolve(x, h), atol=1e-3)

"""Style corpora: built-in exemplar texts, user files, the Jane Austen corpus and its cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from artkit.core.errors import ArtkitError
from artkit.story import corpus, rdata


def test_split_sentences_keeps_abbreviations_and_quotes():
    text = 'Mr. Darcy bowed. "Are you well?" she asked! It rained'
    assert corpus.split_sentences(text) == ["Mr. Darcy bowed.", '"Are you well?"', "she asked!",
                                            "It rained"]


def test_split_passages_drops_headings_comments_and_short_bits():
    text = ("# a comment line\nCHAPTER IV\n\nShe walked into the garden and looked at the roses "
            "for a long time.\n\nToo short.\n\n" + "Word " * 150 + ".")
    out = corpus.split_passages(text)
    assert out[0].startswith("She walked into the garden")
    assert all(len(p.split()) >= corpus.MIN_WORDS for p in out)
    assert not any("CHAPTER" in p or "comment" in p for p in out)


@pytest.mark.parametrize("name", ["fairytale", "noir", "scifi", "adventure"])
def test_builtin_styles_have_a_few_dozen_passages(name):
    c = corpus.load_style(name)
    assert c.name == name and len(c.passages) >= 25
    assert len(set(c.passages)) == len(c.passages)
    assert all(8 <= len(p.split()) <= 90 for p in c.passages)


def test_user_style_file_and_its_errors(tmp_path):
    good = tmp_path / "gothic.txt"
    good.write_text("The castle loomed over the moor, black against a sky of lead.\n\n"
                    "Candles guttered in the long gallery where the portraits watched.\n",
                    encoding="utf-8")
    c = corpus.load_style(good)
    assert c.name == "gothic" and len(c.passages) == 2 and len(c.digest) == 16
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ArtkitError, match="no passages"):
        corpus.load_style(empty)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x89PNG\x00\x00\x01\x02" * 20)
    with pytest.raises(ArtkitError, match="binary"):
        corpus.load_style(binary)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait ".encode("latin-1") * 5)
    with pytest.raises(ArtkitError, match="UTF-8"):
        corpus.load_style(latin)
    with pytest.raises(ArtkitError, match="unknown style"):
        corpus.load_style("limerick")
    with pytest.raises(ArtkitError, match="folder"):
        corpus.load_style(tmp_path)


def _fake_austen(root: Path) -> Path:
    db = root / corpus.AUSTEN_DB
    db.parent.mkdir(parents=True)
    novel = ["PRIDE AND PREJUDICE", "", "Chapter 1", "",
             "It is a truth universally acknowledged, that a single man in possession",
             "of a good fortune, must be in want of a wife.", "",
             "However little known the feelings or views of such a man may be on his",
             "first entering a neighbourhood, this truth is so well fixed."]
    rdata.write_rdb(db, {n: novel for n in corpus.AUSTEN_NOVELS})
    return root


def test_romance_reads_the_r_database_and_caches_it(tmp_path, tmp_home, monkeypatch):
    from artkit.weights import store

    root = _fake_austen(tmp_path / "janeausten")
    monkeypatch.setattr(store, "data_path", lambda name: root, raising=False)
    c = corpus.load_style("romance")
    assert c.name == "romance"
    assert c.passages[0].startswith("It is a truth universally acknowledged")
    assert len(c.passages) == 2 * len(corpus.AUSTEN_NOVELS)
    cached = list((tmp_home / "cache" / "story").glob("janeausten-*.json"))
    assert len(cached) == 1
    # the second read comes from the cache, not the R database
    monkeypatch.setattr(corpus, "austen_novels", lambda root=None: pytest.fail("not cached"))
    assert corpus.load_style("romance").passages == c.passages


def test_romance_not_fetched_names_the_fix(tmp_home, monkeypatch):
    from artkit.weights import store

    def missing(name):
        raise ArtkitError(f"data '{name}' is not in the cache", "run `artkit weights fetch janeausten`")

    monkeypatch.setattr(store, "data_path", missing, raising=False)
    with pytest.raises(ArtkitError, match="not fetched") as info:
        corpus.load_style("romance")
    assert "artkit weights fetch janeausten" in info.value.one_line()

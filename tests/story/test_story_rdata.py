"""The R serialisation / lazy-load database reader, on databases written here and on the real one."""

from __future__ import annotations

import gzip
import struct
import zlib

import pytest

from artkit.story import rdata
from artkit.story.rdata import RFormatError


@pytest.mark.parametrize("version", [2, 3])
def test_roundtrip_character_vectors_and_named_lists(tmp_path, version):
    lines = ["EMMA", "", "By Jane Austen", None, "Emma Woodhouse, handsome, clever, and rich",
             "naïve — “quoted”"]
    rdata.write_rdb(tmp_path / "Rdata", {"emma": lines, "tiny": ["x"],
                                         "nested": {"a": ["1", "2"], "b": [3, 4]}}, version)
    index = rdata.read_index(tmp_path / "Rdata.rdx")
    assert list(index) == ["emma", "tiny", "nested"]
    objs = rdata.read_rdb(tmp_path / "Rdata")
    assert objs["emma"].type == rdata.STRSXP
    assert objs["emma"].value == lines
    assert objs["tiny"].value == ["x"]
    nested = objs["nested"].as_dict()
    assert nested["a"].value == ["1", "2"] and nested["b"].value == [3, 4]
    assert objs["nested"].names == ["a", "b"]
    only = rdata.read_rdb(tmp_path / "Rdata", ["tiny"])
    assert list(only) == ["tiny"]


def test_hand_built_stream_with_attributes_and_na():
    # c(a = "x", b = NA) with names: STRSXP | has-attr, 2 CHARSXPs, then the attribute pairlist
    i = lambda v: struct.pack(">i", v)
    body = (b"X\n" + i(2) + i(0x040300) + i(0x020300)
            + i(16 | 1 << 9) + i(2) + i(9 | 64 << 12) + i(1) + b"x" + i(9) + i(-1)
            + i(2 | 1 << 10) + i(1) + i(9 | 64 << 12) + i(5) + b"names"
            + i(16) + i(2) + i(9 | 64 << 12) + i(1) + b"a" + i(9 | 64 << 12) + i(1) + b"b"
            + i(254))
    obj = rdata.unserialize(body)
    assert obj.value == ["x", None]
    assert obj.names == ["a", "b"]


def test_decompress_forms():
    data = b"hello R"
    assert rdata.decompress(struct.pack(">I", 7) + zlib.compress(data)) == data
    assert rdata.decompress(struct.pack(">I", 7) + b"0" + data) == data
    import bz2, lzma
    assert rdata.decompress(struct.pack(">I", 7) + b"2" + bz2.compress(data)) == data
    assert rdata.decompress(struct.pack(">I", 7) + b"X" + lzma.compress(data)) == data
    with pytest.raises(RFormatError, match="header says"):
        rdata.decompress(struct.pack(">I", 9) + zlib.compress(data))


def test_bad_data_errors(tmp_path):
    with pytest.raises(RFormatError, match="not an XDR"):
        rdata.unserialize(b"A\n2\n")
    with pytest.raises(RFormatError, match="truncated"):
        rdata.unserialize(rdata.serialize(["abc", "def"])[:-2])
    with pytest.raises(RFormatError, match="version 7"):
        rdata.unserialize(b"X\n" + struct.pack(">iii", 7, 0, 0))
    with pytest.raises(RFormatError, match="not supported"):
        rdata.unserialize(b"X\n" + struct.pack(">iiii", 2, 0, 0, 3))  # a closure
    with pytest.raises(RFormatError, match="missing"):
        rdata.read_rdb(tmp_path / "nothing")
    rdata.write_rdb(tmp_path / "db", {"a": ["x"]})
    with pytest.raises(RFormatError, match="no object"):
        rdata.read_rdb(tmp_path / "db", ["b"])
    (tmp_path / "db.rdx").write_bytes(gzip.compress(b"X\n" + b"\x00" * 3))
    with pytest.raises(RFormatError):
        rdata.read_index(tmp_path / "db.rdx")


def test_real_janeausten_database():
    from artkit.core.errors import ArtkitError
    from artkit.story.corpus import austen_db

    try:
        base = austen_db()
    except ArtkitError as exc:
        pytest.skip(f"janeausten not fetched: {exc.one_line()}")
    objs = rdata.read_rdb(base)
    assert set(objs) == {"emma", "mansfieldpark", "northangerabbey", "persuasion",
                         "prideprejudice", "sensesensibility"}
    pride = objs["prideprejudice"].value
    assert any("truth universally acknowledged" in (ln or "") for ln in pride[:20])
    assert sum(len(o.value) for o in objs.values()) > 70_000

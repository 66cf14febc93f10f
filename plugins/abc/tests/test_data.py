import pytest
from seqkit_abc.data import header_mask, load_tunes, parse_abc, parse_course, read_text, stream, unwrap

from seqkit import SeqkitError


def test_course_format_round_trip(h, tmp_path):
    f = tmp_path / "t.txt"
    f.write_text(h.course_text(h.TUNES))  # no trailing newline, like the course files
    tunes = load_tunes(f)
    assert tunes == h.TUNES
    assert stream(tunes) == h.course_text(h.TUNES) + "\n"


def test_crlf_and_unterminated_last_block(h, tmp_path):
    f = tmp_path / "t.txt"
    f.write_bytes((h.course_text(h.TUNES[:2], newline="\r\n") + "\r\n<start>\r\nX:9\r\nK:C\r\nCDE|").encode())
    tunes = load_tunes(f)
    assert tunes[:2] == h.TUNES[:2]
    assert tunes[2] == "X:9\nK:C\nCDE|"
    assert all("\r" not in t for t in tunes)


def test_spurious_cut_is_joined_back():
    text = "<start>\nX: 2\nT:Stella\nC:Livre (\n<end>\n<start>\nXIV?me si?cle)\nK:F\nFGA|\n<end>"
    assert parse_course(text) == ["X: 2\nT:Stella\nC:Livre (\nXIV?me si?cle)\nK:F\nFGA|"]


def test_abc_files_split_on_x_lines(tmp_path):
    text = "% file header\n\nX: 1\nT:A\nK:A\nABc|\n\n\nX: 2\nT:B\nK:G\nGAB|\n"
    assert parse_abc(text) == ["X: 1\nT:A\nK:A\nABc|", "X: 2\nT:B\nK:G\nGAB|"]
    (tmp_path / "a.abc").write_text(text)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.abc").write_text("X:3\nK:D\nDEF|")
    assert len(load_tunes(tmp_path)) == 3


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"  \n\n", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"just some words\nno tunes here\n", "no tunes"),
    (b"<start>\n\n<end>\n", "no <start> ... <end> tune blocks"),
])
def test_bad_files(tmp_path, content, message):
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    with pytest.raises(SeqkitError, match=message):
        load_tunes(f)


def test_missing_file(tmp_path):
    with pytest.raises(SeqkitError, match="does not exist"):
        read_text(tmp_path / "nope.txt")


def test_unwrap_and_header_mask():
    assert unwrap("<start>\nX:1\nK:C\nCDE|\n<end>junk") == ("X:1\nK:C\nCDE|", True)
    assert unwrap("<start>\nX:1\nK:C\nCD") == ("X:1\nK:C\nCD", False)
    text = "<start>\nX:1\nT:t\nK:C\nCDE|\nw:la la\n<end>\n"
    mask = header_mask(text)
    assert len(mask) == len(text)
    assert all(mask[: text.index("CDE")])  # <start>, X:, T:, K: lines
    assert not any(mask[text.index("CDE"): text.index("<end>")])  # notes and lyrics are body


def test_course_data(h):
    folder = h.shared("abc-pa3")
    train = load_tunes(folder / "train.txt")
    val = load_tunes(folder / "val.txt")
    assert len(val) == 153
    assert len(train) == 805 - 11  # 11 spurious <end>/<start> cuts joined back
    assert all(t.startswith("X:") for t in train + val)
    # val.txt has no cuts: the stream is the file itself plus its missing final newline
    assert stream(val) == (folder / "val.txt").read_text() + "\n"
    sample = load_tunes(folder / "samplemusic.txt")  # CRLF, no markers
    assert len(sample) == 1 and "\r" not in sample[0] and sample[0].startswith("X:3")
    fur = load_tunes(folder / "fur_elise.txt")  # no <end>
    assert len(fur) == 1 and "V:2" in fur[0]


def test_nottingham(h):
    folder = h.shared("nottingham")
    assert len(load_tunes(folder / "ABC_cleaned")) == 1034
    assert len(load_tunes(folder / "ABC_original")) == 1037
    jigs = load_tunes(folder / "ABC_cleaned" / "jigs.abc")
    assert len(jigs) == 340 and jigs[0].startswith("X: 1")

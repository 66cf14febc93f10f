import pytest

from seqkit import CharTokenizer, SeqkitError
from seqkit.tokenizers import WordTokenizer, tokenizer_from_dict


def test_char_round_trip_and_json():
    tok = CharTokenizer.build(["hello world", "abc"])
    ids = tok.encode("hello", add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
    assert tok.decode(ids) == "hello"
    again = tokenizer_from_dict(tok.to_dict())
    assert again.encode("world") == tok.encode("world")
    assert again.vocab_size == tok.vocab_size


def test_char_unknown_maps_to_unk_or_errors():
    tok = CharTokenizer.build(["ab"])
    assert tok.encode("az")[1] == tok.unk_id
    strict = CharTokenizer.build(["ab"], specials=("<pad>", "<bos>", "<eos>"))
    with pytest.raises(SeqkitError, match="'z'"):
        strict.encode("az")
    assert strict.unknown("azzy") == ["z", "y"]


def test_word_tokenizer_with_split_chars():
    texts = ["one hundred and twenty-one", "ninety-nine thousand", "one billion, one thousand",
             "a - b ,c", "end,"]
    tok = WordTokenizer.build(texts, split_chars="-,")
    for t in texts:
        assert tok.decode(tok.encode(t, add_bos=True, add_eos=True)) == t
    assert "twenty" in tok.stoi and "one" in tok.stoi
    assert tokenizer_from_dict(tok.to_dict()).decode(tok.encode(texts[0])) == texts[0]


def test_decode_stops_at_eos():
    tok = CharTokenizer.build(["ab"])
    assert tok.decode([tok.stoi["a"], tok.eos_id, tok.stoi["b"]]) == "a"

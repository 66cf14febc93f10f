import shutil

import pytest
from seqkit_abc.midi import abc_to_midi, default_unit_length, pick_engine

from seqkit import SeqkitError


def test_valid_tune_converts():
    c = abc_to_midi("X:1\nT:t\nM:4/4\nL:1/8\nK:D\n|:DEFG ABcd|edcB AFD2:|")
    assert c.ok and c.strict and c.notes == 15
    assert c.midi[:4] == b"MThd"


def test_default_unit_length_per_standard():
    assert default_unit_length("X:1\nK:C\nCDE|") == "L:1/8"
    assert default_unit_length("X:1\nM:3/4\nK:C\nCDE|") is None  # music21 derives it from M:
    assert default_unit_length("X:1\nK:C\nCDE|\nM:2/4\n") == "L:1/16"
    c = abc_to_midi("X:1\nK:C\nCDEF|GABc|")
    assert c.ok and c.fixes == ("default-L",) and not c.strict


def test_unbalanced_repeats_are_played_once():
    c = abc_to_midi("X:1\nM:4/4\nL:1/4\nK:C\nCDEF:|GABc:|]|:cBAG|1 FEDC:|2 C4|]")
    assert c.ok, c.error  # music21 alone, or with the play-once repair


@pytest.mark.parametrize("abc", ["", "hello world", "X:1\nT:x\nK:C\n|:abc|]]]][[[", "X:12n\nK:C\nCDE|",
                                 "X:1\nT:no notes\nK:C\n"])
def test_invalid_abc_is_reported_not_raised(abc):
    c = abc_to_midi(abc)
    assert not c.ok and c.error and "\n" not in c.error


def test_engines():
    with pytest.raises(SeqkitError, match="unknown engine"):
        pick_engine("lilypond")
    if shutil.which("abc2midi"):
        assert abc_to_midi("X:1\nL:1/8\nK:C\nCDEF|", "abc2midi").ok
    else:
        with pytest.raises(SeqkitError, match="abc2midi is not installed"):
            pick_engine("abc2midi")

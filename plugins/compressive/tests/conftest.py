import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("SEQKIT_SHARED_DATA", REPO.parent / "shared" / "data"))
FIXTURES = SHARED / "midi-fixtures"

# clean_midi/<Artist>/<Title>.mid built from real files of ../shared/data/midi-fixtures
LAYOUT = {
    "Electric Light Orchestra/Mr. Blue Sky.mid": "multitrack/Mr. Blue Sky.mid",
    "Lipps Inc/Funkytown.mid": "multitrack/Funkytown.mid",
    "Cyndi Lauper/Girls Just Want to Have Fun.mid": "multitrack/Girls Just Want to Have Fun.mid",
    "The Doobie Brothers/What a Fool Believes.mid": "multitrack/What a Fool Believes.mid",
    "Indochine/Les Yeux Revolvers.mid": "multitrack/Les Yeux Revolvers.mid",
    "New Order/Bizarre Love Triangle.mid": "corrupted/Issue104_Bizarre_Love_Triangle2.mid",
    "Karaoke Band/Unexpected.mid": "corrupted/RunTimeError_unexpected_EOF.mid",
    "Karaoke Band/Control.mid": "corrupted/ValueError_Control168.mid",
    "Lakh Artist/d6caebd1964d9e4a3c5ea59525230e2a.mid": "lakh/d6caebd1964d9e4a3c5ea59525230e2a.mid",
    "Lakh Artist/d8faddb8596fff7abb24d78666f73e4e.mid": "lakh/d8faddb8596fff7abb24d78666f73e4e.mid",
}


@pytest.fixture(scope="session")
def midi_fixtures():
    if not FIXTURES.is_dir():
        pytest.skip(f"../shared/data/midi-fixtures not present: {FIXTURES}")
    return FIXTURES


@pytest.fixture(scope="session")
def lakh_root(tmp_path_factory):
    if not FIXTURES.is_dir():
        pytest.skip(f"../shared/data/midi-fixtures not present: {FIXTURES}")
    root = tmp_path_factory.mktemp("lakh") / "clean_midi"
    for dest, src in LAYOUT.items():
        (root / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / src, root / dest)
    (root / "Lakh Artist" / "notes.txt").write_text("not a MIDI file")
    genres = root.parent / "genres.csv"
    genres.write_text("artist,genre\nElectric Light Orchestra,rock\nThe Doobie Brothers,rock\n"
                      "Indochine,rock\nLipps Inc,disco\nCyndi Lauper,pop\nNew Order,pop\n"
                      "Karaoke Band,pop\n")
    return root

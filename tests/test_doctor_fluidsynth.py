"""`seqkit doctor` names what is really missing of FluidSynth (issue 29, item 10): with pyfluidsynth
installed it never says `pip install pyfluidsynth`."""

import ctypes.util
import importlib.util

from seqkit.cli import doctor


def _pretend(monkeypatch, package: bool, library: bool):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(doctor, "fluidsynth_ok", lambda: False)
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (object() if package else None) if name == "fluidsynth"
                        else real_find_spec(name, *a))
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libfluidsynth.so.3" if library else None)


def test_package_installed_library_missing(monkeypatch):
    _pretend(monkeypatch, package=True, library=False)
    report = doctor.collect()
    assert "pip install" not in report["install fluidsynth"]
    assert "apt-get install fluidsynth" in report["install fluidsynth"]
    assert "library it loads is missing" in report["synthesizer"]


def test_library_installed_package_missing(monkeypatch):
    _pretend(monkeypatch, package=False, library=True)
    report = doctor.collect()
    assert report["install fluidsynth"].startswith("pip install pyfluidsynth")
    assert "apt-get" not in report["install fluidsynth"]


def test_both_missing_and_both_there(monkeypatch):
    _pretend(monkeypatch, package=False, library=False)
    hint = doctor.collect()["install fluidsynth"]
    assert "apt-get install fluidsynth" in hint and "pip install pyfluidsynth" in hint
    monkeypatch.setattr(doctor, "fluidsynth_ok", lambda: True)
    report = doctor.collect()
    assert "install fluidsynth" not in report and report["synthesizer"] == "pyfluidsynth available"

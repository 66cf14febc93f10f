"""``seqkit doctor``: what seqkit sees on this machine."""

from __future__ import annotations

import glob
import platform
import shutil
import sys


def _soundfonts() -> list[str]:
    found = []
    try:
        import importlib.util

        spec = importlib.util.find_spec("pretty_midi")
        if spec and spec.origin:
            import os

            bundled = os.path.join(os.path.dirname(spec.origin), "TimGM6mb.sf2")
            if os.path.exists(bundled):
                found.append(bundled)
    except Exception:
        pass
    for pattern in ("/usr/share/sounds/sf2/*.sf2", "/usr/share/soundfonts/*.sf2", "/usr/local/share/soundfonts/*.sf2"):
        found.extend(sorted(glob.glob(pattern)))
    return found


# How to get FluidSynth (the library pyfluidsynth loads) and a General MIDI SoundFont.
FLUIDSYNTH_INSTALL = {
    "Debian/Ubuntu": "sudo apt-get install fluidsynth timgm6mb-soundfont",
    "macOS": "brew install fluid-synth",
    "Windows": "choco install fluidsynth (or unpack a release from "
               "github.com/FluidSynth/fluidsynth/releases and put its bin folder on PATH)",
}


def fluidsynth_ok() -> bool:
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth: ImportError/OSError without libfluidsynth)
    except Exception:
        return False
    return True


def _fluidsynth() -> str:
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth)

        return "pyfluidsynth available"
    except Exception as exc:
        lib = shutil.which("fluidsynth")
        if lib:
            return f"fluidsynth program at {lib} (pyfluidsynth not importable: {type(exc).__name__})"
        return "not found (audio falls back to sine synthesis)"


def install_hint() -> str:
    """One line: how to install FluidSynth on each system, and pyfluidsynth."""
    systems = "; ".join(f"{system}: {how}" for system, how in FLUIDSYNTH_INSTALL.items())
    return f"{systems}; then pip install pyfluidsynth (in seqkit's environment)"


def collect() -> dict:
    from . import __version__
    from .checkpoints import user_checkpoint_dir
    from .data import cache_dir, data_dir, folder_problem
    from .plugins import plugin_infos

    report: dict = {"seqkit": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    try:
        import torch

        report["torch"] = torch.__version__
        report["cuda"] = (f"{torch.cuda.device_count()} device(s): {torch.cuda.get_device_name(0)}"
                          if torch.cuda.is_available() else "not available")
        mps = getattr(torch.backends, "mps", None)
        report["mps"] = "available" if mps is not None and mps.is_available() else "not available"
        from .device import pick_device

        report["device (auto)"] = str(pick_device("auto"))
    except ImportError:
        report["torch"] = "NOT INSTALLED"
    from .inference import backend_report, threads_report

    report["inference backend"] = backend_report()
    report["threads"] = threads_report()
    report["synthesizer"] = _fluidsynth()
    if not fluidsynth_ok():
        report["install fluidsynth"] = install_hint()
    sfs = _soundfonts()
    report["soundfonts"] = ", ".join(sfs) if sfs else "none found"
    report["abc2midi"] = shutil.which("abc2midi") or "not found (music21 converts ABC)"
    for key, folder in (("cache folder", cache_dir(create=False)), ("data folder", data_dir(create=False)),
                        ("checkpoint folder", user_checkpoint_dir())):
        problem = folder_problem(folder)
        report[key] = f"{folder} (PROBLEM: {problem}; training and downloads need it)" if problem else str(folder)
    infos = plugin_infos()
    report["plugins"] = ", ".join(f"{i.name}{' (BROKEN)' if i.error else ''}" for i in infos)
    return report

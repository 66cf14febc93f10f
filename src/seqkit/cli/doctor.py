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


def fluidsynth_parts() -> tuple[bool, bool]:
    """``(package, library)``: whether the pyfluidsynth package is installed, and whether the
    FluidSynth library it loads is (an import that works says both are)."""
    import importlib.util

    if fluidsynth_ok():
        return True, True
    package = importlib.util.find_spec("fluidsynth") is not None
    try:
        import ctypes.util

        library = any(ctypes.util.find_library(name) for name in ("fluidsynth", "libfluidsynth-3",
                                                                   "libfluidsynth-2", "libfluidsynth"))
    except Exception:
        library = False
    return package, library


def _fluidsynth() -> str:
    package, library = fluidsynth_parts()
    if package and library:
        return "pyfluidsynth available"
    if package:
        return "pyfluidsynth installed, but the FluidSynth library it loads is missing (audio falls back to sine synthesis)"
    lib = shutil.which("fluidsynth")
    if library or lib:
        return (f"FluidSynth {'library' if library else f'program at {lib}'} found, but pyfluidsynth is not "
                f"installed (audio falls back to sine synthesis)")
    return "not found (audio falls back to sine synthesis)"


def install_hint(package: bool = False, library: bool = False) -> str:
    """One line: what is missing of FluidSynth and how to get it: the system library on each
    system, the pyfluidsynth package, or both."""
    systems = "; ".join(f"{system}: {how}" for system, how in FLUIDSYNTH_INSTALL.items())
    pip = "pip install pyfluidsynth (in seqkit's environment)"
    if package and not library:
        return f"the FluidSynth library (pyfluidsynth is installed): {systems}"
    if library and not package:
        return pip
    return f"{systems}; then {pip}"


def collect() -> dict:
    from seqkit import __version__
    from seqkit.host.plugins import plugin_infos
    from seqkit.io.checkpoints import user_checkpoint_dir
    from seqkit.io.data import cache_dir, data_dir, folder_problem

    report: dict = {"seqkit": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    try:
        import torch

        report["torch"] = torch.__version__
        report["cuda"] = (f"{torch.cuda.device_count()} device(s): {torch.cuda.get_device_name(0)}"
                          if torch.cuda.is_available() else "not available")
        mps = getattr(torch.backends, "mps", None)
        report["mps"] = "available" if mps is not None and mps.is_available() else "not available"
        from seqkit.device import pick_device

        report["device (auto)"] = str(pick_device("auto"))
    except ImportError:
        report["torch"] = "NOT INSTALLED"
    from seqkit.generation.inference import backend_report, threads_report

    report["inference backend"] = backend_report()
    report["threads"] = threads_report()
    report["synthesizer"] = _fluidsynth()
    package, library = fluidsynth_parts()
    if not (package and library):
        report["install fluidsynth"] = install_hint(package, library)
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

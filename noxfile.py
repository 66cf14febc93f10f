"""Developer sessions: ``nox -s tests``, ``nox -s core``, ``nox -s lint``, ``nox -s bench``.

The sessions run in the environment where the README's install command put seqkit and its
plugins (``venv_backend="none"``): PyTorch is large, and the tests should exercise exactly what a
user installed. Use a virtual environment for that install.
"""

from __future__ import annotations

import glob
import os

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

TEST_PATHS = ["tests", *sorted(glob.glob("plugins/*/tests"))]
EXAMPLES = sorted(p for p in glob.glob("examples/*") if os.path.exists(os.path.join(p, "pyproject.toml")))


@nox.session(venv_backend="none")
def tests(session):
    """Run the whole suite: core, every bundled plugin, and the example third-party plugin."""
    session.run("python", "-m", "pip", "install", "-q", "pytest>=7", "hypothesis>=6", external=True)
    session.run("python", "-m", "pytest", *TEST_PATHS, *session.posargs, external=True,
                env={"SEQKIT_PROGRESS": "0"})
    for example in EXAMPLES:  # third-party examples: installed like a user would, then tested
        session.log(f"example plugin: {example}")
        session.run("python", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", example,
                    external=True)
        session.run("python", "-m", "pytest", os.path.join(example, "tests"), "-q", external=True,
                    env={"SEQKIT_PROGRESS": "0"})
        name = "seqkit-" + os.path.basename(example).removeprefix("seqkit-")
        session.run("python", "-m", "pip", "uninstall", "-q", "-y", name, external=True)


@nox.session(venv_backend="venv")
def core(session):
    """Core alone: a fresh virtual environment with seqkit, its extras and the test tools but no
    bundled plugin, running ``tests/`` (core's tests need no plugin; the ones about plugins bring
    their own or skip)."""
    env = {"SEQKIT_PROGRESS": "0", "PYTHONPATH": ""}  # this checkout's seqkit only, no plugin source
    session.install("torch==2.13.0", env=env)  # the CPU build where the local index has it
    session.install("-e", ".[test,onnx,plot,tensorboard]", env=env)
    # pytest's testpaths is tests/; test paths among the arguments narrow it
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs, env=env)


@nox.session(venv_backend="none")
def lint(session):
    """ruff over everything."""
    session.run("python", "-m", "pip", "install", "-q", "ruff", external=True)
    session.run("ruff", "check", "src", "tests", "plugins", "benchmarks", "examples", "noxfile.py", external=True)


@nox.session(venv_backend="none")
def bench(session):
    """Run every benchmark in benchmarks/ (each prints a table)."""
    for script in sorted(glob.glob("benchmarks/*.py")):
        session.log(script)
        session.run("python", script, *session.posargs, external=True)

"""The ``seqkit`` command line: the root app (``root``, built by ``build_app()`` when ``main()``
runs), ``seqkit plugins`` (``plugins``, with ``scaffold`` for ``plugins new``), ``export-onnx``
(``onnx``), ``doctor``, and the command kits plugins build their commands with (``generate``,
``train``, ``evaluate``).

Importing this package loads no plugin and no torch.
"""

from __future__ import annotations


def main(argv: list[str] | None = None):
    """The ``seqkit`` console script."""
    from seqkit.cli.root import main as run

    return run(argv)


def __getattr__(name: str):
    """``seqkit.cli.app`` (0.5 built the app at import): a new app, built when asked, with a warning."""
    if name != "app":
        raise AttributeError(f"module 'seqkit.cli' has no attribute {name!r}")
    import warnings

    warnings.warn("seqkit.cli.app is built on request since 0.6: use seqkit.testing.cli_app() in tests "
                  "(seqkit.cli.app goes in 0.7)", DeprecationWarning, stacklevel=2)
    from seqkit.cli.root import build_app

    return build_app()

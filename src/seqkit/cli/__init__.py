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

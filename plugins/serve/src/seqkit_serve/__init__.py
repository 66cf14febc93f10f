"""seqkit-serve: ``seqkit serve``, a local web page and JSON API over every registered generator.

The page and the API are built from :func:`seqkit.host.generators` and each generator's parameter
schema, never from a list of plugins: a third-party generator appears with its own form.
"""

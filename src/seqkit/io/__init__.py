"""Files: checkpoints, output paths and atomic writes (``paths``), locks, data downloads and
seqkit's cache and data folders (``data``).
"""

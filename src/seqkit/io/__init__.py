"""Files: checkpoints (``checkpoints``), output paths and atomic writes (``paths``), locks, data
downloads and seqkit's cache and data folders (``data``)::

    from seqkit.io import read_meta, save_checkpoint, sha256_file

The names below are imported on first use.
"""

from __future__ import annotations

from seqkit._lazy import lazy_exports

_EXPORTS = {
    # checkpoints
    "Checkpoint": "seqkit.io.checkpoints",
    "save_checkpoint": "seqkit.io.checkpoints",
    "load_checkpoint": "seqkit.io.checkpoints",
    "export_checkpoint": "seqkit.io.checkpoints",
    "read_meta": "seqkit.io.checkpoints",
    "find_checkpoint": "seqkit.io.checkpoints",
    "list_checkpoints": "seqkit.io.checkpoints",
    "user_checkpoint_dir": "seqkit.io.checkpoints",
    "user_checkpoint_path": "seqkit.io.checkpoints",
    "atomic_write_bytes": "seqkit.io.checkpoints",
    # output paths
    "check_writable": "seqkit.io.paths",
    "numbered": "seqkit.io.paths",
    # data and seqkit's folders
    "cache_dir": "seqkit.io.data",
    "data_dir": "seqkit.io.data",
    "seeded_split": "seqkit.io.data",
    "pad_sequences": "seqkit.io.data",
    "download": "seqkit.io.data",
    "sha256_file": "seqkit.io.data",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

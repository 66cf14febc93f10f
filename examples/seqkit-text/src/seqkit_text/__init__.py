"""seqkit-text: character-level language models of any UTF-8 text (an example seqkit plugin)."""

__version__ = "0.1.0"

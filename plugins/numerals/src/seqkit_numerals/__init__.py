"""seqkit-numerals: write numbers as words with seq2seq models trained on num2words pairs."""

__version__ = "0.1.0"

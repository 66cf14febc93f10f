"""seqkit-names: surnames of 18 languages generated for a country (RNN, LSTM, GRU, Transformer)."""

__version__ = "0.1.0"

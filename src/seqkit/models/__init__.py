"""Model building blocks, one readable file each: ``rnn``, ``transformer``, ``seq2seq``."""

"""What `seqkit abc train` needs that is abc's own: its architectures, its data options and its
training defaults (the course baseline: batch 32, lr 4e-3, Adam, 20 epochs, patience 3). The
options, checks, Trainer, resume and export are seqkit's (the train command kit).

Plain Python at import (no torch): the data is read by ``training.prepare``.
"""

from __future__ import annotations

from seqkit import Arch, Param, TrainRecipe

_RNN = {"n_embd": 64, "hidden": 150, "n_layer": 1, "dropout": 0.0}

ABC_TRAINING = TrainRecipe(
    task="abc",
    prepare="seqkit_abc.training:prepare",
    archs={cell: Arch("rnn-lm", {"cell": cell, **_RNN}) for cell in ("lstm", "gru", "rnn")},
    offered="tokens",  # and the token-LM architectures other plugins offer (register_architectures)
    params=[
        Param("val", "file", None, "Validation tunes (default: the course val.txt when --data is not "
              "given, else 10% of --data, fixed seed)."),
        Param("format", "choice", "auto", "Tune file format: auto, course (<start>/<end> blocks) or abc (X: tunes).",
              choices=("auto", "course", "abc")),
        Param("seq_len", "int", 100, "Characters per training slice.", min=2),
        Param("transpose", "int", 0, "Add this many key-transposed copies of every training tune "
              "(augmentation: K: and every note moved by a random interval of up to 5 semitones).",
              min=0, max=10),
    ],
    train={"epochs": 20, "batch_size": 32, "lr": 4e-3, "optimizer": "adam", "patience": 3},
    description="Train a character model on ABC tunes and save the best one (float16) as --save NAME "
                "(default my-ARCH). --data: a course file (<start>/<end> blocks), an .abc file or a "
                "folder; default ../shared/data/abc-pa3/train.txt and val.txt. Prints loss and accuracy "
                "after every epoch.",
    save_as="my-{arch}",
    onnx_graphs="int8",  # `abc generate` runs them on ONNX Runtime, without torch (int8: docs/abc.md)
    # the flags before 0.5, kept one release, hidden, with a one-line deprecation: settings are --set key=value
    deprecated={"--model": "arch", "--hidden": "hidden", "--layers": "n_layer", "--embd": "n_embd",
                "--dropout": "dropout", "--optimizer": "optimizer", "--schedule": "schedule",
                "--patience": "patience"},
)

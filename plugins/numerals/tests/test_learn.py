"""Both architectures learn 0..999 from 900 examples in a few CPU seconds."""

from seqkit_numerals.data import build_pairs, split_pairs
from seqkit_numerals.evaluation import score
from seqkit_numerals.translate import Translator

from seqkit import load_checkpoint


def test_models_learn_a_tiny_range(tiny_models):
    for arch, (_path, summary) in tiny_models.items():
        assert summary["test_n"] == 50 and summary["steps"] == 400
        assert summary["test_exact"] >= 0.9, arch
        assert summary["test_token_acc"] >= 0.97, arch
        assert summary["best_val_loss"] < 0.2, arch


def test_checkpoint_is_self_contained(tiny_models):
    path, result = tiny_models["gru"]
    ckpt = load_checkpoint(path, expect_task="numerals")
    assert ckpt.meta["model_type"] == "gru-seq2seq"
    assert ckpt.meta["dtype"] == "float16"
    assert ckpt.meta["data"]["max"] == 1000
    assert ckpt.extra["src_tokenizer"]["type"] == "char"
    assert ckpt.meta["metrics"]["test_exact"] == result["test_exact"] and ckpt.meta["metrics"]["exported"] == "best"


def test_translator_batches_like_single_calls(tiny_models):
    tr = Translator.load(str(tiny_models["transformer"][0]))
    numbers = [5, 999, 40, 117, 0, 18]
    together = tr.words(numbers, batch_size=4)
    assert together == [tr.words([n])[0] for n in numbers]
    spec = tr.spec
    pairs = split_pairs(build_pairs(spec, progress=False), spec)["test"]
    assert score(tr, pairs)["exact"] == tiny_models["transformer"][1]["test_exact"]

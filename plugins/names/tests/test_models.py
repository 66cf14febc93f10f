import pytest
import torch
from seqkit_names.classifier import ClassifierConfig, NameClassifier
from seqkit_names.tutorial_rnn import TutorialRNN, TutorialRNNConfig


def test_tutorial_rnn_matches_the_step_by_step_cell():
    torch.manual_seed(0)
    m = TutorialRNN(TutorialRNNConfig(vocab_size=11, n_cond=3, hidden=8)).eval()
    idx = torch.randint(0, 11, (2, 5))
    cond = torch.tensor([0, 2])
    logits, h = m(idx, cond=cond)
    hidden = torch.zeros(2, 8)
    for t in range(5):
        out, hidden = m.step(idx[:, t], cond, hidden)
        torch.testing.assert_close(logits[:, t], out)
    torch.testing.assert_close(h, hidden)
    # the cache continues where the prefix stopped
    first, cache = m(idx[:, :3], cond=cond)
    rest, _ = m(idx[:, 3:], cond=cond, cache=cache)
    torch.testing.assert_close(torch.cat([first, rest], 1), logits)


def test_tutorial_rnn_has_the_tutorials_layers():
    m = TutorialRNN(TutorialRNNConfig(vocab_size=59, n_cond=18, hidden=128))
    assert m.i2h.weight.shape == (128, 18 + 59 + 128)
    assert m.i2o.weight.shape == (59, 18 + 59 + 128)
    assert m.o2o.weight.shape == (59, 128 + 59)
    assert m.dropout.p == 0.1


def test_classifier_ignores_padding():
    torch.manual_seed(0)
    m = NameClassifier(ClassifierConfig(vocab_size=10, n_classes=4, hidden=8, n_embd=4)).eval()
    a = m(torch.tensor([[5, 6, 7]]))
    b = m(torch.tensor([[5, 6, 7, 0, 0], [4, 0, 0, 0, 0]]))
    assert b.shape == (2, 4)
    torch.testing.assert_close(a[0], b[0])


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru", "transformer"])
def test_every_generator_trains_and_follows_the_country(arch, tiny_models, tiny_folder):
    from seqkit_names.data import ALPHABET
    from seqkit_names.generator import load_generator, pick_names

    from seqkit import read_meta

    meta = read_meta(tiny_models[arch])
    assert meta["model_type"] == {"rnn": "names-rnn", "transformer": "transformer-lm"}.get(arch, "rnn-lm")
    assert meta["config"]["n_cond"] == 2 and meta["dtype"] == "float16"
    assert meta["metrics"]["val_loss"] < 2.5  # well below uniform over 59 symbols (4.08)
    gen = load_generator(str(tiny_models[arch]))
    alpha, _ = pick_names(gen, "Alpha", 20, seed=1)
    beta, _ = pick_names(gen, "Beta", 20, seed=1)
    for rows in (alpha, beta):
        assert len(rows) == 20
        assert all(r["name"] and set(r["name"]) <= ALPHABET and len(r["name"]) <= 30 for r in rows)
    # the country drives the first letter: K for Alpha, V for Beta
    assert sum(r["name"][0] == "K" for r in alpha) >= 12  # chance is about 1 in 20
    assert sum(r["name"][0] == "V" for r in beta) >= 12


def test_classifier_learns_the_tiny_countries(tiny_models, tiny_folder):
    from seqkit_names.data import load_folder
    from seqkit_names.evaluation import classifier_report, classify, load_classifier

    clf = load_classifier(str(tiny_models["classifier"]))
    assert clf.meta["model_type"] == "names-classifier"
    assert classify(clf.model, clf.tokenizer, ["Kostopoulos", "Ivanov"]) == [0, 1]
    report = classifier_report(clf, load_folder(tiny_folder))
    assert report["accuracy"] == 1.0


def test_oversample_repeats_small_countries_up_to_the_cap():
    from collections import Counter

    from seqkit_names.training import oversample

    pairs = [(f"a{i}", 0) for i in range(100)] + [(f"b{i}", 1) for i in range(25)] + [("c", 2)]
    # mean count 42: country 0 once, 1 twice (42/25 = 1.7), 2 42 times
    assert Counter(c for _, c in oversample(pairs, 3, 1.0)) == {0: 100, 1: 50, 2: 42}
    assert Counter(c for _, c in oversample(pairs, 3, 1.0, cap=3)) == {0: 100, 1: 50, 2: 3}
    assert oversample(pairs, 3, 0.0) == pairs

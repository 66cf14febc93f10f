"""The Compressive Transformer: settings, memory semantics, equivalences, training hooks."""

import pytest
import torch
from seqkit_compressive.model import CompressiveConfig, CompressiveTransformer

from seqkit import SeqkitError, generate, get_model_type, lm_loss
from seqkit.models import TransformerConfig, TransformerLM

torch.set_num_threads(1)


def tiny(**kw):
    base = dict(vocab_size=40, n_layer=2, n_head=2, n_embd=16, seg_len=4, mem_len=8, cmem_len=4, cmem_ratio=2)
    base.update(kw)
    return CompressiveTransformer(CompressiveConfig(**base)).eval()


@pytest.mark.parametrize("kw, message", [
    (dict(cmem_len=2), "shorter than mem_len / cmem_ratio"),
    (dict(mem_len=0, cmem_len=4), "needs mem_len > 0"),
    (dict(mem_len=6, cmem_len=4, cmem_ratio=4), "multiples of cmem_ratio"),
    (dict(compression="median"), "compression must be one of"),
    (dict(memory_layers="3"), "outside 1..2"),
    (dict(n_embd=18, n_head=4), "n_head"),
])
def test_inconsistent_settings_are_clear_errors(kw, message):
    with pytest.raises(SeqkitError, match=message):
        tiny(**kw)


def test_registry_builds_from_strings_like_set_options():
    mtype = get_model_type("compressive")
    config = mtype.make_config({"vocab_size": "40", "n_layer": "2", "n_head": "2", "n_embd": "16", "seg_len": "4",
                                "mem_len": "8", "cmem_len": "4", "cmem_ratio": "2", "memory_layers": "2",
                                "aux_weight": "0.5", "compression": "max"})
    model = mtype.build(config)
    assert config.memory_layers == (2,) and config.aux_weight == 0.5
    assert [b.memory for b in model.blocks] == [False, True]
    with pytest.raises(SeqkitError, match="no setting"):
        mtype.make_config({"vocab_size": 40, "max_len": 512})


def test_memory_is_fifo_and_compressed_memory_pools_what_falls_out():
    torch.manual_seed(0)
    model = tiny(compression="mean", memory_layers=(1,))  # layer 1's memory holds token embeddings
    idx = torch.randint(0, 40, (2, 16))
    _, cache = model(idx)
    emb = model.tok(idx)
    assert cache.t == 0  # 4 full segments: everything went into the memories
    assert cache.mem[1] is None and cache.cmem[1] is None  # layer 2 has no memory
    assert cache.mem[0].shape == (2, 8, 16) and cache.cmem[0].shape == (2, 4, 16)
    torch.testing.assert_close(cache.mem[0], emb[:, 8:16])  # the last 8 positions, oldest first
    pooled = emb[:, :8].reshape(2, 4, 2, 16).mean(2)  # tokens 0..7 fell out, 2 per slot
    torch.testing.assert_close(cache.cmem[0], pooled)
    # a partial last segment stays out of the memories
    _, cache = model(idx[:, :10])
    assert cache.t == 2 and cache.cmem[0] is None  # nothing fell out of the memory yet
    torch.testing.assert_close(cache.mem[0], emb[:, :8])


def test_compressed_memory_keeps_only_the_newest_cmem_len():
    model = tiny(compression="max", memory_layers=(1,))
    idx = torch.randint(0, 40, (1, 40))  # 10 segments: 24 positions fall out -> 12 slots made, 4 kept
    _, cache = model(idx)
    emb = model.tok(idx)
    torch.testing.assert_close(cache.mem[0], emb[:, 32:40])
    torch.testing.assert_close(cache.cmem[0], emb[:, 24:32].reshape(1, 4, 2, 16).amax(2))


def test_mem_len_zero_is_a_plain_transformer_with_the_same_weights():
    torch.manual_seed(0)
    model = tiny(seg_len=16, mem_len=0, cmem_len=0)
    plain = TransformerLM(TransformerConfig(vocab_size=40, n_layer=2, n_head=2, n_embd=16, position="rope",
                                            max_len=16)).eval()
    plain.load_state_dict(model.state_dict(), strict=True)  # the same parameter names and shapes
    idx = torch.randint(0, 40, (3, 16))
    torch.testing.assert_close(model(idx)[0], plain(idx)[0])
    # and segment by segment: each segment on its own
    long = torch.randint(0, 40, (2, 32))
    torch.testing.assert_close(model(long)[0][:, 16:], plain(long[:, 16:])[0])


@pytest.mark.parametrize("compression, layers", [("conv", ()), ("mean", (2,)), ("max", (1,))])
def test_cached_steps_equal_recomputation(compression, layers):
    torch.manual_seed(0)
    model = tiny(compression=compression, memory_layers=layers, n_layer=2)
    idx = torch.randint(0, 40, (2, 27))
    full, _ = model(idx)
    for prompt in (1, 6, 8):  # inside a segment, and exactly at a segment boundary
        cache = model.new_cache()
        logits, cache = model(idx[:, :prompt], cache=cache)
        steps = [logits]
        for j in range(prompt, 27):
            logits, cache = model(idx[:, j:j + 1], cache=cache)
            steps.append(logits)
        torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-4)
    # several new tokens at once through the cache give the same too
    cache = model.new_cache()
    a, cache = model(idx[:, :5], cache=cache)
    b, cache = model(idx[:, 5:27], cache=cache)
    torch.testing.assert_close(torch.cat([a, b], 1), full, atol=1e-5, rtol=1e-4)


def test_core_generate_carries_memories_and_is_seeded():
    torch.manual_seed(0)
    model = tiny(n_cond=3)
    prompt = torch.randint(0, 40, (2, 3))
    cond = torch.tensor([0, 2])
    a = generate(model, prompt, 21, cond=cond, generator=torch.Generator().manual_seed(1))
    b = generate(model, prompt, 21, cond=cond, generator=torch.Generator().manual_seed(1))
    assert a.shape == (2, 21) and torch.equal(a, b)
    greedy = generate(model, prompt, 12, temperature=0, cond=cond)
    seq = prompt
    for _ in range(12):  # recompute everything from scratch at each step
        nxt = model(seq, cond=cond)[0][:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], 1)
    assert torch.equal(greedy, seq[:, 3:])


def test_reconstruction_loss_trains_only_the_compression():
    torch.manual_seed(0)
    model = tiny().train()
    idx = torch.randint(0, 40, (2, 17))
    batch = {"input": idx[:, :-1], "target": idx[:, 1:]}
    loss, n, _ = lm_loss(model, batch)
    assert model.aux_loss is not None and model.aux_loss.item() > 0 and int(n) == 32
    loss.backward()
    conv = model.blocks[0].compress.conv.weight
    assert conv.grad is not None and conv.grad.abs().sum() > 0
    # without the auxiliary loss no gradient reaches the compression (cmem is stop-gradient)
    model.zero_grad(set_to_none=True)
    model.config.aux_weight = 0.0
    loss, _, _ = lm_loss(model, batch)
    assert model.aux_loss is None
    loss.backward()
    assert conv.grad is None
    assert model.tok.weight.grad is not None


def test_eval_mode_sets_no_aux_loss_and_conv_starts_as_mean_pooling():
    torch.manual_seed(0)
    conv_model = tiny(compression="conv", memory_layers=(1,))
    mean_model = tiny(compression="mean", memory_layers=(1,))
    mean_model.load_state_dict(conv_model.state_dict(), strict=False)
    idx = torch.randint(0, 40, (1, 16))
    a, ca = conv_model(idx)
    b, cb = mean_model(idx)
    assert conv_model.aux_loss is None
    torch.testing.assert_close(ca.cmem[0], cb.cmem[0])
    torch.testing.assert_close(a, b)


def test_checkpoint_round_trip(tmp_path):
    from seqkit import load_checkpoint
    from seqkit.io import save_checkpoint

    model = tiny(memory_layers=(2,))
    path = save_checkpoint(tmp_path / "c.json", model, model_type="compressive", config=model.config, task="music")
    ck = load_checkpoint(path)
    assert ck.config.memory_layers == (2,)
    idx = torch.randint(0, 40, (1, 13))
    torch.testing.assert_close(ck.model(idx)[0], model(idx)[0])


def test_trainer_fits_a_few_steps(tmp_path):
    from seqkit import TrainConfig, Trainer

    torch.manual_seed(0)
    model = tiny()
    pattern = torch.arange(24) % 5
    items = [{"input": pattern[:-1], "target": pattern[1:]} for _ in range(8)]

    def collate(rows):
        return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}

    cfg = TrainConfig(steps=40, batch_size=4, lr=1e-2, progress=False, device="cpu", eval_every=40)
    trainer = Trainer(model, cfg, items, items[:4], collate=collate, out=tmp_path / "run",
                      checkpoint=dict(model_type="compressive", config=model.config, task="music"))
    result = trainer.fit()
    assert result["steps"] == 40 and result["best_val_loss"] < 0.5


def test_short_windows_keep_the_compression_in_the_graph_for_ddp():
    model = tiny().train()
    idx = torch.randint(0, 40, (2, 9))  # 2 segments: the memory never overflows
    loss, _, _ = lm_loss(model, {"input": idx[:, :-1], "target": idx[:, 1:]})
    assert model.aux_loss is not None and model.aux_loss.detach().item() == 0.0 and model.aux_loss.requires_grad
    loss.backward()
    assert all(p.grad is not None and not p.grad.any() for p in model.blocks[0].compress.parameters())


def test_config_command_reports_settings_and_errors():
    import json

    from seqkit.testing import run_cli

    r = run_cli(["compressive", "config", "--set", "memory_layers=5,6", "--set", "mem_len=1024",
                                 "--set", "cmem_len=256", "--set", "seg_len=1024", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["memory_layers"] == [5, 6] and info["context"] == 1024 + 1024 + 256 * 4
    assert 19_000_000 < info["parameters"] < 23_000_000
    r = run_cli(["compressive", "config", "--set", "compression=median"])
    assert r.exit_code == 2 and "Error: compression must be one of conv, mean, max" in r.output
    r = run_cli(["compressive", "config", "--set", "mem_len"])
    assert r.exit_code == 2 and "--set takes key=value" in r.output


def test_memories_carry_information_across_segments():
    """Copy task: the second segment repeats the first. Without memory its tokens are random
    (log 16 = 2.77 nats); through the memory the model learns to copy them."""
    torch.manual_seed(0)
    model = CompressiveTransformer(CompressiveConfig(vocab_size=16, n_layer=2, n_head=2, n_embd=32, seg_len=16,
                                                     mem_len=16, cmem_len=0)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(600):
        a = torch.randint(0, 16, (16, 16))
        x = torch.cat([a, a], 1)
        logits, _ = model(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 16), x[:, 1:].reshape(-1), reduction="none")
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
    second = loss.view(16, -1)[:, 16:].mean().item()
    assert second < 1.5  # far below the 2.77 nats any memoryless model gets


def test_torch_compile_traces_training_forward_in_one_graph():
    """No graph breaks: the segment loop, memories and reconstruction loss trace as one graph."""
    model = tiny(seg_len=4, mem_len=8, cmem_len=4).train()
    idx = torch.randint(0, 40, (2, 16))
    explained = torch._dynamo.explain(model)(idx)
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    compiled = torch.compile(model, backend="aot_eager")
    torch.testing.assert_close(compiled(idx)[0], model(idx)[0])
    assert model.aux_loss is not None


@pytest.mark.parametrize("compression", ["conv", "mean"])
def test_reading_on_from_memories_equals_one_long_pass(compression):
    """seqkit's memory protocol: windows of one stream read on from the memories the window before
    left compute what one pass over the whole rows computes (memories detached either way)."""
    from seqkit.testing import check_memory_model

    torch.manual_seed(0)
    model = tiny(compression=compression).train()
    check_memory_model(model, vocab_size=40, batch_size=3, windows=3)
    idx = torch.randint(0, 40, (3, 24))
    whole, _ = model(idx)
    memory, parts = model.init_memory(3, idx.device), []
    for s in range(0, 24, 8):
        logits, memory = model(idx[:, s:s + 8], memory=memory)
        parts.append(logits)
    torch.testing.assert_close(torch.cat(parts, 1), whole)
    if compression == "conv":  # the 3rd window compressed what fell out: a reconstruction loss
        assert model.aux_loss is not None and model.aux_loss.requires_grad
    assert memory["mem"][0].shape == (3, 8, 16) and not memory["mem"][0].requires_grad
    # the model keeps no memory of its own: a window read without one starts empty
    torch.testing.assert_close(model(idx[:, :8])[0], whole[:, :8])
    assert not hasattr(model, "carry_memories") and not hasattr(model, "reset_memories")


def test_reading_on_needs_whole_segments():
    model = tiny().train()
    with pytest.raises(SeqkitError, match="multiple of seg_len 4"):
        model(torch.randint(0, 40, (2, 6)), memory=model.init_memory(2, "cpu"))
    assert model.memory_segment == 4


def test_reading_on_from_a_segment_boundary_equals_one_pass():
    torch.manual_seed(0)
    model = tiny()
    idx = torch.randint(0, 40, (2, 30))
    whole, _ = model(idx)
    first, cache = model(idx[:, :8])
    second, cache = model(idx[:, 8:24], cache=cache)
    third, cache = model(idx[:, 24:], cache=cache)  # ends inside a segment: t = 2
    torch.testing.assert_close(torch.cat([first, second, third], 1), whole)
    assert cache.t == 2
    nxt = torch.randint(0, 40, (2, 3))  # inside a segment: one-token steps, still the same
    steps, _ = model(nxt, cache=cache)
    torch.testing.assert_close(steps, model(torch.cat([idx, nxt], 1))[0][:, 30:], atol=1e-5, rtol=1e-4)

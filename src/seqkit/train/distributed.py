"""What the Trainer needs of ``torchrun``: the world size and rank it sets (checked), starting the
process group, and ending it again."""

from __future__ import annotations

import os

from seqkit.errors import SeqkitError


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SeqkitError(f"{name}={value[:40]!r} is not a whole number (torchrun sets it)") from None
    if number < 0:
        raise SeqkitError(f"{name}={number} must be 0 or more")
    return number


def world_and_rank() -> tuple[int, int]:
    """``WORLD_SIZE`` and ``RANK`` as torchrun sets them, checked."""
    world, rank = _env_int("WORLD_SIZE", 1), _env_int("RANK", 0)
    if world < 1 or rank >= max(world, 1):
        raise SeqkitError(f"RANK={rank} and WORLD_SIZE={world} do not fit (start distributed runs with torchrun)")
    if world > 1 and not os.environ.get("MASTER_ADDR"):
        raise SeqkitError(f"WORLD_SIZE={world} but no MASTER_ADDR: start distributed runs with torchrun, "
                          "or unset WORLD_SIZE")
    return world, rank


def elastic_resume(out, resume: bool) -> bool:
    """Whether a run resumes: asked to, or restarted by torchrun's elastic agent
    (``--max-restarts``: ``TORCHELASTIC_RESTART_COUNT`` > 0) in a folder that holds its
    ``last.json``. Every rank must see the run folder (on several machines: a shared one)."""
    from pathlib import Path

    if resume or _env_int("TORCHELASTIC_RESTART_COUNT", 0) == 0:
        return resume
    if not os.path.lexists(Path(out) / "last.json"):
        return False
    if _env_int("RANK", 0) == 0:  # said once, by the first process
        from seqkit.progress import info

        info(f"restarted by torchrun (restart {os.environ['TORCHELASTIC_RESTART_COUNT']}): "
             f"resuming the run in {out}")
    return True


def init_distributed():
    """This process's device (``cuda:LOCAL_RANK``, else the CPU) and whether this call started
    the process group (NCCL on CUDA, gloo on the CPU)."""
    import torch
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
        device, backend = torch.device("cuda", local), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    made = False
    if not dist.is_initialized():
        restart = _env_int("TORCHELASTIC_RESTART_COUNT", 0)
        if restart:  # restarted by torchrun's elastic agent (--max-restarts)
            from torch.distributed.rendezvous import rendezvous

            # the agent's store outlives a failed attempt, and gloo would read that attempt's
            # worker addresses from it and fail to connect: each attempt keys apart
            store, rank, world = next(rendezvous("env://"))
            dist.init_process_group(backend, store=dist.PrefixStore(f"seqkit/restart-{restart}", store),
                                    rank=rank, world_size=world)
        else:
            dist.init_process_group(backend)
        made = True
    return device, made


def end_process_group() -> None:
    """Wait for every rank, then end the process group."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_reduce(tensor) -> None:
    """Sum ``tensor`` over the ranks, in place."""
    import torch.distributed as dist

    dist.all_reduce(tensor)

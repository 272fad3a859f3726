"""Multi-process training with PyTorch DDP, as started by `torchrun` (RANK / WORLD_SIZE / LOCAL_RANK).

One process per GPU (NCCL) or per CPU share (gloo, so it is testable without GPUs). Every rank builds the same
global batch and keeps its slice, so N ranks with batch B train exactly like one process with batch N x B;
only rank 0 evaluates, writes checkpoints, the model file and reports. Without torchrun (WORLD_SIZE unset or
1) every function here is a no-op.
"""

import os
from dataclasses import dataclass


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device):
    """(Dist, device): joins the process group when started by torchrun; on CUDA, one GPU per local rank."""
    import torch

    dist = Dist(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                int(os.environ.get("LOCAL_RANK", 0)))
    if not dist.active:
        return dist, device
    if device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        from datetime import timedelta

        # a bounded timeout: a group that cannot form fails, and torchrun's --max-restarts tries again
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo",
                                             timeout=timedelta(seconds=int(os.environ.get("BUILDSEG_DDP_TIMEOUT",
                                                                                          "120"))))
    return dist, device


def wrap(model, dist: Dist, device):
    """The model to train: DDP-wrapped when distributed (SyncBatchNorm on CUDA only)."""
    if not dist.active:
        return model
    import torch

    if device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index])
    return torch.nn.parallel.DistributedDataParallel(model)


def mean(value: float, dist: Dist) -> float:
    """The mean of a number over the ranks."""
    if not dist.active:
        return value
    import torch

    t = torch.tensor([float(value)], dtype=torch.float64)
    torch.distributed.all_reduce(t)
    return float(t[0]) / dist.world


def from_main(flag: bool, dist: Dist) -> bool:
    """Rank 0's decision, on every rank."""
    if not dist.active:
        return flag
    import torch

    t = torch.tensor([1 if flag else 0])
    torch.distributed.broadcast(t, 0)
    return bool(t[0])


def barrier(dist: Dist) -> None:
    if dist.active:
        import torch

        torch.distributed.barrier()


def finish(dist: Dist) -> None:
    if dist.active:
        import torch

        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


CRASH_SPEC = os.environ.get("BUILDSEG_CRASH")  # read once at import, not on every training step


def maybe_crash(epoch: int, step: int, dist: Dist) -> None:
    """Fault injection for tests: BUILDSEG_CRASH="epoch,step,rank,marker file" kills that rank once (the
    variable is set before the process starts: torchrun's workers)."""
    spec = CRASH_SPEC
    if not spec:
        return
    e, s, r, marker = spec.split(",", 3)
    if (epoch, step, dist.rank) == (int(e), int(s), int(r)) and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(17)

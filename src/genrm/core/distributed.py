"""Several training processes (`accelerate launch`, `torchrun`, DeepSpeed's launcher): who writes, and agreeing.

The launchers set `WORLD_SIZE` and `RANK` in every process before Python starts, so `world_size()` and
`is_main()` hold before the process group exists (a step count decided from them is the same on every rank).
`barrier()` and `broadcast()` are no-ops in one process, and work on whatever backend the Trainer started
(gloo on CPU, NCCL on GPUs). Only the main process removes, writes and renames files; the others wait at a
barrier for it, so no rank goes on (or exits) before what it depends on is in place.
"""

from __future__ import annotations

import os
from typing import Any


def world_size() -> int:
    """Processes training together (1 without a launcher)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def rank() -> int:
    """This process's global rank (0 without a launcher)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0") or 0)


def is_main() -> bool:
    """The process that writes (global rank 0)."""
    return rank() == 0


def _grouped() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def barrier() -> None:
    """Wait until every process gets here (nothing to wait for in one process)."""
    import torch.distributed as dist

    if _grouped():
        dist.barrier()


def broadcast(value: Any) -> Any:
    """The main process's `value` (any picklable object), on every process."""
    import torch.distributed as dist

    if not _grouped():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]

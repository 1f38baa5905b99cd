"""Where models run: one place for device choice, attention kernel and bf16 autocast."""

from __future__ import annotations

import os

import torch


def default_device() -> str:
    """This process's GPU (its LOCAL_RANK under `accelerate launch` / torchrun), else the CPU."""
    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"


def attention_implementation(device: str | None) -> str:
    """Eager attention on CPU: with padding masks, SDPA's CPU path is ~2x slower at these sizes."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return "sdpa" if device.startswith("cuda") else "eager"


def cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def bf16_available(device: str) -> bool:
    """bf16 compute pays off: CUDA, or a CPU with bf16 matrix units."""
    return device.startswith("cuda") or cpu_has_bf16()


def autocast(device: str) -> torch.autocast:
    """bf16 autocast on CPUs that have bf16 matrix units and on CUDA; a no-op elsewhere."""
    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_has_bf16())

"""Platform memory (spec §2.5) and display names."""

from __future__ import annotations

import difflib

__all__ = ["PLATFORM_MEMORY", "PLATFORM_NAMES", "platform_memory"]

#: device memory in bytes. p32xlarge / fp16 / p2xlarge / flops follow spec §2.5 (decimal GB,
#: as the paper's scripts); the paper left c524xlarge unmapped: we use the host RAM of an AWS
#: c5.24xlarge (192 GiB); ``measured`` has no fixed memory (give a budget).
PLATFORM_MEMORY: dict[str, int | None] = {
    "flops": 12 * 10**9,
    "flops_paper": 12 * 10**9,
    "p32xlarge": 16 * 10**9,
    "p32xlarge_fp16": 16 * 10**9,
    "p2xlarge": 12 * 10**9,
    "c524xlarge": 192 * 2**30,
    "measured": None,
}

#: pretty names used in plots and tables
PLATFORM_NAMES: dict[str, str] = {
    "flops": "FLOPs",
    "flops_paper": "FLOPs (paper hooks)",
    "p32xlarge": "V100",
    "p32xlarge_fp16": "V100, fp16",
    "p2xlarge": "K80",
    "c524xlarge": "c5.24xlarge (96 vCPU)",
    "measured": "measured (this machine)",
}


def platform_memory(platform: str) -> int | None:
    """Device memory of a platform in bytes (``None`` for ``measured``).

    Raises
    ------
    ValueError
        For an unknown platform, listing the known ones.
    """
    try:
        return PLATFORM_MEMORY[platform]
    except KeyError:
        close = difflib.get_close_matches(platform, PLATFORM_MEMORY, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"unknown platform {platform!r}{hint}; choose one of: {', '.join(PLATFORM_MEMORY)}"
        ) from None

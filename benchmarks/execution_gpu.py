"""The executed-step measurement on a GPU: ``tf.config.experimental.get_memory_info("GPU:0")``.

Same protocol as ``execution_cpu.py`` (one process per model, plain training then the
scheduled step at each budget), with the device's own allocator statistics. Larger batches
make activations dominate::

    python benchmarks/execution_gpu.py --batch 256

Needs a GPU build of TensorFlow; exits with a message when no GPU is visible.
"""

from __future__ import annotations

import sys

from execution_cpu import main as cpu_main


def main(argv: list[str] | None = None) -> int:
    """Entry point: the CPU benchmark pointed at ``GPU:0``."""
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        print("no GPU visible to TensorFlow: nothing measured", file=sys.stderr)
        return 1
    args = list(sys.argv[1:] if argv is None else argv)
    if "--device" not in args:
        args += ["--device", "GPU:0"]
    if "--output" not in args:
        args += ["--output", "benchmarks/results/execution_gpu.jsonl"]
    return cpu_main(args)


if __name__ == "__main__":
    sys.exit(main())

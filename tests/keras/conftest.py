"""Keras test settings: quiet TensorFlow, one thread (the CI machine has two shared cores).

TensorFlow reads these variables when it starts, so no TensorFlow import is needed here (the
cost-model tests in this folder run without it).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

"""Bench: the EWMA loop compiled by Numba and by Cython versus plain Python, compile excluded."""

from __future__ import annotations

import numpy as np

from katas.kit import Ratio, best_time

from .build import load_cython
from .ewma import ewma_numba, ewma_python


def bench() -> list[Ratio]:
    n = 1_000_000
    values = np.random.default_rng(0).gamma(2.0, 40.0, size=n)
    as_list = values.tolist()  # fair to Python: floats, not NumPy scalars one at a time
    ewma_cython = load_cython().ewma_cython  # builds the .pyx if needed (not timed)
    ewma_numba(values, 0.1)  # warm-up: the first call compiles
    python = best_time(lambda: ewma_python(as_list, 0.1), repeat=3)
    what = f"EWMA over {n:,} floats"
    return [
        Ratio(
            what,
            "pure Python",
            "Numba @njit",
            python,
            best_time(lambda: ewma_numba(values, 0.1)),
            "s",
        ),
        Ratio(
            what, "pure Python", "Cython", python, best_time(lambda: ewma_cython(values, 0.1)), "s"
        ),
    ]

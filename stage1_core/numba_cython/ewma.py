"""One hot loop, three ways: pure Python, Numba and (in ewma_cy.pyx) Cython.

The kernel is an exponentially weighted moving average (EWMA), the smoothing behind latency
dashboards and adaptive timeouts::

    out[0] = values[0]
    out[i] = alpha * values[i] + (1 - alpha) * out[i - 1]

Each output depends on the previous one, so NumPy cannot vectorise it: this loop has to run
element by element, which is exactly where a compiler (Numba or Cython) pays off.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit
from numpy.typing import NDArray


def ewma_python(values: Sequence[float], alpha: float) -> list[float]:
    """The reference: plain Python floats in a plain loop."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    out: list[float] = []
    level = 0.0
    for i, value in enumerate(values):
        level = value if i == 0 else alpha * value + (1.0 - alpha) * level
        out.append(level)
    return out


@njit(cache=False)
def ewma_numba(values: NDArray[np.float64], alpha: float) -> NDArray[np.float64]:
    """The same EWMA, compiled by Numba in nopython mode on the first call for these types."""
    # kata: begin check 0 < alpha <= 1 (ValueError), then fill np.empty(n) with the recurrence
    if not 0.0 < alpha <= 1.0:
        raise ValueError("alpha must be in (0, 1]")
    n = values.shape[0]
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out
    level = values[0]
    out[0] = level
    for i in range(1, n):
        level = alpha * values[i] + (1.0 - alpha) * level
        out[i] = level
    return out
    # kata: end

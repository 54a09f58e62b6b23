# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The EWMA in Cython: typed memoryviews and C doubles turn the loop into plain C.

Compiled on demand by build.py (``load_cython()``); see the README.
"""

import numpy as np


def ewma_cython(const double[:] values, double alpha):
    """The same EWMA as ewma_python; ``values`` is any 1-D float64 buffer, even read-only."""
    # kata: begin cdef typed locals, check alpha, fill np.empty(n) through a double[:] view
    cdef Py_ssize_t i
    cdef Py_ssize_t n = values.shape[0]
    cdef double keep = 1.0 - alpha
    cdef double level
    cdef double[:] out_view
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    out = np.empty(n, dtype=np.float64)
    out_view = out
    if n == 0:
        return out
    level = values[0]  # a C local: stays in a register across iterations
    out_view[0] = level
    for i in range(1, n):
        level = alpha * values[i] + keep * level
        out_view[i] = level
    return out
    # kata: end

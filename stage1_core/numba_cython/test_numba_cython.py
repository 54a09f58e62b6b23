"""Numba/Cython kata: both compiled kernels must agree with the pure-Python reference."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np
import pytest
from numpy.typing import NDArray

from .build import c_compiler, load_cython
from .ewma import ewma_numba, ewma_python

RNG = np.random.default_rng(2024)
LATENCIES = RNG.gamma(2.0, 40.0, size=2_000)  # a noisy, positive series, like request latencies
CASES = [
    pytest.param(LATENCIES, 0.1, id="latencies-0.1"),
    pytest.param(LATENCIES, 0.5, id="latencies-0.5"),
    pytest.param(LATENCIES, 1.0, id="alpha-1-copies"),
    pytest.param(np.array([3.5]), 0.3, id="single"),
    pytest.param(np.array([], dtype=np.float64), 0.5, id="empty"),
    pytest.param(np.full(50, 7.25), 0.2, id="constant"),
    pytest.param(np.array([0.0, 100.0, 0.0, 100.0]), 0.25, id="step"),
]
BAD_ALPHAS = [0.0, -0.1, 1.5, float("nan")]

needs_cython = pytest.mark.skipif(
    c_compiler() is None or importlib.util.find_spec("Cython") is None,
    reason="Cython needs a C compiler (cc/gcc) and the Cython package to build ewma_cy.pyx",
)


@pytest.fixture(scope="module")
def ewma_cy() -> ModuleType:
    return load_cython()  # compiled once per .pyx content; later runs load the cached build


def check_same(got: object, values: NDArray[np.float64], alpha: float) -> None:
    want = ewma_python(values.tolist(), alpha)
    assert isinstance(got, np.ndarray), "return a NumPy array"
    assert got.dtype == np.float64 and got.shape == values.shape, "one float64 per input value"
    assert np.allclose(got, want, rtol=1e-12, atol=0.0), (
        "out[0] = values[0]; out[i] = alpha*values[i] + (1-alpha)*out[i-1]"
    )


@pytest.mark.task(1)
@pytest.mark.parametrize(("values", "alpha"), CASES)
def test_numba_matches_python(values: NDArray[np.float64], alpha: float) -> None:
    check_same(ewma_numba(values, alpha), values, alpha)


@pytest.mark.task(1)
@pytest.mark.parametrize("alpha", BAD_ALPHAS)
def test_numba_rejects_bad_alpha(alpha: float) -> None:
    with pytest.raises(ValueError):
        ewma_python([1.0], alpha)
    with pytest.raises(ValueError):
        ewma_numba(LATENCIES[:3], alpha)


@pytest.mark.task(1)
def test_numba_kernel_checks_for_empty_input() -> None:
    # Compiled code skips bounds checks: reading values[0] of an empty array returns garbage
    # instead of raising, so "empty in, empty out" can pass by luck. The kernel's plain-Python
    # form (py_func, the same body, not compiled) raises IndexError unless n == 0 is handled.
    empty = np.array([], dtype=np.float64)
    check_same(ewma_numba.py_func(empty, 0.5), empty, 0.5)


@pytest.mark.task(1)
def test_numba_compiles_in_nopython_mode() -> None:
    ewma_numba(LATENCIES[:3], 0.5)
    assert ewma_numba.signatures, "the first call compiles a machine-code version"
    assert ewma_numba.nopython_signatures, "@njit: nopython mode, no Python objects in the loop"


@pytest.mark.task(2)
@needs_cython
@pytest.mark.parametrize(("values", "alpha"), CASES)
def test_cython_matches_python(
    ewma_cy: ModuleType, values: NDArray[np.float64], alpha: float
) -> None:
    check_same(ewma_cy.ewma_cython(values, alpha), values, alpha)


@pytest.mark.task(2)
@needs_cython
def test_cython_accepts_read_only_and_strided_arrays(ewma_cy: ModuleType) -> None:
    frozen = LATENCIES.copy()
    frozen.setflags(write=False)  # e.g. an array memory-mapped from a file, or shared
    check_same(ewma_cy.ewma_cython(frozen, 0.3), frozen, 0.3)
    every_third = LATENCIES[::3]
    check_same(ewma_cy.ewma_cython(every_third, 0.3), every_third, 0.3)


@pytest.mark.task(2)
@needs_cython
@pytest.mark.parametrize("alpha", BAD_ALPHAS)
def test_cython_rejects_bad_alpha(ewma_cy: ModuleType, alpha: float) -> None:
    with pytest.raises(ValueError):
        ewma_cy.ewma_cython(LATENCIES[:3], alpha)

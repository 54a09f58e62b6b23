"""Numba/Cython kata: both compiled kernels must agree with the pure-Python reference."""

from __future__ import annotations

import hashlib
import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from numpy.typing import NDArray

from .build import CACHE, PYX, c_compiler, load_cython
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
BAD_ALPHAS = [0.0, -0.1, 1.5, float(np.nextafter(1.0, 2.0)), float("inf"), float("nan")]
EMPTY = np.array([], dtype=np.float64)

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
    if values.size:
        assert got[0] == values[0], "out[0] = values[0], exactly: the first value is not smoothed"
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
@pytest.mark.parametrize("alpha", BAD_ALPHAS)
def test_numba_rejects_bad_alpha_even_for_empty_input(alpha: float) -> None:
    with pytest.raises(ValueError):
        ewma_python([], alpha)
    with pytest.raises(ValueError):
        ewma_numba(EMPTY, alpha)  # check alpha first, then handle n == 0


@pytest.mark.task(1)
@pytest.mark.parametrize(("values", "alpha"), CASES)
def test_numba_kernel_stays_in_bounds(values: NDArray[np.float64], alpha: float) -> None:
    # Compiled code skips bounds checks: reading values[0] of an empty array, or values[n],
    # returns garbage instead of raising, so a wrong index can pass by luck. The kernel's
    # plain-Python form (py_func, the same body, not compiled) raises IndexError instead.
    check_same(ewma_numba.py_func(values, alpha), values, alpha)


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


@pytest.mark.task(2)
@needs_cython
@pytest.mark.parametrize("alpha", BAD_ALPHAS)
def test_cython_rejects_bad_alpha_even_for_empty_input(ewma_cy: ModuleType, alpha: float) -> None:
    with pytest.raises(ValueError):
        ewma_cy.ewma_cython(EMPTY, alpha)  # check alpha first, then handle n == 0


CHECKED = {"boundscheck": "True", "wraparound": "False", "initializedcheck": "True"}


@pytest.fixture(scope="module")
def ewma_cy_checked(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The same .pyx built with index checks on: a wrong index raises instead of reading junk."""
    header, newline, body = PYX.read_text(encoding="utf-8").partition("\n")
    for name, value in CHECKED.items():
        header = re.sub(rf"\b{name}\s*=\s*\w+", f"{name}={value}", header)
    checked = tmp_path_factory.mktemp("checked") / PYX.name  # same module name: ewma_cy
    checked.write_text(header + newline + body, encoding="utf-8")
    return load_cython(checked)


@pytest.mark.task(2)
@needs_cython
@pytest.mark.parametrize(("values", "alpha"), CASES)
def test_cython_stays_in_bounds(
    ewma_cy_checked: ModuleType, values: NDArray[np.float64], alpha: float
) -> None:
    # boundscheck=False makes values[0] of an empty array, or values[n], undefined behaviour
    # that may return garbage and pass; this test build raises IndexError instead.
    check_same(ewma_cy_checked.ewma_cython(values, alpha), values, alpha)


def annotation_scores(pyx: Path) -> dict[int, int]:
    """``cython -a``: line number -> how much Python C-API the line calls (0: plain C)."""
    source = pyx.read_bytes()
    folder = CACHE / f"annotate-{hashlib.sha256(source + sys.version.encode()).hexdigest()[:16]}"
    report = folder / f"{pyx.stem}.html"
    if not report.exists():
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / pyx.name
        copy.write_bytes(source)
        subprocess.run(
            [sys.executable, "-m", "cython", "-a", "-o", str(folder / f"{pyx.stem}.c"), str(copy)],
            check=True,
            capture_output=True,
        )
    text = html.unescape(report.read_text(encoding="utf-8"))
    lines = re.findall(r'class="cython line score-(\d+)"[^>]*>.<span class="">(\d+)</span>:', text)
    return {int(number): int(score) for score, number in lines}


def loop_lines(pyx: Path) -> list[int]:
    """Line numbers of every ``for``/``while`` loop header and body in the file."""
    numbered = list(enumerate(pyx.read_text(encoding="utf-8").splitlines(), 1))
    found: list[int] = []
    for index, (number, line) in enumerate(numbered):
        if not re.match(r"\s*(for|while)\b", line):
            continue
        indent = len(line) - len(line.lstrip())
        found.append(number)
        for inner, text in numbered[index + 1 :]:
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break
            if text.strip() and not text.lstrip().startswith("#"):
                found.append(inner)
    return sorted(set(found))


@pytest.mark.task(2)
@needs_cython
def test_cython_loop_is_plain_c() -> None:
    loop = loop_lines(PYX)
    assert loop, "ewma_cython fills the output in a for loop"
    scores = annotation_scores(PYX)
    assert set(loop) <= scores.keys(), "could not read the `cython -a` report"
    slow = {n: scores[n] for n in loop if scores[n] > 0}
    source = PYX.read_text(encoding="utf-8").splitlines()
    assert not slow, (
        "these loop lines still call into Python (yellow in `cython -a ewma_cy.pyx`): "
        + "; ".join(f"{n}: {source[n - 1].strip()}" for n in slow)
        + ". Give the index, the length and the running value C types with cdef, and write "
        "through a typed double[:] view of the output array"
    )

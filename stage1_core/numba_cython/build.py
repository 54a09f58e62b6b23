"""Build ``ewma_cy.pyx`` into a cache folder outside the source tree, then import it.

The compiled module is keyed by the source's hash and the Python version, so editing the .pyx
triggers a rebuild and an unchanged one is loaded at once. Tests and bench share this helper.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

PYX = Path(__file__).with_name("ewma_cy.pyx")
CACHE = Path(tempfile.gettempdir()) / "backend-katas-cython"


def c_compiler() -> str | None:
    """Path of the C compiler this Python was built with (or ``cc``), None when absent."""
    configured = sysconfig.get_config_var("CC") or "cc"
    return shutil.which(configured.split()[0]) or shutil.which("cc")


def _compile(pyx: Path, target: Path) -> None:
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension  # type: ignore[import-untyped]

    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE))
    try:
        source = work / pyx.name  # the generated .c lands here, not next to the .pyx
        shutil.copyfile(pyx, source)
        no_debug_info = [] if sys.platform == "win32" else ["-g0"]  # builds about 30% faster
        extension = Extension(pyx.stem, [str(source)], extra_compile_args=no_debug_info)
        extensions = cythonize([extension], quiet=True)  # type: ignore[no-untyped-call]
        dist = Distribution({"name": pyx.stem, "ext_modules": extensions})
        build_ext = dist.get_command_obj("build_ext")
        build_ext.build_lib = str(work)
        build_ext.build_temp = str(work / "tmp")
        build_ext.ensure_finalized()
        build_ext.run()
        built = work / (pyx.stem + sysconfig.get_config_var("EXT_SUFFIX"))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(built, target)  # atomic: a parallel build never sees half a file
    finally:
        shutil.rmtree(work, ignore_errors=True)


@functools.cache
def load_cython(pyx: Path = PYX) -> ModuleType:
    """Compile ``pyx`` unless an up-to-date build is cached, and import it."""
    key = hashlib.sha256(pyx.read_bytes() + sys.version.encode()).hexdigest()[:16]
    target = CACHE / key / (pyx.stem + sysconfig.get_config_var("EXT_SUFFIX"))
    if not target.exists():
        _compile(pyx, target)
    spec = importlib.util.spec_from_file_location(pyx.stem, target)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the compiled module {target}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""Solution markers: stubs keep files importable, and malformed fences fail with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from katas.markers import MarkerError, find_regions, stub_file, stub_text

PYTHON = '''\
from typing import Protocol


# kata: begin declare the Greeter protocol with greet(name) -> str
class Greeter(Protocol):
    def greet(self, name: str) -> str: ...
# kata: end


class Config:
    # kata: begin add the retries class attribute
    retries: int = 3
    # kata: end


def greet(name: str) -> str:
    """Say hello."""
    # kata: begin return a greeting for name
    return f"hello {name}"
    # kata: end


async def fetch() -> int:
    if True:
        # kata: begin return the answer
        return 42
        # kata: end
    return 0
'''


def test_python_stub_raises_in_functions_and_keeps_module_importable() -> None:
    stubbed = stub_text(Path("kata.py"), PYTHON)
    assert "kata:" not in stubbed.replace("TODO(kata):", ""), "every fence is gone"
    assert "    # TODO(kata): return a greeting for name\n" in stubbed
    assert "    raise NotImplementedError('return a greeting for name')\n" in stubbed
    assert "        raise NotImplementedError('return the answer')\n" in stubbed
    assert "# TODO(kata): declare the Greeter protocol with greet(name) -> str\n...\n" in stubbed
    assert "    # TODO(kata): add the retries class attribute\n    ...\n" in stubbed
    namespace: dict[str, object] = {}
    exec(compile(stubbed, "kata.py", "exec"), namespace)  # the stub imports
    with pytest.raises(NotImplementedError, match="return a greeting for name"):
        namespace["greet"]("ada")  # type: ignore[operator]
    assert "Greeter" not in namespace and hasattr(namespace["Config"], "retries") is False


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "Dockerfile",
            "FROM python:3.11-slim\n# kata: begin run gunicorn with uvicorn workers\n"
            'CMD ["gunicorn"]\n# kata: end\n',
            "FROM python:3.11-slim\n# TODO(kata): run gunicorn with uvicorn workers\n",
        ),
        (
            "deploy.yaml",
            "spec:\n  # kata: begin add a readiness probe\n  readinessProbe: {}\n  # kata: end\n",
            "spec:\n  # TODO(kata): add a readiness probe\n",
        ),
        (
            "main.tf",
            'resource "x" "y" {\n  # kata: begin set the bucket name\n  name = "b"\n  # kata: end\n}\n',
            'resource "x" "y" {\n  # TODO(kata): set the bucket name\n}\n',
        ),
        (
            "settings.toml",
            "[a]\n# kata: begin set b\nb = 1\n# kata: end\n",
            "[a]\n# TODO(kata): set b\n",
        ),
        (
            "schema.sql",
            "-- kata: begin create the index\nCREATE INDEX i ON t (c);\n-- kata: end\n",
            "-- TODO(kata): create the index\n",
        ),
    ],
)
def test_config_files_stub_in_their_own_comment_syntax(name: str, text: str, expected: str) -> None:
    assert stub_text(Path(name), text) == expected


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("def f():\n    # kata: begin a\n    # kata: begin b\n", 3, "nested 'kata: begin'"),
        ("def f():\n    pass\n    # kata: end\n", 3, "without a matching 'kata: begin'"),
        ("def f():\n    # kata: begin a\n    return 1\n", 2, "never closed"),
        ("def f():\n    # kata: begin\n    # kata: end\n", 2, "without a task"),
        ("def f(:\n    pass\n# kata: begin a\n# kata: end\n", 1, "not valid Python"),
    ],
)
def test_malformed_fences_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(MarkerError) as info:
        find_regions(Path("pkg/mod.py"), text)
    message = str(info.value)
    assert message.startswith(f"pkg/mod.py:{line}: ") and words in message
    assert "\n" not in message


def test_files_without_comment_syntax_have_no_regions() -> None:
    assert find_regions(Path("data.json"), '{"kata: begin": 1}') == []
    assert stub_text(Path("notes.md"), "# kata: begin x\n") == "# kata: begin x\n"


def test_stubbing_leaves_files_of_other_kinds_unread(tmp_path: Path) -> None:
    bytecode = tmp_path / "__pycache__" / "app.cpython-311.pyc"
    bytecode.parent.mkdir()
    bytecode.write_bytes(b"\xa7\r\r\n\x00\x00\xff\xfe")  # not UTF-8: reading it would raise
    assert stub_file(bytecode) is False
    assert bytecode.read_bytes() == b"\xa7\r\r\n\x00\x00\xff\xfe"

"""Functions named by their code: the ``PATH[:RUNTIME][:HANDLER]`` spec, runtime and
handler inference, and the problems each refusal names."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from function_support import write_tree

from stepfn.functions.local import (
    NODE_DEFAULT_RUNTIME,
    FunctionCode,
    FunctionSpecError,
    looks_like_path,
    python_runtime,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("./fn", ("fn", None, None)),
        ("./fn:python3.11", ("fn", "python3.11", None)),
        ("./fn:app.handler", ("fn", None, "app.handler")),
        ("./fn:nodejs18.x:lib/main.run", ("fn", "nodejs18.x", "lib/main.run")),
        ("code.zip::app.go", ("code.zip", None, "app.go")),
    ],
)
def test_spec_pieces_are_told_apart_by_shape(spec: str, expected: tuple[str, ...]) -> None:
    code = FunctionCode.parse(spec)
    assert (Path(code.code).name, code.runtime, code.handler) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("./fn:pyhton3.12:app.handler", "'pyhton3.12' is not a runtime"),
        ("./fn:a.b:c.d", "'a.b' is not a runtime"),
        ("./fn:python3.12:a.b:c", "expected PATH[:RUNTIME][:HANDLER]"),
        (":python3.12", "expected PATH[:RUNTIME][:HANDLER]"),
    ],
)
def test_a_bad_spec_says_what_is_expected(spec: str, fragment: str) -> None:
    with pytest.raises(FunctionSpecError) as refused:
        FunctionCode.parse(spec)
    assert fragment in str(refused.value)


def test_paths_are_told_from_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "handlers").mkdir()
    assert looks_like_path("./handlers")
    assert looks_like_path("fn.zip:nodejs20.x")
    assert looks_like_path("handlers")  # exists, and no colon: a directory
    assert not looks_like_path("handlers:charge")  # MODULE:FUNCTION, as before
    assert not looks_like_path("json:dumps")


def test_node_code_is_inferred_from_its_entry_point(tmp_path: Path) -> None:
    write_tree(tmp_path / "node", {"index.js": "exports.handler = async () => 1;\n"})
    config = FunctionCode(str(tmp_path / "node")).config("n")
    assert (config.runtime, config.handler) == (NODE_DEFAULT_RUNTIME, "index.handler")
    write_tree(tmp_path / "pkg", {"package.json": "{}", "index.mjs": "export const handler = 1;"})
    assert FunctionCode(str(tmp_path / "pkg")).config("p").runtime == NODE_DEFAULT_RUNTIME


def test_other_code_is_python_with_lambdas_default_handler(tmp_path: Path) -> None:
    write_tree(tmp_path / "py", {"lambda_function.py": "def lambda_handler(e, c):\n    return e\n"})
    config = FunctionCode(str(tmp_path / "py")).config("p")
    assert (config.runtime, config.handler) == (python_runtime(), "lambda_function.lambda_handler")
    assert config.code_path == str((tmp_path / "py").resolve())


def test_a_zip_is_unpacked_and_inferred(tmp_path: Path) -> None:
    archive = tmp_path / "fn.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.js", "exports.handler = async (e) => e;\n")
    config = FunctionCode(str(archive)).config("z", tmp_path / "cache")
    assert config.runtime == NODE_DEFAULT_RUNTIME
    assert Path(config.code_path, "index.js").is_file()
    assert config.code_sha256 and config.code_size == archive.stat().st_size


def test_a_missing_handler_file_says_how_to_name_one(tmp_path: Path) -> None:
    write_tree(tmp_path / "py", {"app.py": "def handler(e, c):\n    return e\n"})
    with pytest.raises(FunctionSpecError) as refused:
        FunctionCode(str(tmp_path / "py")).config("p")
    message = str(refused.value)
    assert "there is no lambda_function.py in it" in message
    assert ":FILE.FUNCTION" in message
    config = FunctionCode(str(tmp_path / "py"), handler="app.handler").config("p")
    assert config.handler == "app.handler"


def test_missing_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FunctionSpecError, match="neither a directory nor a zip"):
        FunctionCode(str(tmp_path / "nowhere")).config("x")


def test_a_handler_the_runtime_cannot_take_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path / "py", {"app.py": "x = 1\n"})
    with pytest.raises(FunctionSpecError, match=r"must be 'module\.function'"):
        FunctionCode(str(tmp_path / "py"), "python3.12", "app").config("p")

"""Deployment packages: zips unpacked safely and cached by digest; directories as they are."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
from function_support import make_zip

from stepfn.functions import CodeError, code_sha256, prepare_code
from stepfn.functions import code as code_module


def test_zip_is_unpacked_once_under_its_digest(tmp_path: Path) -> None:
    data = make_zip({"index.js": "exports.handler = async () => 1;\n", "lib/a.js": "//\n"})
    first = prepare_code(data, tmp_path)
    assert first.sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert first.size == len(data)
    assert Path(first.path).name == hashlib.sha256(data).hexdigest()
    assert (Path(first.path) / "lib" / "a.js").read_text() == "//\n"
    (Path(first.path) / "marker").write_text("kept")
    again = prepare_code(data, tmp_path)
    assert again == first and (Path(again.path) / "marker").exists()


def test_zip_file_and_directory(tmp_path: Path) -> None:
    data = make_zip({"app.py": "def handler(e, c):\n    return e\n"})
    archive = tmp_path / "fn.zip"
    archive.write_bytes(data)
    code = prepare_code(archive, tmp_path / "cache")
    assert code.sha256 == code_sha256(data)
    folder = prepare_code(tmp_path / "cache")
    assert folder.path == str((tmp_path / "cache").resolve()) and folder.size == 0


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "/etc/evil.py", "C:/evil"])
def test_paths_leaving_the_package_are_refused(tmp_path: Path, name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "x")
    with pytest.raises(CodeError, match=re.escape(f"entry '{name}'")):
        prepare_code(buffer.getvalue(), tmp_path)
    assert not (tmp_path.parent / "evil.py").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing half-unpacked is left


def test_size_limit_counts_inflated_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_module, "MAX_UNZIPPED_BYTES", 1000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.txt", "a" * 5000)
    with pytest.raises(CodeError, match="unzips to"):
        prepare_code(buffer.getvalue(), tmp_path)


def test_not_a_zip_and_missing_path(tmp_path: Path) -> None:
    with pytest.raises(CodeError, match="not a valid zip"):
        prepare_code(b"hello", tmp_path)
    with pytest.raises(CodeError, match="neither a directory nor a zip"):
        prepare_code(tmp_path / "nothing.zip")

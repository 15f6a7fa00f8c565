"""A function's code: a zip unpacked safely into a cache, or a directory used as it is.

Lambda identifies a deployment package by ``CodeSha256`` (base64 of the SHA-256 of the
zip's bytes) and ``CodeSize`` (its length). The unpacked tree is cached under that digest,
so two functions (or two versions) with the same zip share one directory, and unpacking
twice is a no-op.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import stat
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Lambda's limit for the unzipped deployment package.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
MAX_ZIP_ENTRIES = 20_000

_default_cache: Path | None = None
_cache_lock = threading.Lock()


class CodeError(ValueError):
    """A deployment package that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Code:
    """Where a function's code lives and how Lambda identifies it."""

    path: str
    sha256: str
    size: int


def code_sha256(data: bytes) -> str:
    """Lambda's ``CodeSha256`` of a zip: base64 of its SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def default_cache_dir() -> Path:
    """A directory of this process for unpacked code (removed when the process exits)."""
    global _default_cache
    with _cache_lock:
        if _default_cache is None:
            _default_cache = Path(tempfile.mkdtemp(prefix="stepfn-code-"))
            import atexit

            atexit.register(shutil.rmtree, _default_cache, True)
        return _default_cache


def prepare_code(
    source: bytes | str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> Code:
    """The code of a function from zip bytes, a zip file or a directory.

    A directory is used in place (its digest is of nothing: it has no zip). A zip is
    unpacked under ``cache_dir`` (default: a temporary directory of this process) in a
    folder named after its SHA-256.

    Raises:
        CodeError: the path does not exist, the zip is not a zip, holds a path that
            escapes its root, or unpacks to more than Lambda allows.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return unpack_zip(bytes(source), cache_dir)
    path = Path(source)
    if path.is_dir():
        return Code(str(path.resolve()), "", 0)
    if not path.is_file():
        raise CodeError(f"Code '{path}' is neither a directory nor a zip file")
    return unpack_zip(path.read_bytes(), cache_dir, origin=str(path))


def unpack_zip(
    data: bytes, cache_dir: str | os.PathLike[str] | None = None, *, origin: str = "ZipFile"
) -> Code:
    """Unpack zip bytes into the cache (once per digest) and return where they are."""
    digest = hashlib.sha256(data).hexdigest()
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = root / digest
    code = Code(str(target.resolve()), code_sha256(data), len(data))
    if target.is_dir():
        return code
    root.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise CodeError(f"{origin} is not a valid zip file") from None
    staging = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=root))
    try:
        with archive:
            _extract(archive, staging, origin)
        try:
            staging.rename(target)
        except OSError:
            # Another thread or process unpacked the same zip first: theirs is as good.
            if not target.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return code


def _extract(archive: zipfile.ZipFile, into: Path, origin: str) -> None:
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise CodeError(f"{origin} holds {len(entries)} entries; at most {MAX_ZIP_ENTRIES}")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNZIPPED_BYTES:
        raise CodeError(f"{origin} unzips to {total} bytes; Lambda allows {MAX_UNZIPPED_BYTES}")
    written = 0
    for entry in entries:
        relative = _safe_name(entry.filename, origin)
        if relative is None:
            continue
        destination = into.joinpath(*relative.parts)
        mode = (entry.external_attr >> 16) & 0o777
        if stat.S_ISLNK(entry.external_attr >> 16):
            raise CodeError(f"{origin}: '{entry.filename}' is a symbolic link, which is refused")
        if entry.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(entry) as src, open(destination, "wb") as dst:
            # Count what is actually inflated: the sizes in the directory may lie.
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > MAX_UNZIPPED_BYTES:
                    raise CodeError(f"{origin} unzips to more than {MAX_UNZIPPED_BYTES} bytes")
                dst.write(chunk)
        if mode:
            destination.chmod(mode | 0o600)


def _safe_name(name: str, origin: str) -> PurePosixPath | None:
    """The entry's path inside the root, refusing any that would leave it."""
    cleaned = name.replace("\\", "/")
    path = PurePosixPath(cleaned)
    if cleaned.startswith("/") or (path.parts and ":" in path.parts[0]):
        raise CodeError(f"{origin}: entry '{name}' has an absolute path")
    parts = [part for part in path.parts if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise CodeError(f"{origin}: entry '{name}' points outside the package")
    if not parts:
        return None
    return PurePosixPath(*parts)

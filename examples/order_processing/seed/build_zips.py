"""Build the seed's Lambda zips (lambda_function_1.zip, lambda_function_2.zip) reproducibly.

``python build_zips.py`` rewrites them beside this file from the folders of the same name;
``python build_zips.py --check`` only says whether the committed zips are current. The same
sources always give the same bytes: entries sorted, a fixed timestamp (1980-01-01, the zip
format's earliest), fixed permissions (0644), and stored uncompressed, because deflate's
output may change with the zlib version and the files are small.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FUNCTIONS = ("lambda_function_1", "lambda_function_2")
EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644


def build(source: Path) -> bytes:
    """The zip of every file under ``source``, paths relative to it (``index.js`` at the top)."""
    buffer = io.BytesIO()
    files = sorted(p for p in source.rglob("*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"{source} has no files to zip")
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=EPOCH)
            info.create_system = 3  # Unix, so the permissions below are read as such
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write the zips, or with ``--check`` report the stale ones (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the committed zips")
    args = parser.parse_args(argv)
    stale = []
    for name in FUNCTIONS:
        target = HERE / f"{name}.zip"
        fresh = build(HERE / name)
        if args.check:
            if not target.exists() or target.read_bytes() != fresh:
                stale.append(target.name)
        else:
            target.write_bytes(fresh)
            print(f"wrote {target.name} ({len(fresh)} bytes)")
    if stale:
        print(f"stale: {', '.join(stale)} (run build_zips.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

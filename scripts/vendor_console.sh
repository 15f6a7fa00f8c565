#!/usr/bin/env bash
# Re-fetch the console's graph layout library from npm and vendor its browser build, so
# the console needs no network and no build step. Bump VERSION to update, then run this
# script and commit the files it writes.
set -euo pipefail
VERSION="${VERSION:-3.1.3}"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$HERE/src/stepfn/console/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "@dagrejs/dagre@$VERSION" >/dev/null
tar xzf "dagrejs-dagre-$VERSION.tgz"
mkdir -p "$DEST"
# The minified file points at a source map that is not shipped: drop that line.
grep -v '^//# sourceMappingURL=' package/dist/dagre.min.js >"$DEST/dagre.min.js"
cp package/LICENSE "$DEST/dagre.LICENSE"
echo "$VERSION" >"$DEST/dagre.VERSION"
echo "vendored @dagrejs/dagre $VERSION into $DEST"

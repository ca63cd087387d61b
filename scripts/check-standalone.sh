#!/usr/bin/env bash
# Fails if a tracked file outside docs/ cites the design brief that lives outside this repository,
# or a path beside the checkout (issue 14, "Standalone documents"). The design rules the code relies
# on are in docs/design.md; cite its headings instead, e.g. docs/design.md "Threads".
#
#   scripts/check-standalone.sh [SOURCE_DIR]      (run by ctest as standalone_check, label unit)
#
# The patterns are written as bracket expressions so this script does not match itself.
set -euo pipefail
top=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$top"

pattern='DESIGN[.]md|[.][.]/shared'

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  hits=$(git grep -n -I -E "$pattern" -- . ':!docs/' || true)
else
  # Not a git checkout (a source tarball): every regular file outside docs/ and build trees.
  hits=$(grep -rn -I -E "$pattern" --exclude-dir=docs --exclude-dir='build*' --exclude-dir=.git . \
           | sed 's|^\./||' || true)
fi

bad=$(printf '%s\n' "$hits" | grep -v '^$' || true)
if [[ -n "$bad" ]]; then
  n=$(printf '%s\n' "$bad" | wc -l)
  echo "standalone check: FAILED: $n line(s) outside docs/ cite a document or path outside the repository."
  echo "Cite docs/design.md (or the docs/ file that covers the topic) instead:"
  printf '%s\n' "$bad" | sed 's/^/  /'
  exit 1
fi
echo "standalone check: passed: no file outside docs/ cites a document or path outside the repository"

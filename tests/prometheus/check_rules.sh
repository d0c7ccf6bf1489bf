#!/usr/bin/env bash
# Checks the Prometheus files under deploy/prometheus/ with promtool. The
# checks cover the configuration, each rule file and the rule unit tests in
# tests.yml. The script works from any directory because it changes to the
# repository root first. It runs every check even after a failure, prints
# "N passed, M failed" as its last line, and exits 1 when a check failed.
#
# promtool comes with the Debian package prometheus (2.42 on Debian 12).
set -euo pipefail

repo_root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
cd -- "$repo_root"

if ! command -v promtool >/dev/null 2>&1; then
  echo "error: promtool not found. Install it with: apt-get install -y prometheus" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

passed=0
failed=0

# Run one check, print its output only when it fails, and count the result.
run_check() {
  local name=$1
  shift
  local output
  if output=$("$@" 2>&1); then
    echo "PASS: $name"
    passed=$((passed + 1))
  else
    echo "FAIL: $name (command: $*)"
    printf '%s\n' "$output" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

rules_dir=deploy/prometheus/rules

run_check "configuration deploy/prometheus/prometheus.yml" \
  promtool check config deploy/prometheus/prometheus.yml

# Every rule file except the unit tests, which have another format.
rule_files=()
for file in "$rules_dir"/*.yml; do
  if [[ $(basename -- "$file") != tests.yml ]]; then
    rule_files+=("$file")
  fi
done
if ((${#rule_files[@]} == 0)); then
  echo "FAIL: no rule files found in $rules_dir"
  failed=$((failed + 1))
fi
for file in "${rule_files[@]}"; do
  run_check "rule file $file" promtool check rules "$file"
done

run_check "rule unit tests $rules_dir/tests.yml" \
  promtool test rules "$rules_dir/tests.yml"

echo "$passed passed, $failed failed"
if ((failed > 0)); then
  exit 1
fi

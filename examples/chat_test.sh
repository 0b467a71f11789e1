#!/usr/bin/env bash
# Drives two example_chat instances through pipes on loopback: a message typed
# on each appears on the other, and the history survives a restart.
#   examples/chat_test.sh PATH/TO/example_chat
set -euo pipefail
bin=$1
[[ -x $bin ]] || { echo "chat_test: no executable $bin" >&2; exit 1; }
dir=$(mktemp -d /tmp/plumlog-chat-test.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "chat_test: $*" >&2
  for f in "$dir"/*.out "$dir"/*.err; do [[ -f $f ]] && { echo "--- $f" >&2; cat "$f" >&2; }; done
  exit 1
}
# Waits up to 20 s for a line matching $2 in file $1.
wait_for() {
  for _ in $(seq 200); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no '$2' in $1"
}
start() {  # name, extra args...
  local name=$1; shift
  mkfifo "$dir/$name.in"
  "$bin" "$dir/$name" lobby "$@" <"$dir/$name.in" >"$dir/$name.out" 2>"$dir/$name.err" &
  pids+=($!)
  exec {fd}>"$dir/$name.in"
  eval "${name}_fd=$fd"
}

start alice --nick alice
wait_for "$dir/alice.out" '^address: net:'
addr=$(sed -n 's/^address: //p' "$dir/alice.out")
start bob --nick bob --peer "$addr"
wait_for "$dir/bob.out" '^address: net:'

echo "hello from bob" >&"$bob_fd"
wait_for "$dir/alice.out" '^<bob> hello from bob$'
echo "hi bob" >&"$alice_fd"
wait_for "$dir/bob.out" '^<alice> hi bob$'
echo "/quit" >&"$alice_fd"
echo "/quit" >&"$bob_fd"
wait "${pids[@]}" || fail "an instance exited with an error"
pids=()

# History survives a restart, in causal order (alice's answer after bob's message).
rm -f "$dir/alice.in"
start alice
wait_for "$dir/alice.out" '^address: net:'
bob_line=$(grep -n '^<bob> hello from bob$' "$dir/alice.out" | cut -d: -f1)
alice_line=$(grep -n '^<alice> hi bob$' "$dir/alice.out" | cut -d: -f1)
[[ -n $bob_line && -n $alice_line && $bob_line -lt $alice_line ]] ||
  fail "history after restart is missing or out of order"
echo "/quit" >&"$alice_fd"
wait "${pids[@]}" || fail "restart exited with an error"
pids=()
echo "chat_test: ok"

#!/bin/bash
# Compute passes per generated token of a running llama.cpp server (TokenForge's worker or
# llama-server), counted with uprobes: one `llama_decode` per decode call and one
# `llama_context::graph_compute` per compute pass (a ubatch, one read of all the weights). Also
# output tok/s and the server's CPU per token over the same load: C concurrent streaming curl loops
# of N requests of T tokens each, pinned to core 1 (pin the server to core 0 yourself, `taskset`).
# Needs root, perf (linux-perf) with uprobes, curl and nm.
#
#   bench/decode-passes.sh PID URL MODEL C N T
#
# The library probed is found from the process's maps: the libllama it loaded (worker), or its own binary
# (llama-server, linked statically).
set -euo pipefail
PID=$1 URL=$2 MODEL=$3 C=$4 N=$5 T=$6
LIB=$(awk '$6 ~ /libllama\.v[^/]*\.so/ {print $6; exit}' "/proc/$PID/maps")
[ -n "$LIB" ] || LIB=$(readlink "/proc/$PID/exe")
GRAPH=$(nm -D --defined-only "$LIB" 2>/dev/null | awk '/_ZN13llama_context13graph_computeEP11ggml_cgraphb$/ {print $1}')
[ -n "$GRAPH" ] || GRAPH=$(nm "$LIB" | awk '/_ZN13llama_context13graph_computeEP11ggml_cgraphb$/ {print $1}')
GROUP=tfpasses
perf probe -q -d "$GROUP:*" 2>/dev/null || true
perf probe -q -x "$LIB" --add "$GROUP:decode=llama_decode"
perf probe -q -x "$LIB" --add "$GROUP:graph=0x$GRAPH"
trap 'perf probe -q -d "$GROUP:*"' EXIT

load() { # requests per stream
  local pids=()
  for c in $(seq "$C"); do
    (for i in $(seq "$1"); do
      curl -s -o /dev/null "$URL/v1/completions" -H 'content-type: application/json' -d \
        "{\"model\":\"$MODEL\",\"prompt\":\"The quick brown fox jumps over the lazy dog $c $i\",\"max_tokens\":$T,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}"
    done) &
    pids+=($!)
  done
  wait "${pids[@]}"
}
# This script and its curl loops on core 1, away from the server.
taskset -p -c 1 $$ >/dev/null
load 1 # warmup
cpu0=$(awk '{print $14+$15}' "/proc/$PID/stat")
OUT=$(mktemp)
perf stat -e "$GROUP:decode" -e "$GROUP:graph" -p "$PID" -o "$OUT" &
STAT=$!
sleep 0.2
t0=$(date +%s.%N)
load "$N"
t1=$(date +%s.%N)
kill -INT $STAT; wait $STAT 2>/dev/null || true
cpu1=$(awk '{print $14+$15}' "/proc/$PID/stat")
tokens=$((C * N * T))
decodes=$(awk '/decode/ {gsub(",", "", $1); print $1}' "$OUT")
passes=$(awk '/graph/ {gsub(",", "", $1); print $1}' "$OUT")
rm -f "$OUT"
awk -v tok="$tokens" -v w="$(echo "$t1 - $t0" | bc)" -v cpu="$(echo "$cpu1 - $cpu0" | bc)" -v d="$decodes" -v p="$passes" \
  'BEGIN { printf "tokens %d  tok/s %.1f  CPU/token %.2f ms  decode calls %d  passes %d  passes/token %.3f\n", tok, tok / w, cpu * 10 / tok, d, p, p / tok }'

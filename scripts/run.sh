#!/usr/bin/env bash
# run.sh BUILD_DIR: the demo behind `make run`. Starts the example agent server
# and authrelay in front of it on loopback, prints what to try, and stops both
# on Ctrl-C. Ports: AGENT_PORT (9000), PROXY_PORT (8080), CONTROL_PORT (9090).
set -euo pipefail
build=${1:-build}
agent_port=${AGENT_PORT:-9000}
proxy_port=${PROXY_PORT:-8080}
control_port=${CONTROL_PORT:-9090}
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$build/agent-server" --listen "127.0.0.1:$agent_port" >/dev/null &
pids+=($!)
"$build/authrelay" --listen "127.0.0.1:$proxy_port" --control "127.0.0.1:$control_port" \
  --upstream "http://127.0.0.1:$agent_port" &
pids+=($!)
sleep 0.5
cat <<EOT

authrelay is relaying http://127.0.0.1:$proxy_port -> example agent server on :$agent_port
(logs below are authrelay's JSON lines on stderr).

A stream of 10 events, one per second, whose 4th event is an auth-required MCP tool result:
  curl -N 'http://127.0.0.1:$proxy_port/stream?format=sse&count=10&rate=1&auth_at=3&shape=mcp' \\
       -H 'X-Registered-User-Id: user_1'

Today authrelay detects it (warning "auth-required result passed through") and counts it:
  curl -s http://127.0.0.1:$control_port/metrics | grep detections

The same stream with the parser's view of each event:
  curl -s 'http://127.0.0.1:$agent_port/stream?format=sse&count=10&auth_at=3&shape=mcp' | $build/authrelay-scan

Pausing the stream and the link page come with the auth-interrupt issue (#4). Ctrl-C stops.

EOT
wait

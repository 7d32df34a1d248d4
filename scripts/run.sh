#!/usr/bin/env bash
# run.sh BUILD_DIR: the demo behind `make run`. Starts the example agent server
# (serving the chat page of examples/web/) and authrelay (embedded link service)
# in front of it on loopback, prints the chat page's URL first, then what else
# to try, and stops both on Ctrl-C. Ports: AGENT_PORT (9000), PROXY_PORT (8080),
# CONTROL_PORT (9090); data: RUN_DATA_DIR (BUILD_DIR/run-data). The control API
# key is AUTHRELAY_ADMIN_KEY (default "demo-admin-key": this is a demo on loopback).
set -euo pipefail
build=${1:-build}
agent_port=${AGENT_PORT:-9000}
proxy_port=${PROXY_PORT:-8080}
control_port=${CONTROL_PORT:-9090}
data_dir=${RUN_DATA_DIR:-$build/run-data}
export AUTHRELAY_ADMIN_KEY=${AUTHRELAY_ADMIN_KEY:-demo-admin-key}
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "Chat page: http://127.0.0.1:$proxy_port/  (open it in a browser, send a message, connect OpenAI in the popup)"
"$build/agent-server" --listen "127.0.0.1:$agent_port" --web-dir examples/web >/dev/null &
pids+=($!)
"$build/authrelay" --listen "127.0.0.1:$proxy_port" --control "127.0.0.1:$control_port" \
  --upstream "http://127.0.0.1:$agent_port" --connectors examples/connectors.json \
  --data-dir "$data_dir" &
pids+=($!)
sleep 0.5
cat <<EOT

authrelay relays http://127.0.0.1:$proxy_port -> example agent server on :$agent_port
(authrelay's JSON log lines follow below).

0. The chat page: http://127.0.0.1:$proxy_port/ (examples/web/). Send a message: the answer
   streams, stops at a tool call that needs OpenAI, "Connect openai" opens the Link page in a
   popup; enter any API key there and the same answer goes on.

1. In another terminal, start a stream whose 4th event is an auth-required MCP tool result:

  curl -N 'http://127.0.0.1:$proxy_port/stream?format=sse&count=10&rate=2&auth_at=3&shape=mcp&connector=openai' \\
       -H 'X-Registered-User-Id: user_1'

   It pauses there: you get "event: link_token" with a magic_link_url, then ": paused"
   heartbeats every 15 s.

2. Open the magic_link_url in a browser (http://127.0.0.1:$proxy_port/_authrelay/link/ltk_...),
   enter any API key and press Connect. The stream gets "event: auth_complete" and goes on.
   (OpenAI is an API-key connector of examples/connectors.json; OAuth2 connectors there,
   e.g. connector=github, need an application credential: POST /api/v1/application-credentials/.)

Also: paused streams  curl -H 'Authorization: Bearer $AUTHRELAY_ADMIN_KEY' http://127.0.0.1:$control_port/v1/streams
      users           curl -H 'Authorization: Bearer $AUTHRELAY_ADMIN_KEY' http://127.0.0.1:$control_port/api/v1/registered-users/
      metrics         curl http://127.0.0.1:$control_port/metrics
Ctrl-C stops both.

EOT
wait

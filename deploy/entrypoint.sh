#!/usr/bin/env bash
# twinbot's container entry point (and the systemd unit's ExecStart).
#
#   run              start every chat platform that has a token in the environment:
#                    Discord if TWINBOT_DISCORD_TOKEN is set, Slack if TWINBOT_SLACK_BOT_TOKEN
#                    is set, both side by side if both are. When either stops, the other is
#                    stopped too and the exit status is the first one's, so the supervisor
#                    (docker's restart policy, systemd's Restart=) restarts the pair. Each
#                    process has its own TWINBOT_MAX_RUNNING bound on Ollama: halve it, or
#                    raise OLLAMA_NUM_PARALLEL, when both platforms run.
#   healthcheck      the container's health: GET /healthz of every platform process `run`
#                    starts (same rule, same ports); unhealthy if any one is not 200.
#   anything else    passed to `twinbot` as it is: `pull`, `doctor`, `run discord`, `backup F`...
set -euo pipefail

platforms=()
[[ -n "${TWINBOT_DISCORD_TOKEN:-}" ]] && platforms+=(discord)
[[ -n "${TWINBOT_SLACK_BOT_TOKEN:-}" ]] && platforms+=(slack)
# Each platform process serves /healthz and /metrics on its own port: 9464 for the first
# platform, 9465 for the second (TWINBOT_OPS_PORT moves the base).
base_port=${TWINBOT_OPS_PORT:-9464}

if [[ "${1:-run}" == "healthcheck" && $# -eq 1 ]]; then
    # No curl in a slim image: Python's urllib raises on a 503 or a refused connection.
    status=0
    for i in "${!platforms[@]}"; do
        port=$((base_port + i))
        if ! "${PYTHON:-python}" -c 'import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=10)' "$port" \
            >/dev/null 2>&1; then
            echo "twinbot: ${platforms[$i]} is unhealthy (http://127.0.0.1:$port/healthz)" >&2
            status=1
        fi
    done
    [[ ${#platforms[@]} -gt 0 ]] || { echo "twinbot: no platform configured" >&2; status=1; }
    exit "$status"
fi

if [[ "${1:-run}" != "run" || $# -gt 1 ]]; then
    exec twinbot "$@"
fi

case ${#platforms[@]} in
0)
    echo "twinbot: no chat platform to run: set TWINBOT_DISCORD_TOKEN and/or" \
        "TWINBOT_SLACK_BOT_TOKEN (in deploy/.env for compose)" >&2
    exit 2
    ;;
1)
    # One platform: become it, so signals reach twinbot directly.
    exec twinbot run "${platforms[0]}"
    ;;
esac

# Two processes: each serves its own /healthz and /metrics, so the second one listens on the
# next port (9464 for Discord, 9465 for Slack by default).
ops_port=$base_port
pids=()
for platform in "${platforms[@]}"; do
    TWINBOT_OPS_PORT=$ops_port twinbot run "$platform" &
    pids+=("$!")
    [[ $ops_port == 0 ]] || ops_port=$((ops_port + 1))
done
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; }
trap stop TERM INT

set +e
wait -n "${pids[@]}"
status=$?
stop
wait "${pids[@]}"
exit "$status"

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
#   anything else    passed to `twinbot` as it is: `pull`, `doctor`, `run discord`, `backup F`...
set -euo pipefail

if [[ "${1:-run}" != "run" || $# -gt 1 ]]; then
    exec twinbot "$@"
fi

platforms=()
[[ -n "${TWINBOT_DISCORD_TOKEN:-}" ]] && platforms+=(discord)
[[ -n "${TWINBOT_SLACK_BOT_TOKEN:-}" ]] && platforms+=(slack)

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
ops_port=${TWINBOT_OPS_PORT:-9464}
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

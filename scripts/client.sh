#!/bin/sh
# Start one client of paxos_edu: client.sh <id> <config> [options...]
# Runnable from any directory, without install; see run-role.sh for the details.
SCRIPT=$0
if command -v readlink >/dev/null 2>&1 && readlink -f "$SCRIPT" >/dev/null 2>&1; then
    SCRIPT=$(readlink -f "$SCRIPT")
fi
exec "$(dirname -- "$SCRIPT")/run-role.sh" client "$@"

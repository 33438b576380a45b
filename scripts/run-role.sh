#!/bin/sh
# Start one paxos_edu process: run-role.sh <role> <id> <config> [options...]
# (acceptor.sh, proposer.sh, learner.sh/learn.sh and client.sh call this with their role.)
# Runnable from any directory; needs no install (PYTHONPATH points at this repository).
# The python process is exec'ed, so its command line holds the config path (the course's
# harness stops processes with 'pkill -f <config path>').
# Environment: PAXOS_LOG_DIR=<dir> writes an event log there; PAXOS_PYTHON picks the
# interpreter (default python3).
ROLE=$1
shift
if [ "$#" -lt 2 ]; then
    echo "usage: $ROLE.sh <id> <config> [options...]   (options: python3 -m paxos_edu $ROLE --help)" >&2
    exit 2
fi
SCRIPT=$0
if command -v readlink >/dev/null 2>&1 && readlink -f "$SCRIPT" >/dev/null 2>&1; then
    SCRIPT=$(readlink -f "$SCRIPT")
fi
ROOT=$(CDPATH='' cd -- "$(dirname -- "$SCRIPT")/.." && pwd) || exit 1
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
ID=$1
CONFIG=$2
shift 2
if [ -n "${PAXOS_LOG_DIR:-}" ]; then
    set -- --log-dir "$PAXOS_LOG_DIR" "$@"
fi
exec "${PAXOS_PYTHON:-python3}" -m paxos_edu "$ROLE" "$ID" "$CONFIG" "$@"

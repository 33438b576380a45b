#!/bin/sh
# Same as learner.sh (the course uses both names): learn.sh <id> <config> [options...]
SCRIPT=$0
if command -v readlink >/dev/null 2>&1 && readlink -f "$SCRIPT" >/dev/null 2>&1; then
    SCRIPT=$(readlink -f "$SCRIPT")
fi
exec "$(dirname -- "$SCRIPT")/learner.sh" "$@"

#!/bin/sh
# Lay this project out for the course's test harness: course-harness.sh <harness dir> [name]
#
# The harness runs "./run.sh <project> N" from its own folder: it cds into <project>, starts
# ./acceptor.sh, ./proposer.sh, ./learner.sh, ./client.sh there and writes ../prop1, ../learn1,
# ..., which its check scripts then read in the harness folder. This makes <harness dir>/<name>
# (default: paxos_edu) a real folder of links to these scripts, so that
#     cd <harness dir> && ./run.sh paxos_edu 100
# runs this project unchanged and every prop/learn file lands in the harness folder, never in
# this repository. (A link to scripts/ itself would not do: "../prop1" seen from a linked folder
# is resolved by the kernel from the real one, the repository root.)
set -e
if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    echo "usage: course-harness.sh <harness dir> [name]   (then: cd <harness dir> && ./run.sh name N)" >&2
    exit 2
fi
HARNESS=$1
NAME=${2:-paxos_edu}
case $NAME in
    */*|.|..|'') echo "course-harness.sh: name must be a plain folder name, not '$NAME'" >&2; exit 2 ;;
esac
if [ ! -d "$HARNESS" ]; then
    echo "course-harness.sh: $HARNESS: not a folder (unpack the course harness there first)" >&2
    exit 2
fi
SCRIPT=$0
if command -v readlink >/dev/null 2>&1 && readlink -f "$SCRIPT" >/dev/null 2>&1; then
    SCRIPT=$(readlink -f "$SCRIPT")
fi
HERE=$(CDPATH='' cd -- "$(dirname -- "$SCRIPT")" && pwd)
TARGET=$HARNESS/$NAME
if [ -L "$TARGET" ] || { [ -e "$TARGET" ] && [ ! -d "$TARGET" ]; }; then
    echo "course-harness.sh: $TARGET exists and is not a folder; remove it first" >&2
    exit 2
fi
mkdir -p "$TARGET"
for role in acceptor proposer learner learn client; do
    ln -sf "$HERE/$role.sh" "$TARGET/$role.sh"
done
echo "$TARGET -> $HERE; now: cd $HARNESS && ./run.sh $NAME 100"

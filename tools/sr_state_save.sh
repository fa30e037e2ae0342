#!/usr/bin/env bash
# Keep the x3/x4 trainings across sittings: copy each run's best checkpoint and resumable state (runs/sr, not
# tracked) into training/sr/state (tracked, ~20-120 KB each); `tools/sr_state_save.sh restore` copies them back
# so `tools/sr_scale_runs.sh QUEUE MINUTES` resumes where the last sitting stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p training/sr/state runs/sr
if [ "${1:-save}" = restore ]; then
  cp -n training/sr/state/* runs/sr/ 2>/dev/null || true
  exit 0
fi
for f in runs/sr/x[234]_*; do
  case $f in
    *.last.pt) [ -f "${f%.last.pt}.pt.done" ] || cp "$f" training/sr/state/ ;;  # finished runs need no state
    *.pt|*.pt.done|*.log) cp "$f" training/sr/state/ ;;
  esac
done
ls -la training/sr/state | tail -n +2

#!/usr/bin/env bash
# SIGKILLs `mtst train` at random moments, TRIALS times (default 60), and checks that every
# outcome resumes to a final model (tests/checkpoint_crash_test.cpp; ctest runs 12 trials).
# Usage: scripts/reliability/kill_trials.sh [TRIALS]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir="$(bash scripts/build.sh --print-dir)"
MTST_KILL_TRIALS="${1:-60}" "$build_dir/mtst_tests" \
  --gtest_filter='CheckpointCrash.SigkillAtRandomMomentsAlwaysLeavesAResumableRun'

#!/bin/sh
# Docker HEALTHCHECK: PING over loopback, authenticating when a password is configured through
# the environment (VAYLIX_REQUIREPASS; redis-cli reads REDISCLI_AUTH so the password never shows
# in `ps`). Loopback is always allowed by protected mode.
port="${VAYLIX_PORT:-6379}"
if [ -n "${VAYLIX_REQUIREPASS:-}" ]; then
  export REDISCLI_AUTH="$VAYLIX_REQUIREPASS"
fi
redis-cli -h 127.0.0.1 -p "$port" ping | grep -q PONG

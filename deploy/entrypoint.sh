#!/bin/sh
# The container's entry point: a service name runs that service on $COPRO_PORT; anything else is a copro command.
set -eu
case "${1:-}" in
    decisions|scheduling|publishing)
        service="$1"; shift
        exec copro serve "$service" --port "${COPRO_PORT:-8080}" "$@" ;;
    *)
        exec copro "$@" ;;
esac

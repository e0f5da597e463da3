#!/usr/bin/env bash
# Prints each service as up or down; exits non-zero when any is down.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SERVICES_DIR"

down=0
for check in "kafka.sh status 4" "kafka.sh status 3" "s3proxy.sh status" "zipkin.sh status" \
  "postgres.sh status" "redis.sh status" "rabbitmq.sh status"; do
  # shellcheck disable=SC2086 # the words are the script and its arguments
  bash $check || down=1
done
exit "$down"

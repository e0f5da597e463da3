#!/usr/bin/env bash
# Stops what up.sh started (both Kafka brokers, S3Proxy and Zipkin). The machine's own PostgreSQL, Redis
# and RabbitMQ are left running. `down.sh --purge` also deletes their data and logs.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SERVICES_DIR"

[[ "$EDA_KAFKA_BROKERS" == "$DEFAULT_KAFKA_BROKERS" ]] && bash kafka.sh stop 4
[[ "$EDA_KAFKA3_BROKERS" == "$DEFAULT_KAFKA3_BROKERS" ]] && bash kafka.sh stop 3
[[ "$EDA_S3_ENDPOINT" == "$DEFAULT_S3_ENDPOINT" ]] && bash s3proxy.sh stop
[[ "$EDA_ZIPKIN_URL" == "$DEFAULT_ZIPKIN_URL" ]] && bash zipkin.sh stop
if [[ "${1:-}" == --purge ]]; then
  rm -rf "$STATE_DIR"
  say "deleted $STATE_DIR (the jar cache in $CACHE_DIR is kept)"
fi

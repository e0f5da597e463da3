#!/usr/bin/env bash
# Starts (or checks) every service the services tests need, and prints the endpoints.
# Idempotent: a service that is already up is left alone. See README.md beside this file.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SERVICES_DIR"
started=$SECONDS

# The machine's own services first: cheap checks, and a clear message if one is missing.
bash postgres.sh ensure
bash redis.sh ensure
bash rabbitmq.sh ensure

# Jars one after the other: parallel Maven runs would share one local repository unsafely.
managed() { [[ "$1" == "$2" ]]; }
managed "$EDA_KAFKA_BROKERS" "$DEFAULT_KAFKA_BROKERS" && bash kafka.sh install 4
managed "$EDA_KAFKA3_BROKERS" "$DEFAULT_KAFKA3_BROKERS" && bash kafka.sh install 3
managed "$EDA_S3_ENDPOINT" "$DEFAULT_S3_ENDPOINT" && bash s3proxy.sh install
managed "$EDA_ZIPKIN_URL" "$DEFAULT_ZIPKIN_URL" && bash zipkin.sh install

# The four JVMs start side by side; each script waits for its own readiness.
pids=()
bash kafka.sh start 4 & pids+=($!)
bash kafka.sh start 3 & pids+=($!)
bash s3proxy.sh start & pids+=($!)
bash zipkin.sh start & pids+=($!)
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
((failed == 0)) || die "some services did not start (messages above); state and logs are in $STATE_DIR"

cat <<EOF
services ready in $((SECONDS - started))s:
  EDA_KAFKA_BROKERS=$EDA_KAFKA_BROKERS        (Kafka $KAFKA4_VERSION when started here)
  EDA_KAFKA3_BROKERS=$EDA_KAFKA3_BROKERS       (Kafka $KAFKA3_VERSION when started here)
  EDA_POSTGRES_URL=$EDA_POSTGRES_URL
  EDA_REDIS_URL=$EDA_REDIS_URL
  EDA_AMQP_URL=$EDA_AMQP_URL
  EDA_S3_ENDPOINT=$EDA_S3_ENDPOINT  bucket $EDA_S3_BUCKET, region $EDA_S3_REGION, key $EDA_S3_ACCESS_KEY_ID
  EDA_ZIPKIN_URL=$EDA_ZIPKIN_URL     (Zipkin $ZIPKIN_VERSION when started here; UI at /zipkin/)
EOF

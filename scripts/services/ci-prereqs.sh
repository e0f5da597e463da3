#!/usr/bin/env bash
# Installs through apt whatever up.sh and the tests need and a fresh machine of the project's kind lacks.
# On that kind (Debian 12 with Java 17, Maven, PostgreSQL, Redis and RabbitMQ) nothing is
# missing and this returns at once; Kafka and S3Proxy jars are fetched by up.sh itself.
set -euo pipefail

# command -> Debian package that provides it
declare -A needs=(
  [java]=openjdk-17-jre-headless
  [mvn]=maven
  [flock]=util-linux
  [setsid]=util-linux
  [timeout]=coreutils
  [base64]=coreutils
  [pg_isready]=postgresql-client
  [psql]=postgresql-client
  [redis-cli]=redis-tools
  # The workflow monitor's page is tested in headless Chromium (puppeteer-core, no download).
  [chromium]=chromium
)

missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null || missing+=("${needs[$cmd]}")
done
if ((${#missing[@]} == 0)); then
  echo "ci-prereqs: nothing to install"
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "ci-prereqs: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"

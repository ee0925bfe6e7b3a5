#!/bin/sh
# Builds @confluentinc/kafka-javascript (librdkafka underneath) into node_modules for the client
# bench (`npm run bench:client`, issue 22). Not a dependency of the project, and --no-save.
#
# Why the steps: its install script first downloads a prebuilt binary from GitHub; where that is
# unreachable it builds from source, and the source build runs librdkafka's configure with
# --install-deps, which downloads the sources of OpenSSL, zlib, zstd, … — so it stops at
# "No rule to make target '../deps/librdkafka/config.h'". With CKJS_LINKING=dynamic, configure uses
# the system's libssl and zlib instead (Debian: libssl-dev, zlib1g-dev; plus build-essential and
# python3 for node-gyp), and the bundled librdkafka is built as a shared library beside the addon.
# node-gyp also downloads Node's headers unless they are installed (/usr/include/node: Debian's
# libnode-dev or NodeSource's nodejs), which --nodedir=/usr then uses. npm ≥ 11 runs no install
# scripts of dependencies by default, so the build is started by hand. Takes ≈ 10 min on 2 cores.
#
# Installing packages with npm later (e.g. `npm install --no-save @platformatic/kafka`) removes it
# again (it is extraneous): install both together, as this script does.
set -eu
CONFLUENT_VERSION=1.10.1
PLATFORMATIC_VERSION=1.35.0
cd "$(dirname "$0")/.."
npm install --no-save --no-audit --no-fund --ignore-scripts "@confluentinc/kafka-javascript@$CONFLUENT_VERSION" "@platformatic/kafka@$PLATFORMATIC_VERSION"
cd node_modules/@confluentinc/kafka-javascript
set --
if [ -f /usr/include/node/node_api.h ]; then set -- --nodedir=/usr; fi
CKJS_LINKING=dynamic ../../.bin/node-pre-gyp install --fallback-to-build "$@"
node -e "console.log('@confluentinc/kafka-javascript $CONFLUENT_VERSION with librdkafka ' + require('@confluentinc/kafka-javascript').librdkafkaVersion)"

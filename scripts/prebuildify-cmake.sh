#!/bin/sh
# prebuildify runs "<node-gyp> rebuild --target=X --devdir=D --arch=A --release" and then takes
# build/Release/*.node. cmake-js reads --target as a CMake target, so translate rather than pass through.
set -e
arch=x64
for a in "$@"; do case "$a" in --arch=*) arch="${a#--arch=}";; esac; done
exec npx cmake-js rebuild --arch="$arch" --log-level=warn

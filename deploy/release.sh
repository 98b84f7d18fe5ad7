#!/bin/sh
# Assembles the directory certfleet runs from, out of a checkout where `npm ci`, `npm run build` and
# `npm prune --omit=dev` have run: the manifests, the production node_modules, each workspace's
# package.json and dist/, and the files read at run time that are not TypeScript. deploy/Dockerfile
# runs it for the image; for systemd, run it and copy the result to /opt/certfleet.
#   deploy/release.sh <out-dir>
set -eu
out=${1:?usage: deploy/release.sh <out-dir>}
cd "$(dirname "$0")/.."
for svc in all api worker notifier; do
  if [ ! -f "services/$svc/dist/main.js" ]; then
    echo "release: services/$svc/dist/main.js is missing: run npm run build first" >&2
    exit 1
  fi
done
mkdir -p "$out"
cp -a package.json package-lock.json node_modules "$out/"
for ws in packages/* services/*; do
  mkdir -p "$out/$ws"
  cp -a "$ws/package.json" "$out/$ws/"
  if [ -d "$ws/dist" ]; then cp -a "$ws/dist" "$out/$ws/"; fi
done
# The Windows scripts are read beside the compiled module that reads them; the approval page
# beside dist/ (services/api/ui/).
mkdir -p "$out/packages/ssh/dist/windows"
cp -a packages/ssh/src/windows/. "$out/packages/ssh/dist/windows/"
cp -a services/api/ui "$out/services/api/"

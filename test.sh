#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need on a fresh Debian 12 / Ubuntu machine that has the
# .NET 10 SDK and node/npm, then runs every test project (and builds the C# sample in samples/, which a test runs).
#  - apt-get (with sudo when not root), each only when missing: libturbojpeg0 (the default JPEG decoder; the Augment
#    tests compare it with Skia), chromium (headless: pages and reports are rendered and checked in a real browser),
#    openmpi-bin (distributed training tests launch real `mpirun -np 2`), slurm-wlm, munge and libpmix-dev (the
#    service's slurm executor is tested on a single-node SLURM that tests/tools/slurm-up.sh starts; needs root),
#    python3-torchvision (Debian's torch and torchvision load the safetensors exports and are compared with ours).
#  - DuckDB (an independent Parquet writer) and s3rver (an S3-protocol server) from npm into tests/tools.
# Extra arguments go to `dotnet test` (e.g. ./test.sh --filter FullyQualifiedName~Methods).
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

have_lib() { # no grep -q: with pipefail, grep quitting early can kill ldconfig with SIGPIPE and the test look false
  { ldconfig -p 2>/dev/null || /sbin/ldconfig -p; } | grep "$1" >/dev/null
}
apt_install() {
  local sudo=
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "test.sh: need root or sudo to install $*" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK is needed (dotnet not on PATH)" >&2; exit 1; }
command -v npm >/dev/null || { echo "test.sh: node and npm are needed (the tests drive DuckDB and s3rver from npm)" >&2; exit 1; }
missing=()
have_lib 'libturbojpeg\.so\.0' || missing+=(libturbojpeg0)
command -v chromium >/dev/null || missing+=(chromium)
{ command -v mpirun >/dev/null && have_lib 'libmpi\.so\.40'; } || missing+=(openmpi-bin)
command -v slurmctld >/dev/null || missing+=(slurm-wlm)
command -v munged >/dev/null || missing+=(munge)
have_lib 'libpmix\.so (' || missing+=(libpmix-dev)
{ [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torchvision' 2>/dev/null; } || missing+=(python3-torchvision)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
(cd tests/tools && npm install --no-audit --no-fund --loglevel=error)
# A single-node SLURM for the slurm executor's tests (idempotent; a cluster already up is left as it is).
if [ "$(id -u)" -eq 0 ]; then tests/tools/slurm-up.sh; else sudo tests/tools/slurm-up.sh; fi
# npm may rewrite the lock file with other platforms' optional packages; the committed one stays as it is.
git checkout -- tests/tools/package-lock.json 2>/dev/null || true
dotnet test "$@"

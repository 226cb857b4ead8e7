#!/usr/bin/env bash
# What the test suite needs beside node_modules: moto_server (preinstalled on our machines) and an
# OpenSSH server + client (for the verify-over-SSH tests). Installs OpenSSH with apt-get when it is
# missing and we are root; otherwise says exactly what to install.
set -euo pipefail

if ! command -v moto_server >/dev/null 2>&1; then
  echo "test-prereqs: moto_server is not on PATH. Install it: pip install 'moto[server]==5.2.1'" >&2
  exit 1
fi

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-prereqs: installing openssh-server and openssh-client (apt-get) for the SSH tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null
  else
    echo "test-prereqs: the SSH tests need /usr/sbin/sshd and ssh. Install openssh-server and openssh-client." >&2
    exit 1
  fi
fi

#!/usr/bin/env bash
# Install the real mail peers the email tests talk to on loopback (dovecot for IMAP/POP3).
# Idempotent: does nothing when they are already there. `make install-test` calls it, so a
# fresh machine (and CI) gets them; the tests then start dovecot unprivileged on a high port.
set -euo pipefail

have_dovecot() {
    command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]
}

if have_dovecot && [ -d /usr/lib/dovecot ] && ls /usr/lib/dovecot/imap /usr/lib/dovecot/pop3 >/dev/null 2>&1; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "ensure-test-services: dovecot is missing and we are not root (no sudo)." >&2
        echo "Install it: apt-get install -y dovecot-imapd dovecot-pop3d" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# The packages' postinst would start a system dovecot on ports 143/110; policy-rc.d keeps
# services from starting during the install (the tests run their own instance).
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    CREATED_POLICY=1
fi
$SUDO apt-get install -y -qq --no-install-recommends dovecot-imapd dovecot-pop3d >/dev/null
if [ "$CREATED_POLICY" = "1" ]; then
    $SUDO rm -f "$POLICY"
fi
have_dovecot || { echo "ensure-test-services: dovecot install failed" >&2; exit 1; }
echo "ensure-test-services: dovecot installed ($(/usr/sbin/dovecot --version))"

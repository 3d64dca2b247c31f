#!/bin/sh
# Debian's Chromium for the browser tests (tests/web/test_browser.py). Playwright drives it
# through executable_path; `playwright install` is not used (it downloads its own builds).
set -eu
if [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
/usr/bin/chromium --version

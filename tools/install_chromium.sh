#!/usr/bin/env bash
# Headless Chromium and its WebDriver from Debian's packages, for the documentation
# site's browser check (`make docs-check`). Browsers that download themselves at
# install time (Playwright's, Selenium Manager's) cannot be fetched on CI, so the
# check uses the distribution's build. Idempotent: a no-op when both are present.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install_chromium.sh: no apt-get here; install Chromium and chromedriver" \
        "so that $CHROMIUM and $CHROMEDRIVER exist." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
"$CHROMIUM" --version

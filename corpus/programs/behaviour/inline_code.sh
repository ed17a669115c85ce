#!/bin/sh
# Inline code and decoding. This script itself runs as `sh inline_code.sh`
# (a script FILE, not -c): near miss.
sh -c 'echo inline-sh'                                      # hit: sh -c
bash -c 'echo inline-bash'                                  # hit: bash -c
python3 -c 'print("inline-python")'                         # hit: python -c
node -e 'console.log("inline-node")'                        # hit: node -e
perl -e 'print "inline-perl\n"'                             # hit: perl -e
echo ZWNobyBkZWNvZGVk | base64 -d | sh                      # hit: base64 -d (piped to sh)
echo ZGVjb2RlZAo= | openssl enc -d -base64                  # hit: openssl enc -d
# near misses
sh ./scripts/hello.sh                                       # shell running a file
python3 ./scripts/hello.py
node ./scripts/hello.js
echo plain | base64 > /dev/null                             # base64 ENcode
openssl version > /dev/null

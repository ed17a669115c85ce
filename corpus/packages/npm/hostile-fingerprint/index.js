'use strict';
// Harmless on require: this test package looks around only in its install script.
module.exports = { name: require('./package.json').name };

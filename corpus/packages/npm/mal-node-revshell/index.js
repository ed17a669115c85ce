'use strict';
// Harmless on require: this test package misbehaves only in its install script.
module.exports = { name: require('./package.json').name };

'use strict';
// Harmless on require: this test package misbehaves only in its preinstall.
module.exports = { name: require('./package.json').name };

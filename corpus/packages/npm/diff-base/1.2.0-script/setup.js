'use strict';
// The new install script: harmless, it only says hello. What matters to the
// diff is that an install script exists at all.
console.log('diff-base: set up');

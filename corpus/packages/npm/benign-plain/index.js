'use strict';
// Benign: no install scripts, nothing on require but a function definition.
module.exports = function add(a, b) {
  return a + b;
};

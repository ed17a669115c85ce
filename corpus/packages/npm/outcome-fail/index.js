// Nothing: this package is only about how its install ends.
module.exports = {};

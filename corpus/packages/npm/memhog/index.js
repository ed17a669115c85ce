module.exports = 'pkgtrace-test-memhog';

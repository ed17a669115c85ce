'use strict';
module.exports = { ring: 'epoll-control' };

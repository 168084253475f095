// Preloaded into csdx (NODE_OPTIONS=--require) by roundtrip.sh: resolves the host name in
// HEADWATER_LOCAL_NAME to 127.0.0.1, as an /etc/hosts line would, without editing /etc/hosts.
// Needed because the management SDK refuses `localhost` and IP addresses as its host.
'use strict';
const dns = require('node:dns');
const name = (process.env.HEADWATER_LOCAL_NAME || '').toLowerCase();
if (name) {
  const original = dns.lookup;
  dns.lookup = function lookup(hostname, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    if (typeof hostname === 'string' && hostname.toLowerCase() === name) {
      const opts = typeof options === 'number' ? { family: options } : options || {};
      if (opts.all) return process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
      return process.nextTick(callback, null, '127.0.0.1', 4);
    }
    return original.call(dns, hostname, options, callback);
  };
}

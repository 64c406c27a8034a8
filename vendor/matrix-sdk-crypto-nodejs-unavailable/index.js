'use strict';
// Any use of the native binding fails loudly with a reason; importing it does not.
const reason =
  'The native @matrix-org/matrix-sdk-crypto-nodejs binding is not installed (its binary comes from GitHub, ' +
  'not the npm registry). Use the WASM build, @matrix-org/matrix-sdk-crypto-wasm, for encryption in bots.';
module.exports = new Proxy(
  {},
  {
    get(_target, property) {
      if (typeof property === 'symbol' || property === '__esModule' || property === 'then') return undefined;
      throw new Error(`${reason} (tried to use ${String(property)})`);
    },
  },
);

// The Node entry point: the portable API plus the functions that read and write key files.
// `export *` on purpose (as in @etdi/client/node): this entry is defined as a superset of index.ts.
export * from './index.js';
export { readPrivateKeyFile, writePrivateKeyFile } from './key-file.js';
export { isPublicAddress, addressOfHost, type AddressAllowance } from './outbound-address.js';

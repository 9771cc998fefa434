// The WASM core's exports: one line per primitive file.
export { CHUNK, IN, OUT } from './_io';
export { bytesEqual, wipe } from './_ct';
export { AES_KS_SIZE, aesSetKey, aesEncryptBlocks, aesCtr32 } from './aes_ct';

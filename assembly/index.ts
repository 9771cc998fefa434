// The WASM core's exports: one line per primitive file.
export { CHUNK, IN, OUT } from './_io';
export { bytesEqual, wipe } from './_ct';
export { AES_KS_SIZE, aesSetKey, aesEncryptBlocks, aesCtr32 } from './aes_ct';
export { SHA256_CTX, SHA256_CTX_LEN, sha256Init, sha256Update, sha256Final, sha256Digest } from './sha256';
export {
  SHA512_CTX, SHA512_CTX_LEN, sha512Init, sha384Init, sha512Update, sha512Final, sha384Final, sha512Digest, sha384Digest,
} from './sha512';
export { HMAC_CTX, hmacInit, hmacInitHashed, hmacUpdate, hmacFinal, hmacVerify } from './hmac';
export { hkdfExtract, hkdfExpandStart, hkdfExpandUpdate, hkdfExpandEnd, hkdfClear } from './hkdf';
export { ghash } from './ghash_ctmul64';
export { GCM_CTX, GCM_CTX_LEN, gcmInit, gcmIv, gcmAad, gcmUpdate, gcmFinal, gcmClear, gcmSeal, gcmOpen } from './gcm';
export { EC_BUF, EC_BUF_LEN, ecPointValid, ecDecompress } from './ec';
export { ecPublicKey, ecdsaSign, ecdsaVerify } from './ecdsa';
export { ecdh } from './ecdh';
export {
  RSA_BUF, RSA_BUF_LEN, RSA_SLOT, rsaClear, rsaPublic, rsaPrivate, rsaPrivateBlinded, rsaBlinding, rsaPrimeTest, rsaKeygenFinish, rsaCheck,
} from './rsa';

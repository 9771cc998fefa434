// Fixed I/O regions shared by every primitive. JS copies input into IN and reads results from OUT
// (as @chainsafe/as-sha256 does), in chunks of at most CHUNK bytes, so no call allocates in the WASM
// heap and the TS wrappers own all copying. Callers wipe what they leave here (see _ct.wipe).
export const CHUNK: i32 = 65536;
export const IN: usize = memory.data(CHUNK, 16);
export const OUT: usize = memory.data(CHUNK, 16);

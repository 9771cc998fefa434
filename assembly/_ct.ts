// Constant-time helpers, written once (after BearSSL inner.h). A "control" is a u32 that is 0 or 1;
// a "mask" is 0 or all-ones. None of these branches on, or indexes memory with, its value arguments:
// only lengths, which are public, decide how long a loop runs.

// 1 if x == y, else 0.
@inline export function eq32(x: u32, y: u32): u32 {
  const q = x ^ y;
  return ((q | (0 - q)) >> 31) ^ 1;
}

// 1 if x != 0, else 0.
@inline export function nonzero32(x: u32): u32 {
  return (x | (0 - x)) >> 31;
}

// 0 -> 0, 1 -> all-ones.
@inline export function mask32(ctl: u32): u32 {
  return 0 - ctl;
}

@inline export function mask64(ctl: u32): u64 {
  return 0 - <u64>ctl;
}

// ctl ? x : y, without a branch.
@inline export function mux32(ctl: u32, x: u32, y: u32): u32 {
  return y ^ ((0 - ctl) & (x ^ y));
}

// 1 if the len bytes at a and b are equal, else 0. Reads every byte whatever the contents:
// only len leaks.
export function bytesEqual(a: usize, b: usize, len: i32): u32 {
  let acc: u32 = 0;
  for (let i = 0; i < len; i++) {
    acc |= <u32>load<u8>(a + <usize>i) ^ <u32>load<u8>(b + <usize>i);
  }
  return eq32(acc, 0);
}

// Zero len bytes at p. Stores to linear memory are observable, so the optimiser keeps them.
export function wipe(p: usize, len: i32): void {
  memory.fill(p, 0, <usize>len);
}

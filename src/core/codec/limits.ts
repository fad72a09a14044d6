export const U16_MAX = 0xffff
export const U32_MAX = 0xffff_ffff
export const U64_MAX = (1n << 64n) - 1n
export const U128_MAX = (1n << 128n) - 1n

/** The part of fs-native-extensions redrepl uses (the package ships no types). */
declare module 'fs-native-extensions' {
  /** Takes a whole-file lock on `fd` without blocking: true when taken, false when another open file holds it. */
  export function tryLock(fd: number, options?: {shared?: boolean}): boolean
}

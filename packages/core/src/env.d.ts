// The few web-platform globals @tally/core uses. They exist in browsers and in Node >= 18, and core
// declares them itself rather than pulling in the whole DOM lib or @types/node, so that a stray
// Node-only API can never creep into the isomorphic build.
declare class TextEncoder {
  encode(input?: string): Uint8Array
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean })
  decode(input?: Uint8Array): string
}

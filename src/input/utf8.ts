// UTF-8 well-formedness by the Unicode standard's table of well-formed byte sequences (Table 3-7): what
// TextDecoder's fatal mode checks, but with the position of the first bad byte, which it does not give.

/** Length of the well-formed UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  const inRange = (k: number, low: number, high: number) => i + k < bytes.length && bytes[i + k] >= low && bytes[i + k] <= high;
  const tail = (k: number) => inRange(k, 0x80, 0xbf);
  if (b0 >= 0xc2 && b0 <= 0xdf) return tail(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const second = b0 === 0xe0 ? inRange(1, 0xa0, 0xbf) : b0 === 0xed ? inRange(1, 0x80, 0x9f) : tail(1);
    return second && tail(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const second = b0 === 0xf0 ? inRange(1, 0x90, 0xbf) : b0 === 0xf4 ? inRange(1, 0x80, 0x8f) : tail(1);
    return second && tail(2) && tail(3) ? 4 : 0;
  }
  return 0;
}

/** Byte offset of the first byte that is not part of well-formed UTF-8, or -1 when all of it is. */
export function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i);
    if (length === 0) return i;
    i += length;
  }
  return -1;
}

const decoder = new TextDecoder('utf-8');

/**
 * The bytes as text, each byte that is not well-formed UTF-8 written `\xNN` (two lower-case hex digits), as
 * Python's `backslashreplace` does: a readable, lossless name for a file whose name is not UTF-8.
 */
export function escapeInvalidUtf8(bytes: Uint8Array): string {
  let text = '';
  let start = 0;
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    text += decoder.decode(bytes.subarray(start, i)) + `\\x${bytes[i].toString(16).padStart(2, '0')}`;
    start = ++i;
  }
  return text + decoder.decode(bytes.subarray(start));
}

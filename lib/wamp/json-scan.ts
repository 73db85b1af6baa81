/**
 * Strict scanning of JSON text without building values: where a value ends, checked against the
 * grammar JSON.parse accepts (RFC 8259). The router reads the head of a relayed message with it
 * and passes the payload text on; the text is known to be valid JSON without being parsed.
 */

/** Nesting the scanner follows; deeper text is reported invalid (the full decoder decides). */
export const MAX_SCAN_DEPTH = 200;

/** Index of the first character at or after `i` that is not JSON whitespace. */
export function skipWs(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Index past the JSON string at `i` (its opening quote), or -1 if it is not a valid one. */
export function skipString(t: string, i: number): number {
  const n = t.length;
  let j = i + 1;
  while (j < n) {
    const c = t.charCodeAt(j);
    if (c === 34) return j + 1;
    if (c < 32) return -1;
    if (c === 92) {
      const d = t.charCodeAt(j + 1);
      if (d === 34 || d === 92 || d === 47 || d === 98 || d === 102 || d === 110 || d === 114 || d === 116) j += 2;
      else if (d === 117 && isHex(t.charCodeAt(j + 2)) && isHex(t.charCodeAt(j + 3)) && isHex(t.charCodeAt(j + 4)) && isHex(t.charCodeAt(j + 5))) j += 6;
      else return -1;
    } else j++;
  }
  return -1;
}

/** Index past the JSON number at `i`, or -1. */
function skipNumber(t: string, i: number): number {
  let j = i;
  if (t.charCodeAt(j) === 45) j++;
  const c = t.charCodeAt(j);
  if (c === 48) j++;
  else if (c >= 49 && c <= 57) {
    j++;
    while (isDigit(t.charCodeAt(j))) j++;
  } else return -1;
  if (t.charCodeAt(j) === 46) {
    j++;
    if (!isDigit(t.charCodeAt(j))) return -1;
    while (isDigit(t.charCodeAt(j))) j++;
  }
  const e = t.charCodeAt(j);
  if (e === 101 || e === 69) {
    j++;
    const s = t.charCodeAt(j);
    if (s === 43 || s === 45) j++;
    if (!isDigit(t.charCodeAt(j))) return -1;
    while (isDigit(t.charCodeAt(j))) j++;
  }
  return j;
}

/** Index past the JSON value at `i` (no leading whitespace), or -1 if it is not valid JSON. */
export function skipJsonValue(t: string, i: number, depth = 0): number {
  const c = t.charCodeAt(i);
  if (c === 34) return skipString(t, i);
  if (c === 91) {
    if (depth >= MAX_SCAN_DEPTH) return -1;
    i = skipWs(t, i + 1);
    if (t.charCodeAt(i) === 93) return i + 1;
    for (;;) {
      i = skipJsonValue(t, i, depth + 1);
      if (i < 0) return -1;
      i = skipWs(t, i);
      const d = t.charCodeAt(i);
      if (d === 93) return i + 1;
      if (d !== 44) return -1;
      i = skipWs(t, i + 1);
    }
  }
  if (c === 123) {
    if (depth >= MAX_SCAN_DEPTH) return -1;
    i = skipWs(t, i + 1);
    if (t.charCodeAt(i) === 125) return i + 1;
    for (;;) {
      if (t.charCodeAt(i) !== 34) return -1;
      i = skipString(t, i);
      if (i < 0) return -1;
      i = skipWs(t, i);
      if (t.charCodeAt(i) !== 58) return -1;
      i = skipJsonValue(t, skipWs(t, i + 1), depth + 1);
      if (i < 0) return -1;
      i = skipWs(t, i);
      const d = t.charCodeAt(i);
      if (d === 125) return i + 1;
      if (d !== 44) return -1;
      i = skipWs(t, i + 1);
    }
  }
  if (c === 116) return t.startsWith('true', i) ? i + 4 : -1;
  if (c === 102) return t.startsWith('false', i) ? i + 5 : -1;
  if (c === 110) return t.startsWith('null', i) ? i + 4 : -1;
  if (c === 45 || isDigit(c)) return skipNumber(t, i);
  return -1;
}

/** Whether the container whose opening bracket is at `i` and which ends before `end` is empty (`[]`, `{ }`). */
export function isEmptyContainer(t: string, i: number, end: number): boolean {
  return skipWs(t, i + 1) === end - 1;
}

/**
 * The text of a JSON array after its element `afterElement` (0-based), from the `,` or `]` that
 * follows it: for `[16,1,{},"t",[1]]` and element 3, `,[1]]`. Undefined when the text is not an
 * array with that many valid elements.
 */
export function arrayTextAfter(t: string, afterElement: number): string | undefined {
  let i = skipWs(t, 0);
  if (t.charCodeAt(i) !== 91) return undefined;
  i = skipWs(t, i + 1);
  for (let e = 0; e <= afterElement; e++) {
    if (e > 0) {
      if (t.charCodeAt(i) !== 44) return undefined;
      i = skipWs(t, i + 1);
    }
    i = skipJsonValue(t, i);
    if (i < 0) return undefined;
    i = skipWs(t, i);
  }
  return t.slice(i);
}

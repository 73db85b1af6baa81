/** Small display helpers shared by the views. */
import { opCodeName } from '../../../ops/op-codes.js';

export function timeText(unixS: number | null | undefined): string {
  if (unixS == null) return '–';
  return new Date(unixS * 1000).toISOString().slice(11, 19);
}

export function opCodeText(code: number | undefined): string {
  return code === undefined ? '–' : opCodeName(code);
}

export function hashFor(path: string): string {
  return `#/${path}`;
}

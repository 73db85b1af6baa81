export const STAMP: string;
export function newestMtimeMs(path: string): number;
export function isStale(root: string, sources?: string[]): boolean;

/**
 * The Node.js versions `ocs` runs on: 22 LTS is the baseline (the Docker image's); 20.19 and newer
 * still work (`require(esm)` and the WebSocket shim need 20.19). Checked first thing by bin/ocs.ts.
 */
export const MIN_NODE = [20, 19, 0] as const;
export const BASELINE_NODE_MAJOR = 22;

/** Why `version` (e.g. `18.20.4`, `process.versions.node`) cannot run ocs, or null when it can. */
export function nodeVersionProblem(version: string): string | null {
  const parts = version.replace(/^v/, '').split('.').map((p) => Number.parseInt(p, 10));
  if (parts.length < 2 || parts.some((p) => !Number.isFinite(p))) return `cannot read the Node.js version '${version}'`;
  for (let i = 0; i < MIN_NODE.length; i++) {
    const have = parts[i] ?? 0;
    if (have > MIN_NODE[i]!) return null;
    if (have < MIN_NODE[i]!) return `ocs needs Node.js ${MIN_NODE.join('.')} or newer (${BASELINE_NODE_MAJOR} LTS recommended); this is Node.js ${version.replace(/^v/, '')}`;
  }
  return null;
}

import { describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../../../lib/cli/node-version.js';

describe('nodeVersionProblem', () => {
  it('accepts 20.19 and newer, 22 and 24 among them', () => {
    for (const v of ['20.19.0', '20.20.2', 'v22.11.0', '24.0.1']) expect(nodeVersionProblem(v), v).toBeNull();
  });

  it('names the minimum, the recommended LTS and the running version for older ones', () => {
    expect(nodeVersionProblem('18.20.4')).toBe('ocs needs Node.js 20.19.0 or newer (22 LTS recommended); this is Node.js 18.20.4');
    expect(nodeVersionProblem('20.18.3')).toBe('ocs needs Node.js 20.19.0 or newer (22 LTS recommended); this is Node.js 20.18.3');
    expect(nodeVersionProblem('junk')).toBe("cannot read the Node.js version 'junk'");
  });
});

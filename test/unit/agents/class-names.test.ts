import { describe, expect, it } from 'vitest';
import { AGENT_CLASS_NAMES } from '../../../agents/class-names.js';
import { AGENT_CLASSES } from '../../../agents/index.js';

describe('agent class names', () => {
  it('names exactly the classes the table can load (the HostManager knows these)', () => {
    expect(Object.keys(AGENT_CLASSES).sort()).toEqual([...AGENT_CLASS_NAMES].sort());
  });
});

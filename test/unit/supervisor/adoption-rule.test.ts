import { describe, expect, it } from 'vitest';
import { agentInstanceOf, judgeAdoption, type AdoptionFacts } from '../../../lib/supervisor/adoption-rule.js';

const base: AdoptionFacts = {
  pid: 5000,
  supervisorPid: 400,
  supervisorAncestors: [300, 200, 1],
  candidateAncestors: [4000, 1],
  cmdline: ['/usr/sbin/sshd', '-D'],
  instanceIds: new Set(['registry', 'fake-data1']),
  allowExec: false,
};

describe('adoption rule', () => {
  it.each([
    ['pid 1', { pid: 1 }, 'pid 1 is the init process'],
    ['pid 1, even with exec enabled', { pid: 1, allowExec: true }, 'pid 1 is the init process'],
    ['the supervisor itself', { pid: 400, allowExec: true }, 'that is the supervisor itself'],
    ['its parent', { pid: 300, allowExec: true }, 'pid 300 is an ancestor of the supervisor'],
    ['its grandparent', { pid: 200 }, 'pid 200 is an ancestor of the supervisor'],
    ['an unrelated process', {}, 'pid 5000 is not an agent instance of the site file'],
    ['an agent of an id the site does not list', { cmdline: ['node', '/opt/ocs/dist/bin/ocs.js', 'agent', '--instance-id', 'ghost'] }, "an agent instance 'ghost' that the site file does not list"],
    ['a lookalike: --instance-id without `ocs agent`', { cmdline: ['python3', 'tool.py', '--instance-id', 'registry'] }, 'not an agent instance'],
    ['`ocs router` with an instance id', { cmdline: ['ocs', 'router', '--instance-id', 'registry'] }, 'not an agent instance'],
  ] as [string, Partial<AdoptionFacts>, string][])('refuses %s', (_what, facts, reason) => {
    const v = judgeAdoption({ ...base, ...facts });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.reason).toContain(reason);
  });

  it.each([
    ['a descendant of the supervisor', { candidateAncestors: [450, 400, 300, 200, 1] }, 'descends from this supervisor'],
    ['a configured agent (node + ocs.js)', { cmdline: ['/usr/bin/node', '/opt/ocs/dist/bin/ocs.js', 'agent', '--site-file', 's.yaml', '--instance-id', 'registry'] }, "agent instance 'registry' of the site file"],
    ['a configured agent (ocs on PATH, --instance-id=)', { cmdline: ['/usr/local/bin/ocs', 'agent', '--instance-id=fake-data1'] }, "agent instance 'fake-data1' of the site file"],
    ['anything with exec enabled', { allowExec: true }, 'exec enabled'],
  ] as [string, Partial<AdoptionFacts>, string][])('adopts %s', (_what, facts, proof) => {
    expect(judgeAdoption({ ...base, ...facts })).toEqual({ ok: true, proof });
  });

  it('reads the instance id of an ocs agent command line only', () => {
    expect(agentInstanceOf(['node', 'dist/bin/ocs.js', 'agent', '--instance-id', 'a'])).toBe('a');
    expect(agentInstanceOf(['node', 'dist/bin/ocs.js', 'client', '--instance-id', 'a'])).toBeUndefined();
    expect(agentInstanceOf(['node', 'dist/bin/ocs.js', 'agent'])).toBeUndefined();
    expect(agentInstanceOf([])).toBeUndefined();
  });
});

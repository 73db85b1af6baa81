import { describe, expect, it } from 'vitest';
import { serviceInstanceIds } from '../../../lib/site-config/services.js';

describe('serviceInstanceIds', () => {
  it('uses the service name for a single instance', () => {
    expect(serviceInstanceIds('fake-cluster', 1)).toEqual(['fake-cluster']);
  });

  it('numbers several instances from 1', () => {
    expect(serviceInstanceIds('fake', 3)).toEqual(['fake-1', 'fake-2', 'fake-3']);
  });
});

// The message for a missing f-stack.conf, with the sandbox hint given under systemd.
import { describe, expect, it } from 'vitest';
import { missingConfigMessage } from '../../src/config/model.js';

describe('missing config message', () => {
  it('names the path and the option', () => {
    expect(missingConfigMessage('/etc/f-stack.conf', {})).toBe(
      'f-stack.conf not found: /etc/f-stack.conf; give --config PATH',
    );
  });

  it('points at the sandbox under systemd', () => {
    const message = missingConfigMessage('/tmp/f-stack.conf', { INVOCATION_ID: 'abc' });
    expect(message).toMatch(/^f-stack\.conf not found: \/tmp\/f-stack\.conf; give --config PATH\./);
    expect(message).toContain('PrivateTmp= hides /tmp and /var/tmp');
    expect(message).toContain('ProtectHome= hides /home, /root and /run/user');
  });
});

// NetlinkError and DumpInterruptedError: fields and the wording of their messages.
import { describe, expect, it } from 'vitest';
import {
  DumpInterruptedError,
  describeErrno,
  hasNetAdminCapability,
  NetlinkError,
} from '../../src/netlink/errors.js';

describe('NetlinkError', () => {
  it('kernel error reads operation, errno and extack', () => {
    const error = new NetlinkError({
      kind: 'kernel',
      errno: 17,
      operation: 'add address',
      object: '192.0.2.79/24 on veth0',
      extackMessage: 'ipv4: Address already assigned',
      extackOffset: 24,
    });

    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('NetlinkError');
    expect(error.message).toBe(
      'add address 192.0.2.79/24 on veth0: File exists (EEXIST): ipv4: Address already assigned',
    );
    expect(error.code).toBe('EEXIST');
    expect(error.errno).toBe(17);
    expect(error.kind).toBe('kernel');
    expect(error.operation).toBe('add address');
    expect(error.object).toBe('192.0.2.79/24 on veth0');
    expect(error.extackOffset).toBe(24);
  });

  it('without object or extack', () => {
    const error = new NetlinkError({ kind: 'kernel', errno: 19, operation: 'set link up' });
    expect(error.message).toBe('set link up: No such device (ENODEV)');
    expect(error.object).toBeUndefined();
    expect(error.extackMessage).toBeUndefined();
    expect(error.extackOffset).toBeUndefined();
  });

  it('EPERM and EACCES name CAP_NET_ADMIN only when missing', () => {
    const capable = hasNetAdminCapability();
    for (const [errno, code] of [
      [1, 'EPERM'],
      [13, 'EACCES'],
    ] as const) {
      const error = new NetlinkError({
        kind: 'kernel',
        errno,
        operation: 'add route',
        object: 'default via 192.0.2.1',
      });
      expect(error.code).toBe(code);
      expect(error.message).toMatch(
        new RegExp(`^add route default via 192.0.2.1: .* \\(${code}\\)`),
      );
      if (capable === true) expect(error.message).not.toContain('CAP_NET_ADMIN');
      else expect(error.message).toContain('the process may lack CAP_NET_ADMIN');
    }
  });

  it('reads CAP_NET_ADMIN from CapEff', () => {
    expect(hasNetAdminCapability('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(true);
    expect(hasNetAdminCapability('CapEff:\t0000000000001000\n')).toBe(true);
    expect(hasNetAdminCapability('CapEff:\t0000000000000000\n')).toBe(false);
    expect(hasNetAdminCapability('CapEff:\t0000000000000fff\n')).toBe(false);
    expect(hasNetAdminCapability('Name:\tnode\n')).toBeUndefined();
  });

  it('closed socket error', () => {
    const error = new NetlinkError({ kind: 'closed', errno: 125, operation: 'list links' });
    expect(error.code).toBe('ECANCELED');
    expect(error.message).toBe(
      'list links: the netlink socket was closed before the reply arrived (ECANCELED)',
    );
  });

  it('closed socket error for a request made after close, with a hint', () => {
    const error = new NetlinkError({
      kind: 'closed',
      errno: 125,
      operation: 'list links',
      unsent: true,
      hint: 'open a new socket',
    });
    expect(error.hint).toBe('open a new socket');
    expect(error.message).toBe(
      'list links: the netlink socket is closed, so nothing was sent (ECANCELED): open a new socket',
    );
  });

  it('socket error names the system call', () => {
    const sent = new NetlinkError({
      kind: 'socket',
      errno: 90,
      operation: 'add address',
      syscall: 'sendmsg',
    });
    expect(sent.message).toBe('add address: sendmsg failed: Message too long (EMSGSIZE)');
    expect(sent.syscall).toBe('sendmsg');

    const lost = new NetlinkError({
      kind: 'socket',
      errno: 105,
      operation: 'get link',
      syscall: 'recvmsg',
    });
    expect(lost.message).toMatch(
      /^get link: recvmsg failed: No buffer space available \(ENOBUFS\): .*receiveBuffer$/,
    );
  });

  it('DumpInterruptedError keeps EINTR', () => {
    const error = new DumpInterruptedError({ operation: 'list routes', attempts: 5 });

    expect(error).toBeInstanceOf(NetlinkError);
    expect(error).toBeInstanceOf(DumpInterruptedError);
    expect(error.name).toBe('DumpInterruptedError');
    expect(error.kind).toBe('dump-interrupted');
    expect(error.code).toBe('EINTR');
    expect(error.errno).toBe(4);
    expect(error.attempts).toBe(5);
    expect(error.message).toBe(
      'list routes: Interrupted system call (EINTR): the dump was interrupted by concurrent changes on all 5 attempts; retry it',
    );
  });
});

describe('describeErrno', () => {
  it('names known numbers', () => {
    expect(describeErrno(2)).toEqual({ code: 'ENOENT', description: 'No such file or directory' });
    expect(describeErrno(95)).toEqual({
      code: 'EOPNOTSUPP',
      description: 'Operation not supported',
    });
  });

  it('survives unknown numbers', () => {
    expect(describeErrno(4095).code).toBe('E4095');
    expect(describeErrno(-1).code).toBe('E-1');
  });
});

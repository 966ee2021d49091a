// The services over a recording transport: what they send, how many requests, and that
// misuse is rejected before anything is sent.
import { describe, expect, it } from 'vitest';
import {
  RTM_DELADDR,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
} from '../../src/netlink/constants.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { Rtnl } from '../../src/rtnl/handle.js';
import type { AddressSpec } from '../../src/rtnl/types.js';
import {
  type Answer,
  FakeTransport,
  kernelError,
  linkReply,
  PackedFakeTransport,
  requestedLinkName,
} from './fake.js';

/** Replies of a fake kernel with links lo (1) and veth0 (5). */
const fakeKernel: Answer = (message, op) => {
  const links = new Map([
    ['lo', 1],
    ['veth0', 5],
  ]);
  if (message.readUInt16LE(4) !== RTM_GETLINK) return undefined;
  const name = requestedLinkName(message);
  const index = name === undefined ? message.readInt32LE(20) : links.get(name);
  const found = [...links].find(([, value]) => value === index);
  return found === undefined ? kernelError('ENODEV', op) : linkReply(found[1], found[0]);
};

/** Returns a FakeTransport that replies as fakeKernel does. */
function kernel(): FakeTransport {
  return new FakeTransport(fakeKernel);
}

const GOOD_ADDRESS: AddressSpec = { link: 'veth0', address: '192.0.2.79', prefixLength: 24 };

describe('misuse', () => {
  const cases: Array<[string, (nl: Rtnl) => Promise<unknown>, ErrorConstructor, RegExp]> = [
    [
      'link name too long',
      (nl) => nl.links.get('a234567890123456'),
      RangeError,
      /"a234567890123456" must have 1-15 bytes, has 16/,
    ],
    ['link name with slash', (nl) => nl.links.setUp('a/b', true), TypeError, /"a\/b" is invalid/],
    ['link name with space', (nl) => nl.links.delete('veth 0'), TypeError, /"veth 0" is invalid/],
    [
      'link of wrong type',
      (nl) => nl.links.get({} as never),
      TypeError,
      /link must be an interface index or name, got an object/,
    ],
    ['link index zero', (nl) => nl.links.get(0), RangeError, /link index 0 is invalid/],
    [
      'up not boolean',
      (nl) => nl.links.setUp('veth0', 'yes' as never),
      TypeError,
      /up must be true or false, got "yes"/,
    ],
    ['MTU zero', (nl) => nl.links.setMtu('veth0', 0), RangeError, /MTU 0 is out of range/],
    [
      'MAC of 5 bytes',
      (nl) => nl.links.setMac('veth0', '02:00:00:00:01'),
      RangeError,
      /has 5 bytes, an Ethernet MAC has 6/,
    ],
    [
      'MAC not hex',
      (nl) => nl.links.setMac('veth0', '02:00:00:00:00:zz'),
      TypeError,
      /"02:00:00:00:00:zz" is not hex bytes/,
    ],
    [
      'rename to invalid name',
      (nl) => nl.links.rename('veth0', 'x:y'),
      TypeError,
      /new link name "x:y" is invalid/,
    ],
    [
      'rename by name in set',
      (nl) => nl.links.set('veth0', { name: 'kni0' }),
      TypeError,
      /must be given by index to be renamed/,
    ],
    [
      'vlan id 4095',
      (nl) => nl.links.createVlan({ name: 'v', parent: 'veth0', vlanId: 4095 }),
      RangeError,
      /VLAN id 4095 is out of range/,
    ],
    [
      'macvlan mode unknown',
      (nl) => nl.links.createMacvlan({ name: 'm', parent: 'veth0', mode: 'hub' as never }),
      TypeError,
      /macvlan mode "hub" is unknown/,
    ],
    [
      'netns without target',
      (nl) => nl.links.moveToNetns('veth0', {} as never),
      TypeError,
      /must have exactly one of name, path or fd/,
    ],
    [
      'netns name with slash',
      (nl) => nl.links.moveToNetns('veth0', { name: '../x' }),
      RangeError,
      /invalid network namespace name "..\/x"/,
    ],
    [
      'address text',
      (nl) => nl.addresses.add({ ...GOOD_ADDRESS, address: '192.0.2.300' }),
      TypeError,
      /address "192.0.2.300" is not a valid/,
    ],
    [
      'address prefix 33',
      (nl) => nl.addresses.add({ ...GOOD_ADDRESS, prefixLength: 33 }),
      RangeError,
      /prefix length for IPv4 33 is out of range/,
    ],
    [
      'address prefix missing',
      (nl) => nl.addresses.add({ ...GOOD_ADDRESS, prefixLength: undefined as never }),
      TypeError,
      /prefix length for IPv4 must be a number/,
    ],
    [
      'broadcast on IPv6',
      (nl) =>
        nl.addresses.add({
          link: 5,
          address: '2001:db8::1',
          prefixLength: 64,
          broadcast: '2001:db8::ff',
        }),
      RangeError,
      /only valid for an IPv4 address/,
    ],
    [
      'broadcast family',
      (nl) => nl.addresses.add({ ...GOOD_ADDRESS, broadcast: '2001:db8::ff' }),
      RangeError,
      /broadcast 2001:db8::ff is IPv6, but IPv4 is required/,
    ],
    [
      'peer of IPv4 address',
      (nl) => nl.addresses.add({ ...GOOD_ADDRESS, peer: '2001:db8::2' }),
      RangeError,
      /peer 2001:db8::2 is IPv6, but IPv4 is required/,
    ],
    [
      'peer of IPv6 address',
      (nl) =>
        nl.addresses.add({ link: 5, address: '2001:db8::1', prefixLength: 64, peer: '192.0.2.2' }),
      RangeError,
      /peer 192.0.2.2 is IPv4, but IPv6 is required/,
    ],
    [
      'peer not an address',
      (nl) => nl.addresses.add({ ...GOOD_ADDRESS, peer: '192.0.2.300' }),
      TypeError,
      /peer "192.0.2.300" is not a valid IPv4 or IPv6 address/,
    ],
    [
      'label too long',
      (nl) => nl.addresses.add({ ...GOOD_ADDRESS, label: 'veth0:abcdefghij' }),
      RangeError,
      /label "veth0:abcdefghij" must have 1-15 bytes/,
    ],
    [
      'preferred over valid',
      (nl) => nl.addresses.add({ ...GOOD_ADDRESS, validLifetime: 10, preferredLifetime: 20 }),
      RangeError,
      /preferred lifetime 20 of 192.0.2.79\/24 exceeds its valid lifetime 10/,
    ],
    [
      'scope unknown',
      (nl) => nl.addresses.add({ ...GOOD_ADDRESS, scope: 'galaxy' as never }),
      TypeError,
      /scope "galaxy" is unknown/,
    ],
    [
      'address filter family',
      (nl) => nl.addresses.list({ family: 5 as never }),
      RangeError,
      /family number 5 is invalid/,
    ],
    [
      'route gateway family',
      (nl) => nl.routes.add({ destination: 'default', gateway: '2001:db8::1', family: 4 }),
      RangeError,
      /gateway 2001:db8::1 is IPv6, but the route is IPv4/,
    ],
    [
      'route destination family',
      (nl) => nl.routes.add({ destination: '198.51.100.0/24', gateway: '2001:db8::1' }),
      RangeError,
      /gateway 2001:db8::1 is IPv6, but the route is IPv4/,
    ],
    [
      'route host bits',
      (nl) => nl.routes.add({ destination: '198.51.100.7/24', link: 5 }),
      RangeError,
      /host bits set; use 198.51.100.0\/24/,
    ],
    [
      'route prefix contradiction',
      (nl) => nl.routes.add({ destination: '198.51.100.0/24', prefixLength: 25 }),
      RangeError,
      /contradicts prefixLength 25/,
    ],
    [
      'route prefix text',
      (nl) => nl.routes.add({ destination: '198.51.100.0/x' }),
      TypeError,
      /has an invalid prefix length/,
    ],
    [
      'route default with prefix',
      (nl) => nl.routes.add({ destination: 'default', prefixLength: 8 }),
      RangeError,
      /cannot have prefix length 8/,
    ],
    [
      'route table 0',
      (nl) => nl.routes.add({ destination: 'default', gateway: '192.0.2.1', table: 0 }),
      RangeError,
      /route table 0 is out of range/,
    ],
    [
      'route type unknown',
      (nl) => nl.routes.add({ destination: 'default', type: 'nat64' as never }),
      TypeError,
      /route type "nat64" is unknown/,
    ],
    [
      'route metric negative',
      (nl) => nl.routes.add({ destination: 'default', gateway: '192.0.2.1', metric: -1 }),
      RangeError,
      /route metric -1 is out of range/,
    ],
    [
      'neighbour state unknown',
      (nl) => nl.neighbours.replace({ link: 5, address: '192.0.2.2', state: 'busy' }),
      TypeError,
      /neighbour state "busy" is unknown/,
    ],
    [
      'neighbour MAC',
      (nl) => nl.neighbours.replace({ link: 5, address: '192.0.2.2', mac: '02:00' }),
      RangeError,
      /has 2 bytes/,
    ],
    [
      'spec not an object',
      (nl) => nl.routes.add(null as never),
      TypeError,
      /route spec must be an object, got null/,
    ],
  ];

  it.each(cases)('rejects %s before sending', async (_name, call, type, message) => {
    const transport = kernel();
    const nl = Rtnl.fromTransport(transport);
    const result = call(nl);
    await expect(result).rejects.toThrow(type);
    await expect(result).rejects.toThrow(message);
    expect(transport.sent).toEqual([]);
  });

  it('rejects misuse in a batch at the call', () => {
    const transport = kernel();
    const batch = Rtnl.fromTransport(transport).batch();
    expect(() => batch.addAddress({ ...GOOD_ADDRESS, prefixLength: 40 })).toThrow(RangeError);
    expect(() => batch.setLinkMac(5, 'nope')).toThrow(TypeError);
    expect(() =>
      batch.createVeth({ name: 'a', peerName: 'b', peerNetns: { name: 'x' } } as never),
    ).toThrow(/not supported in a batch/);
    expect(batch.size).toBe(0);
  });
});

describe('requests sent', () => {
  it('gets a link with one RTM_GETLINK request, not a dump', async () => {
    const transport = kernel();
    const link = await Rtnl.fromTransport(transport).links.get('veth0');
    expect(link?.index).toBe(5);
    expect(transport.sent.map((sent) => [sent.kind, sent.type])).toEqual([
      ['request', RTM_GETLINK],
    ]);
  });

  it('returns undefined for a missing link', async () => {
    const transport = kernel();
    expect(await Rtnl.fromTransport(transport).links.get('nope0')).toBeUndefined();
    expect(await Rtnl.fromTransport(transport).links.get(99)).toBeUndefined();
  });

  it('sets a link by name without a lookup', async () => {
    const transport = kernel();
    await Rtnl.fromTransport(transport).links.setUp('veth0', true);
    expect(transport.sent).toHaveLength(1);
    expect(transport.sent[0]?.type).toBe(RTM_NEWLINK);
    expect(transport.sent[0]?.op).toEqual({ operation: 'set', object: 'link veth0 up' });
  });

  it('resolves a name once per address request and names the operation', async () => {
    const transport = kernel();
    await Rtnl.fromTransport(transport).addresses.add(GOOD_ADDRESS);
    expect(transport.sent.map((sent) => sent.type)).toEqual([RTM_GETLINK, RTM_NEWADDR]);
    expect(transport.sent[1]?.op).toEqual({
      operation: 'add',
      object: 'address 192.0.2.79/24 on veth0',
    });
    expect(transport.sent[1]?.message.readUInt32LE(20)).toBe(5);
  });

  it('sends an index without a lookup', async () => {
    const transport = kernel();
    await Rtnl.fromTransport(transport).routes.replace({
      destination: '198.51.100.0/24',
      link: 5,
      metric: 7,
      table: 100,
    });
    expect(transport.sent.map((sent) => sent.type)).toEqual([RTM_NEWROUTE]);
    expect(transport.sent[0]?.op).toEqual({
      operation: 'replace',
      object: 'route 198.51.100.0/24 dev index 5 table 100 metric 7',
    });
  });

  it('rejects with ENODEV under the caller operation when a name is missing', async () => {
    const transport = kernel();
    const result = Rtnl.fromTransport(transport).addresses.add({ ...GOOD_ADDRESS, link: 'nope0' });
    await expect(result).rejects.toMatchObject({
      code: 'ENODEV',
      message: expect.stringMatching(/^add address 192.0.2.79\/24 on nope0/),
    });
    expect(transport.sent.map((sent) => sent.type)).toEqual([RTM_GETLINK]);
  });

  it('renames by resolving the name first', async () => {
    const transport = kernel();
    await Rtnl.fromTransport(transport).links.rename('veth0', 'kni0');
    expect(transport.sent.map((sent) => sent.type)).toEqual([RTM_GETLINK, RTM_NEWLINK]);
    expect(transport.sent[1]?.message.readInt32LE(20)).toBe(5);
    expect(requestedLinkName(transport.sent[1]?.message as Buffer)).toBe('kni0');
  });

  it('lists routes of a table that does not exist as empty', async () => {
    const transport = new FakeTransport((_message, op) => kernelError('ENOENT', op));
    expect(await Rtnl.fromTransport(transport).routes.list({ table: 4242, family: 4 })).toEqual([]);
    await expect(Rtnl.fromTransport(transport).routes.list({ family: 4 })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('closes the transport once', () => {
    const transport = kernel();
    const nl = Rtnl.fromTransport(transport);
    nl.close();
    nl.close();
    expect(transport.closed).toBe(true);
    expect(() => nl.batch()).toThrow(/closed/);
  });
});

describe('Batch', () => {
  it('sends everything in one batch when links are indexes', async () => {
    const transport = kernel();
    const results = await Rtnl.fromTransport(transport)
      .batch()
      .setLinkUp(5, true)
      .addAddress({ ...GOOD_ADDRESS, link: 5 })
      .replaceRoute({ destination: 'default', gateway: '192.0.2.1', link: 5 })
      .send();
    expect(transport.batches).toBe(1);
    expect(results.map((result) => result.ok)).toEqual([true, true, true]);
    expect(results[1]?.op).toEqual({
      operation: 'add',
      object: 'address 192.0.2.79/24 on index 5',
    });
  });

  it('resolves names in one extra batch and sends link requests by name', async () => {
    const transport = kernel();
    const results = await Rtnl.fromTransport(transport)
      .batch()
      .setLinkUp('veth0', true)
      .addAddress(GOOD_ADDRESS)
      .deleteAddress({ ...GOOD_ADDRESS, address: '192.0.2.80' })
      .send();
    expect(transport.batches).toBe(2);
    expect(transport.sent.map((sent) => sent.type)).toEqual([
      RTM_GETLINK,
      RTM_NEWLINK,
      RTM_NEWADDR,
      RTM_DELADDR,
    ]);
    expect(results.every((result) => result.ok)).toBe(true);
  });

  it('fails only the requests whose name is missing', async () => {
    const transport = kernel();
    const results = await Rtnl.fromTransport(transport)
      .batch()
      .addAddress({ ...GOOD_ADDRESS, link: 'nope0' })
      .addAddress(GOOD_ADDRESS)
      .send();
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'ENODEV' } });
    expect(results[1]?.ok).toBe(true);
    expect(transport.sent.filter((sent) => sent.type === RTM_NEWADDR)).toHaveLength(1);
  });

  it('restates a failed lookup under the request that needed it', async () => {
    const transport = new FakeTransport((message, op) =>
      message.readUInt16LE(4) === RTM_GETLINK
        ? new NetlinkError({ kind: 'kernel', errno: 19, ...op })
        : undefined,
    );
    const results = await Rtnl.fromTransport(transport)
      .batch()
      .addAddress({ ...GOOD_ADDRESS, link: 'nope0' })
      .send();
    const error = (results[0] as { error: NetlinkError }).error;
    expect(error).toBeInstanceOf(NetlinkError);
    expect(error.errno).toBe(19);
    expect(error.operation).toBe('add');
    expect(error.object).toBe('address 192.0.2.79/24 on nope0');
  });

  it('reports kernel errors per request', async () => {
    const transport = new FakeTransport((message, op) =>
      message.readUInt16LE(4) === RTM_NEWADDR ? kernelError('EEXIST', op) : undefined,
    );
    const results = await Rtnl.fromTransport(transport)
      .batch()
      .setLinkUp(5, true)
      .addAddress({ ...GOOD_ADDRESS, link: 5 })
      .send();
    expect(results[0]?.ok).toBe(true);
    expect(results[1]).toMatchObject({
      ok: false,
      op: { operation: 'add' },
      error: { code: 'EEXIST' },
    });
  });

  it('sends one packed buffer to a transport that takes it', async () => {
    const send = (transport: FakeTransport) =>
      Rtnl.fromTransport(transport)
        .batch()
        .setLinkUp('veth0', true)
        .addAddress(GOOD_ADDRESS)
        .deleteAddress({ ...GOOD_ADDRESS, link: 5, address: '192.0.2.80', label: 'veth0:kni' })
        .replaceRoute({ destination: 'default', gateway: '192.0.2.1', link: 5 })
        .replaceNeighbour({ link: 5, address: '192.0.2.2', mac: '02:00:00:00:00:01' })
        .send();
    const plain = kernel();
    const packed = new PackedFakeTransport(fakeKernel);

    const plainResults = await send(plain);
    const packedResults = await send(packed);
    // The name lookup goes through batch(), the requests through one batchPacked().
    expect(packed.packedBatches).toBe(1);
    expect(packed.batches).toBe(2);
    expect(packed.sent.map((sent) => sent.message)).toEqual(plain.sent.map((sent) => sent.message));
    expect(packed.sent.map((sent) => sent.op)).toEqual(plain.sent.map((sent) => sent.op));
    expect(packedResults).toEqual(plainResults);
    expect(packedResults.every((result) => result.ok)).toBe(true);
  });

  it('sends nothing for an empty batch', async () => {
    const transport = kernel();
    expect(await Rtnl.fromTransport(transport).batch().send()).toEqual([]);
    expect(transport.batches).toBe(0);
  });

  it('keeps the order and the result positions when indexes and names mix', async () => {
    const transport = kernel();
    const results = await Rtnl.fromTransport(transport)
      .batch()
      .addAddress({ ...GOOD_ADDRESS, link: 5 })
      .addAddress({ ...GOOD_ADDRESS, link: 'nope0', address: '192.0.2.80' })
      .addAddress({ ...GOOD_ADDRESS, link: 5, address: '192.0.2.81' })
      .addAddress({ ...GOOD_ADDRESS, address: '192.0.2.82' })
      .send();
    expect(results.map((result) => [result.ok, result.op.object])).toEqual([
      [true, 'address 192.0.2.79/24 on index 5'],
      [false, 'address 192.0.2.80/24 on nope0'],
      [true, 'address 192.0.2.81/24 on index 5'],
      [true, 'address 192.0.2.82/24 on veth0'],
    ]);
    const sentAddresses = transport.sent
      .filter((sent) => sent.type === RTM_NEWADDR)
      .map((sent) => [...sent.message.subarray(28, 32)].join('.'));
    expect(sentAddresses).toEqual(['192.0.2.79', '192.0.2.81', '192.0.2.82']);
  });

  it('leaves a batch unchanged when an added request is invalid', async () => {
    const transport = kernel();
    const batch = Rtnl.fromTransport(transport)
      .batch()
      .addAddress({ ...GOOD_ADDRESS, link: 5 });
    expect(() => batch.addAddress({ ...GOOD_ADDRESS, link: 5, prefixLength: 33 })).toThrow(
      RangeError,
    );
    expect(batch.size).toBe(1);
    const results = await batch.send();
    expect(results).toHaveLength(1);
    expect(transport.sent).toHaveLength(1);
    expect(batch.size).toBe(0);
  });
});

describe('a closed handle', () => {
  it('raises NetlinkError ECANCELED with the fix, and sends nothing', async () => {
    const transport = kernel();
    const nl = Rtnl.fromTransport(transport);
    nl.close();
    expect(() => nl.batch()).toThrow(
      'use the rtnetlink handle: the netlink socket is closed, so nothing was sent (ECANCELED): ' +
        'open a new handle with Rtnl.open',
    );
    let thrown: unknown;
    try {
      nl.batch();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NetlinkError);
    expect(thrown).toMatchObject({ kind: 'closed', code: 'ECANCELED' });
    expect(transport.sent).toEqual([]);
  });
});

describe('PreparedBatch', () => {
  it('sends the same messages on every send, with the names resolved once', async () => {
    const transport = new PackedFakeTransport(fakeKernel);
    const batch = Rtnl.fromTransport(transport)
      .batch()
      .addAddress({ ...GOOD_ADDRESS, link: 5 })
      .addAddress({ ...GOOD_ADDRESS, address: '192.0.2.80' })
      .setLinkUp('veth0', true);
    const prepared = await batch.prepare();
    expect(batch.size).toBe(0);
    expect(prepared.size).toBe(3);
    expect(transport.batches).toBe(1); // the name lookup

    const first = await prepared.send();
    const second = await prepared.send();
    expect(transport.packedBatches).toBe(2);
    const sends = transport.sent.filter((sent) => sent.type !== RTM_GETLINK);
    expect(sends.map((sent) => sent.type)).toEqual([
      RTM_NEWADDR,
      RTM_NEWADDR,
      RTM_NEWLINK,
      RTM_NEWADDR,
      RTM_NEWADDR,
      RTM_NEWLINK,
    ]);
    expect(sends.slice(3).map((sent) => sent.message)).toEqual(
      sends.slice(0, 3).map((sent) => sent.message),
    );
    // The name became index 5 in the message.
    expect(sends[1]?.message.readInt32LE(20)).toBe(5);
    expect(first).toEqual(second);
    expect(first.map((result) => result.op.object)).toEqual([
      'address 192.0.2.79/24 on index 5',
      'address 192.0.2.80/24 on veth0 (index 5 when prepared)',
      'link veth0 up',
    ]);
  });

  it('reports kernel errors per request on each send', async () => {
    let failing = false;
    const transport = new PackedFakeTransport((message, op) =>
      failing && message.readUInt16LE(4) === RTM_NEWADDR ? kernelError('EEXIST', op) : undefined,
    );
    const prepared = await Rtnl.fromTransport(transport)
      .batch()
      .addAddress({ ...GOOD_ADDRESS, link: 5 })
      .setLinkUp(5, true)
      .prepare();
    expect((await prepared.send()).map((result) => result.ok)).toEqual([true, true]);
    failing = true;
    const results = await prepared.send();
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'EEXIST' } });
    expect(results[1]?.ok).toBe(true);
  });

  it('rejects when a name cannot be resolved, and sends nothing', async () => {
    const transport = new FakeTransport((message, op) =>
      message.readUInt16LE(4) === RTM_GETLINK
        ? new NetlinkError({ kind: 'kernel', errno: 19, ...op })
        : undefined,
    );
    const batch = Rtnl.fromTransport(transport)
      .batch()
      .addAddress({ ...GOOD_ADDRESS, link: 5 })
      .addAddress({ ...GOOD_ADDRESS, link: 'nope0' });
    await expect(batch.prepare()).rejects.toMatchObject({
      code: 'ENODEV',
      operation: 'add',
      object: 'address 192.0.2.79/24 on nope0',
      message:
        'add address 192.0.2.79/24 on nope0: No such device (ENODEV): no link has this name; ' +
        'a link created in the same batch must be named in a later batch, or given by index',
    });
    expect(transport.sent.map((sent) => sent.type)).toEqual([RTM_GETLINK]);
  });

  it('names the likely cause of ENODEV on a later send', async () => {
    let linkDeleted = false;
    const transport = new PackedFakeTransport((message, op) =>
      linkDeleted && message.readUInt16LE(4) === RTM_NEWADDR
        ? new NetlinkError({ kind: 'kernel', errno: 19, ...op })
        : fakeKernel(message, op),
    );
    const prepared = await Rtnl.fromTransport(transport).batch().addAddress(GOOD_ADDRESS).prepare();
    expect((await prepared.send())[0]?.ok).toBe(true);
    linkDeleted = true;
    const [result] = await prepared.send();
    expect((result as { error: Error }).error.message).toBe(
      'add address 192.0.2.79/24 on veth0 (index 5 when prepared): No such device (ENODEV): ' +
        'the link was deleted or created anew since prepare(); prepare the batch again',
    );
  });

  it('keeps its descriptions when a caller changes a result', async () => {
    const prepared = await Rtnl.fromTransport(kernel())
      .batch()
      .addAddress({ ...GOOD_ADDRESS, link: 5 })
      .prepare();
    const [first] = await prepared.send();
    expect(() => {
      (first?.op as { object: string }).object = 'changed';
    }).toThrow(TypeError);
    const [second] = await prepared.send();
    expect(second?.op.object).toBe('address 192.0.2.79/24 on index 5');
  });

  it('sends nothing when prepared empty', async () => {
    const transport = kernel();
    const prepared = await Rtnl.fromTransport(transport).batch().prepare();
    expect(prepared.size).toBe(0);
    expect(await prepared.send()).toEqual([]);
    expect(transport.batches).toBe(0);
  });
});

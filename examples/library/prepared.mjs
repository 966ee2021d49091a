// Prepares two batches once, one that adds two service addresses to veth0 and one that
// deletes them, then sends them in turn: up, down, up. Each send prints one line per
// request, as a failover agent would log it.
//
//   node examples/library/prepared.mjs NETNS
//
// NETNS must hold a link named veth0.
import { Rtnl } from 'fstack-kni';

const netns = process.argv[2];
if (netns === undefined) {
  process.stderr.write('usage: node prepared.mjs NETNS\n');
  process.exit(2);
}

const addresses = [
  { link: 'veth0', address: '198.51.100.10', prefixLength: 24 },
  { link: 'veth0', address: '198.51.100.11', prefixLength: 24 },
];

const nl = Rtnl.open({ netns: { name: netns } });
try {
  // The name veth0 becomes an index here, once for all sends.
  const upBatch = nl.batch();
  for (const address of addresses) upBatch.addAddress(address); // ip address add ADDR/24 dev veth0
  const up = await upBatch.prepare();

  // Secondaries first: deleting the primary address would take the secondaries with it.
  const downBatch = nl.batch();
  for (const address of [...addresses].reverse()) downBatch.deleteAddress(address);
  const down = await downBatch.prepare();

  let failed = false;
  for (const [name, prepared] of [
    ['up', up],
    ['down', down],
    ['up', up],
  ]) {
    for (const result of await prepared.send()) {
      const request = `${result.op.operation} ${result.op.object}`;
      process.stdout.write(
        result.ok
          ? `${name}: ok     ${request}\n`
          : `${name}: failed ${request}: ${result.error.message}\n`,
      );
      failed ||= !result.ok;
    }
  }
  process.exitCode = failed ? 1 : 0;
} catch (error) {
  // prepare() rejects when a link name is not found, and nothing is sent then.
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
} finally {
  nl.close();
}

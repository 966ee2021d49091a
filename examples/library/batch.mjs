// Sends several requests in one batch and prints one result per request. A failed request
// does not stop the others, and each result tells whether its request succeeded.
//
//   node examples/library/batch.mjs NETNS
//
// NETNS must hold a link named veth0.
import { Rtnl } from 'fstack-kni';

const netns = process.argv[2];
if (netns === undefined) {
  process.stderr.write('usage: node batch.mjs NETNS\n');
  process.exit(2);
}

const nl = Rtnl.open({ netns: { name: netns } });
try {
  const results = await nl
    .batch()
    .setLinkUp('veth0', true) // ip link set dev veth0 up
    .replaceAddress({ link: 'veth0', address: '198.51.100.7', prefixLength: 24 }) // ip address replace 198.51.100.7/24 dev veth0
    .replaceAddress({ link: 'veth0', address: '2001:db8::7', prefixLength: 64 }) // ip address replace 2001:db8::7/64 dev veth0
    .replaceRoute({ destination: '203.0.113.0/24', gateway: '198.51.100.1', link: 'veth0' }) // ip route replace 203.0.113.0/24 via 198.51.100.1 dev veth0
    .send();

  for (const result of results) {
    const what = `${result.op.operation} ${result.op.object ?? ''}`.trim();
    process.stdout.write(
      result.ok ? `ok     ${what}\n` : `failed ${what}: ${result.error.message}\n`,
    );
  }
  process.exitCode = results.every((result) => result.ok) ? 0 : 1;
} finally {
  nl.close();
}

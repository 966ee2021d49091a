// Watches address changes in a namespace, as `ip -n NETNS monitor address` does, adds an
// address and prints the notification the kernel sends for it.
//
//   node examples/library/subscribe.mjs NETNS
//
// NETNS must hold a link named veth0.
import { Rtnl } from 'fstack-kni';

const netns = process.argv[2];
if (netns === undefined) {
  process.stderr.write('usage: node subscribe.mjs NETNS\n');
  process.exit(2);
}

const nl = Rtnl.open({ netns: { name: netns } });
try {
  const index = await nl.links.index('veth0');

  // Resolves with the first notification of a new address on veth0.
  const seen = new Promise((resolve, reject) => {
    const subscription = nl.subscribe({ addresses: true }, (event) => {
      if (event.kind === 'error') {
        subscription.close();
        reject(event.error);
      } else if (
        event.kind === 'address' &&
        event.action === 'new' &&
        event.object.index === index
      ) {
        subscription.close();
        resolve(event.object);
      }
      // 'overflow' and 'resync' follow lost events; this example only waits for one event.
    });
  });

  // ip address replace 192.0.2.99/24 dev veth0
  await nl.addresses.replace({ link: 'veth0', address: '192.0.2.99', prefixLength: 24 });

  const address = await seen;
  process.stdout.write(`new address ${address.address}/${address.prefixLength} on veth0\n`);
} finally {
  nl.close();
}

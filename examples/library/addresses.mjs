// Opens a handle inside a network namespace and configures veth0 the way the runbook does:
// link up, address with broadcast, default route. Then reads the addresses back.
//
//   node examples/library/addresses.mjs NETNS
//
// NETNS must hold a link named veth0 (F-Stack's, or a tap made with `ip tuntap add`).
import { NetlinkError, Rtnl } from 'fstack-kni';

const netns = process.argv[2];
if (netns === undefined) {
  process.stderr.write('usage: node addresses.mjs NETNS\n');
  process.exit(2);
}

const address = {
  link: 'veth0',
  address: '192.0.2.79',
  prefixLength: 24,
  broadcast: '192.0.2.255',
};

// The socket is created inside the namespace, as `ip -n NETNS` does.
const nl = Rtnl.open({ netns: { name: netns } });
try {
  // ip link set dev veth0 up
  await nl.links.setUp('veth0', true);

  // ip address add 192.0.2.79/24 broadcast 192.0.2.255 dev veth0
  try {
    await nl.addresses.add(address);
  } catch (error) {
    // A second run finds the address in place, and the kernel rejects the add with EEXIST.
    if (!(error instanceof NetlinkError && error.code === 'EEXIST')) throw error;
  }

  // ip address replace ...: succeeds whether or not the address is there.
  await nl.addresses.replace(address);

  // ip route replace default via 192.0.2.1 dev veth0
  await nl.routes.replace({ destination: 'default', gateway: '192.0.2.1', link: 'veth0' });

  // ip -4 address show dev veth0
  for (const found of await nl.addresses.list({ link: 'veth0', family: 4 })) {
    const broadcast = found.broadcast === undefined ? '' : ` broadcast ${found.broadcast}`;
    process.stdout.write(`${found.address}/${found.prefixLength}${broadcast}\n`);
  }
} finally {
  nl.close();
}

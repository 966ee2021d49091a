// The rows of the benchmark table: which tool does which operation in which mode, how many
// operations it times, and which floor row it is compared with.

export type OperationId = 'address' | 'route' | 'link' | 'apply-scratch' | 'apply-noop';
export type ToolId = 'floor' | 'library' | 'netlink' | 'ip' | 'pyroute2';
export type WorkerProgram = 'library' | 'netlink' | 'ip' | 'pyroute2';

export const OPERATION_TITLES: Record<OperationId, string> = {
  address: 'address add+delete (one request = one operation)',
  route: 'route replace',
  link: 'link down/up',
  'apply-scratch': 'full KNI apply from scratch (up, address with broadcast, default route)',
  'apply-noop': 'no-op apply on a converged interface',
};

export const TOOL_TITLES: Record<ToolId, string> = {
  floor: 'floor (C, bench/floor.c)',
  library: 'fstack-kni',
  netlink: 'npm netlink 0.3',
  ip: 'iproute2 ip',
  pyroute2: 'pyroute2',
};

/** One row: a tool doing an operation in one mode. */
export interface RowDefinition {
  id: string;
  operation: OperationId;
  tool: ToolId;
  mode: string;
  /**
   * The floor row this row is compared with: `single` for one request at a time, `batched`
   * for rows that send many requests per system call or keep many in flight.
   */
  reference?: 'single' | 'batched';
  /** The case name bench/floor.c prints, for floor rows. */
  floorCase?: string;
  worker?: { program: WorkerProgram; case: string; count: number; warmup: number };
  /** Reason the tool cannot do this case. The row is then listed without numbers. */
  unsupported?: string;
  /** Shown under the table. */
  note?: string;
}

/** Operations to time per worker case, full run and quick run. */
interface Counts {
  count: number;
  warmup: number;
}

function counts(quick: boolean, full: Counts, small: Counts): Counts {
  return quick ? small : full;
}

/** Requests per batch or in flight; counts of those cases are multiples of 2 * 64. */
const BLOCK = 128;

export function rowDefinitions(quick: boolean): RowDefinition[] {
  const requests = counts(quick, { count: 40_000, warmup: 4_000 }, { count: BLOCK, warmup: 0 });
  const blocks = counts(
    quick,
    { count: 300 * BLOCK, warmup: 30 * BLOCK },
    { count: BLOCK, warmup: 0 },
  );
  const single = counts(quick, { count: 20_000, warmup: 2_000 }, { count: 16, warmup: 0 });
  const package_ = counts(quick, { count: 10_000, warmup: 1_000 }, { count: 16, warmup: 0 });
  const packageBlocks = counts(
    quick,
    { count: 80 * BLOCK, warmup: 8 * BLOCK },
    { count: BLOCK, warmup: 0 },
  );
  const python = counts(quick, { count: 4_000, warmup: 400 }, { count: 16, warmup: 0 });
  const pythonBlocks = counts(
    quick,
    { count: 40 * BLOCK, warmup: 4 * BLOCK },
    { count: BLOCK, warmup: 0 },
  );
  const spawns = counts(quick, { count: 200, warmup: 10 }, { count: 2, warmup: 0 });
  const ipBatch = counts(quick, { count: 20_000, warmup: 1_000 }, { count: 16, warmup: 0 });
  const applies = counts(quick, { count: 400, warmup: 50 }, { count: 2, warmup: 1 });
  const noops = counts(quick, { count: 1_000, warmup: 100 }, { count: 2, warmup: 1 });
  const pythonApplies = counts(quick, { count: 200, warmup: 20 }, { count: 2, warmup: 0 });
  const shellApplies = counts(quick, { count: 40, warmup: 3 }, { count: 2, warmup: 0 });

  const rows: RowDefinition[] = [
    // Address add+delete.
    {
      id: 'address/floor/single',
      operation: 'address',
      tool: 'floor',
      mode: 'one at a time',
      reference: 'single',
      floorCase: 'address add+delete, one at a time',
    },
    {
      id: 'address/floor/batched',
      operation: 'address',
      tool: 'floor',
      mode: '64 per sendmsg',
      reference: 'batched',
      floorCase: 'address add+delete, batched',
    },
    {
      id: 'address/library/awaited',
      operation: 'address',
      tool: 'library',
      mode: 'awaited one at a time',
      reference: 'single',
      worker: { program: 'library', case: 'address-awaited', ...requests },
    },
    {
      id: 'address/library/in-flight',
      operation: 'address',
      tool: 'library',
      mode: '64 promises in flight',
      reference: 'batched',
      worker: { program: 'library', case: 'address-in-flight', ...blocks },
    },
    {
      id: 'address/library/batch',
      operation: 'address',
      tool: 'library',
      mode: 'batch API, 64 per batch',
      reference: 'batched',
      worker: { program: 'library', case: 'address-batch', ...blocks },
    },
    {
      id: 'address/library/prepared',
      operation: 'address',
      tool: 'library',
      mode: 'prepared batch (Batch.prepare), 64 per send',
      reference: 'batched',
      worker: { program: 'library', case: 'address-prepared', ...blocks },
    },
    {
      id: 'address/library/transport',
      operation: 'address',
      tool: 'library',
      mode: 'transport only (NetlinkSocket, messages encoded once), awaited',
      reference: 'single',
      worker: { program: 'library', case: 'address-transport', ...requests },
    },
    {
      id: 'address/library/transport-batch',
      operation: 'address',
      tool: 'library',
      mode: 'transport only, NetlinkSocket.batch of 64',
      reference: 'batched',
      worker: { program: 'library', case: 'address-transport-batch', ...blocks },
    },
    {
      id: 'address/netlink/awaited',
      operation: 'address',
      tool: 'netlink',
      mode: 'awaited one at a time',
      reference: 'single',
      worker: { program: 'netlink', case: 'address-awaited', ...package_ },
    },
    {
      id: 'address/netlink/in-flight',
      operation: 'address',
      tool: 'netlink',
      mode: '64 promises in flight',
      reference: 'batched',
      worker: { program: 'netlink', case: 'address-in-flight', ...packageBlocks },
    },
    {
      id: 'address/netlink/batch',
      operation: 'address',
      tool: 'netlink',
      mode: 'batch',
      unsupported: 'no API sends several requests in one sendmsg',
    },
    {
      id: 'address/ip/spawn',
      operation: 'address',
      tool: 'ip',
      mode: 'one `ip` process per operation',
      reference: 'single',
      worker: { program: 'ip', case: 'address-spawn', ...spawns },
    },
    {
      id: 'address/ip/batch',
      operation: 'address',
      tool: 'ip',
      mode: '`ip -batch FILE`, one process',
      reference: 'single',
      worker: { program: 'ip', case: 'address-batch-file', ...ipBatch },
    },
    {
      id: 'address/pyroute2/awaited',
      operation: 'address',
      tool: 'pyroute2',
      mode: 'IPRoute, one at a time',
      reference: 'single',
      worker: { program: 'pyroute2', case: 'address-awaited', ...python },
    },
    {
      id: 'address/pyroute2/in-flight',
      operation: 'address',
      tool: 'pyroute2',
      mode: 'requests in flight',
      unsupported: 'IPRoute calls block until their ack',
    },
    {
      id: 'address/pyroute2/batch',
      operation: 'address',
      tool: 'pyroute2',
      mode: 'IPBatch + sendto, 64 per send',
      reference: 'batched',
      worker: { program: 'pyroute2', case: 'address-batch', ...pythonBlocks },
    },

    // Route replace.
    {
      id: 'route/floor/single',
      operation: 'route',
      tool: 'floor',
      mode: 'one at a time',
      reference: 'single',
      floorCase: 'route replace, one at a time',
    },
    {
      id: 'route/library/awaited',
      operation: 'route',
      tool: 'library',
      mode: 'awaited one at a time',
      reference: 'single',
      worker: { program: 'library', case: 'route-awaited', ...single },
    },
    {
      id: 'route/netlink/awaited',
      operation: 'route',
      tool: 'netlink',
      mode: 'awaited one at a time',
      reference: 'single',
      worker: { program: 'netlink', case: 'route-awaited', ...package_ },
    },
    {
      id: 'route/ip/spawn',
      operation: 'route',
      tool: 'ip',
      mode: 'one `ip` process per operation',
      reference: 'single',
      worker: { program: 'ip', case: 'route-spawn', ...spawns },
    },
    {
      id: 'route/ip/batch',
      operation: 'route',
      tool: 'ip',
      mode: '`ip -batch FILE`, one process',
      reference: 'single',
      worker: { program: 'ip', case: 'route-batch-file', ...ipBatch },
    },
    {
      id: 'route/pyroute2/awaited',
      operation: 'route',
      tool: 'pyroute2',
      mode: 'IPRoute, one at a time',
      reference: 'single',
      worker: { program: 'pyroute2', case: 'route-awaited', ...python },
    },

    // Link down/up.
    {
      id: 'link/floor/single',
      operation: 'link',
      tool: 'floor',
      mode: 'one at a time',
      reference: 'single',
      floorCase: 'link down/up, one at a time',
    },
    {
      id: 'link/library/awaited',
      operation: 'link',
      tool: 'library',
      mode: 'awaited one at a time',
      reference: 'single',
      worker: { program: 'library', case: 'link-awaited', ...single },
    },
    {
      id: 'link/netlink/awaited',
      operation: 'link',
      tool: 'netlink',
      mode: 'awaited one at a time',
      reference: 'single',
      worker: { program: 'netlink', case: 'link-awaited', ...package_ },
    },
    {
      id: 'link/ip/spawn',
      operation: 'link',
      tool: 'ip',
      mode: 'one `ip` process per operation',
      reference: 'single',
      worker: { program: 'ip', case: 'link-spawn', ...spawns },
    },
    {
      id: 'link/ip/batch',
      operation: 'link',
      tool: 'ip',
      mode: '`ip -batch FILE`, one process',
      reference: 'single',
      worker: { program: 'ip', case: 'link-batch-file', ...ipBatch },
    },
    {
      id: 'link/pyroute2/awaited',
      operation: 'link',
      tool: 'pyroute2',
      mode: 'IPRoute, one at a time',
      reference: 'single',
      worker: { program: 'pyroute2', case: 'link-awaited', ...python },
    },

    // Full apply from scratch.
    {
      id: 'apply-scratch/library/converge',
      operation: 'apply-scratch',
      tool: 'library',
      mode: 'converge in-process: 3 dumps, plan, 1 batch, 3 dumps to verify',
      worker: { program: 'library', case: 'apply-scratch', ...applies },
    },
    {
      id: 'apply-scratch/netlink/requests',
      operation: 'apply-scratch',
      tool: 'netlink',
      mode: '3 awaited requests, no state read or verify',
      worker: { program: 'netlink', case: 'apply-scratch', ...applies },
    },
    {
      id: 'apply-scratch/ip/runbook',
      operation: 'apply-scratch',
      tool: 'ip',
      mode: 'runbook: `ifconfig`, `route add`, `ip a` check (3 processes)',
      worker: { program: 'ip', case: 'apply-runbook', ...shellApplies },
    },
    {
      id: 'apply-scratch/ip/commands',
      operation: 'apply-scratch',
      tool: 'ip',
      mode: '`ip link set up`, `ip address add`, `ip route add` (3 processes)',
      worker: { program: 'ip', case: 'apply-ip-commands', ...shellApplies },
    },
    {
      id: 'apply-scratch/ip/batch',
      operation: 'apply-scratch',
      tool: 'ip',
      mode: '`ip -batch FILE` with the 3 commands (1 process)',
      worker: { program: 'ip', case: 'apply-ip-batch', ...shellApplies },
    },
    {
      id: 'apply-scratch/pyroute2/requests',
      operation: 'apply-scratch',
      tool: 'pyroute2',
      mode: '3 IPRoute calls, no state read or verify',
      worker: { program: 'pyroute2', case: 'apply-scratch', ...pythonApplies },
    },

    // No-op apply.
    {
      id: 'apply-noop/library/converge',
      operation: 'apply-noop',
      tool: 'library',
      mode: 'converge in-process: 3 dumps, plan, nothing sent',
      worker: { program: 'library', case: 'apply-noop', ...noops },
    },
    {
      id: 'apply-noop/netlink/dumps',
      operation: 'apply-noop',
      tool: 'netlink',
      mode: '3 dumps one after the other (links, addresses, routes), no plan',
      worker: { program: 'netlink', case: 'apply-noop', ...noops },
    },
    {
      id: 'apply-noop/ip/show',
      operation: 'apply-noop',
      tool: 'ip',
      mode: '`ip -j link/address/route show` (3 processes), no plan',
      worker: { program: 'ip', case: 'apply-noop', ...shellApplies },
    },
    {
      id: 'apply-noop/pyroute2/dumps',
      operation: 'apply-noop',
      tool: 'pyroute2',
      mode: 'get_links, get_addr, get_routes, no plan',
      worker: { program: 'pyroute2', case: 'apply-noop', ...pythonApplies },
    },
  ];
  return rows;
}

/** Requests per floor case: bench/floor.c takes COUNT pairs and rounds it down to 64s. */
export function floorCount(quick: boolean): number {
  return quick ? 64 : 20_000;
}

/** Requests of the memory and pending-requests soak on one handle. */
export function soakCounts(quick: boolean): { count: number; warmup: number } {
  return quick ? { count: 2_048, warmup: 256 } : { count: 1_000_000, warmup: 51_200 };
}

/** Restarts per mode of the restart-to-configured measurement. */
export function restartCount(quick: boolean): number {
  return quick ? 1 : 30;
}

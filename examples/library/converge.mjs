// Converges a namespace to f-stack.conf the way `fstack-kni apply --netns NETNS` does: read
// the config, compute the desired state, plan against the kernel, apply in one batch.
//
//   node examples/library/converge.mjs CONFIG NETNS [--check]
//
// The exit code is 0 when the kernel matches the config at the end, 3 when --check finds
// changes to make, and 1 when the plan is blocked or a step failed (and was rolled back).
import { converge, desiredState, formatDiagnostic, loadConfig, Rtnl, rtnlKernel } from 'fstack-kni';

const [configPath, netns, mode] = process.argv.slice(2);
if (configPath === undefined || netns === undefined) {
  process.stderr.write('usage: node converge.mjs CONFIG NETNS [--check]\n');
  process.exit(2);
}

// Parse and validate as F-Stack 1.25 reads the file.
const loaded = await loadConfig(configPath, { fstackVersion: '1.25' });
const errors = loaded.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
if (errors.length > 0) {
  for (const error of errors) process.stderr.write(`${formatDiagnostic(error)}\n`);
  process.exit(1);
}

// Addresses, routes and link state every veth<N> must have; throws KniError when KNI is off.
const desired = desiredState(loaded.config, { fstackVersion: '1.25' });

const nl = Rtnl.open({ netns: { name: netns } });
try {
  const check = mode === '--check';
  const report = await converge(desired, rtnlKernel(nl), { check, netns });

  if (report.plan.blockers.length > 0) {
    // Nothing was changed: the plan cannot be applied as a whole.
    for (const blocker of report.plan.blockers)
      process.stdout.write(`blocked: ${blocker.message}\n`);
    process.exitCode = 1;
  } else if (check) {
    for (const change of report.plan.changes)
      process.stdout.write(`would run: ${change.command}\n`);
    process.exitCode = report.plan.changes.length > 0 ? 3 : 0;
  } else {
    for (const step of report.steps)
      process.stdout.write(`${step.status}: ${step.change.command}\n`);
    process.exitCode = report.ok ? 0 : 1;
  }
} finally {
  nl.close();
}

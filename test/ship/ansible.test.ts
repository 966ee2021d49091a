// examples/ansible/kni-rollout.yml: its syntax, and a --check run on localhost against a
// throwaway network namespace, which must preview the change and leave everything as it was.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildSkipReason,
  cliPath,
  makeTempDir,
  runbookConfig,
  writeConfig,
} from '../cli/kni-helpers.js';
import {
  createTestNetns,
  ip,
  ipJson,
  kernelSkipReason,
  removeTestNetns,
} from '../helpers/netns.js';
import { findOnPath, repoRoot, run } from './helpers.js';

const playbook = join(repoRoot, 'examples', 'ansible', 'kni-rollout.yml');
const ansiblePlaybook = findOnPath('ansible-playbook');
const ansibleSkipReason =
  ansiblePlaybook === undefined
    ? 'ansible-playbook is not installed (Debian: apt-get install ansible-core)'
    : undefined;
const checkRunSkipReason = ansibleSkipReason ?? kernelSkipReason ?? buildSkipReason;

/** Environment that keeps Ansible's state and temporary files inside `dir`. */
function ansibleEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ANSIBLE_HOME: join(dir, 'ansible'),
    ANSIBLE_LOCAL_TEMP: join(dir, 'ansible', 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
  };
}

describe.skipIf(ansibleSkipReason !== undefined)(
  `ansible rollout playbook${ansibleSkipReason ? ` (skipped: ${ansibleSkipReason})` : ''}`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;

    beforeEach(() => {
      temp = makeTempDir();
    });

    afterEach(() => temp.remove());

    it('passes the syntax check', () => {
      const result = run(
        ansiblePlaybook as string,
        ['--syntax-check', '-i', 'localhost,', playbook],
        { cwd: temp.dir, env: ansibleEnv(temp.dir) },
      );

      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    });
  },
);

describe.skipIf(checkRunSkipReason !== undefined)(
  `ansible rollout playbook in check mode${checkRunSkipReason ? ` (skipped: ${checkRunSkipReason})` : ''}`,
  () => {
    let temp: ReturnType<typeof makeTempDir>;
    let netns: string;

    beforeEach(() => {
      temp = makeTempDir();
      netns = createTestNetns('fkansible');
      ip(netns, 'tuntap', 'add', 'veth0', 'mode', 'tap');
    });

    afterEach(() => {
      removeTestNetns(netns);
      temp.remove();
    });

    /** Runs the playbook with --check on localhost against `config` and `targetNetns`. */
    function checkRun(config: string, targetNetns: string): ReturnType<typeof run> {
      const variables = {
        fstack_hosts: 'localhost',
        fstack_become: false,
        fstack_kni_command: [process.execPath, cliPath],
        fstack_conf: config,
        fstack_netns: targetNetns,
        ansible_python_interpreter: findOnPath('python3', '/usr/bin') ?? 'python3',
      };
      return run(
        ansiblePlaybook as string,
        ['--check', '-c', 'local', '-i', 'localhost,', '-e', JSON.stringify(variables), playbook],
        { cwd: temp.dir, env: ansibleEnv(temp.dir) },
      );
    }

    function writeTcp80Config(): string {
      return writeConfig(temp.dir, runbookConfig('', 'enable=1\nmethod=accept\ntcp_port=80\n'));
    }

    it('previews without changing anything', () => {
      const config = writeTcp80Config();
      const before = readFileSync(config, 'utf8');

      const result = checkRun(config, netns);

      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      // The edit (previewed with --dry-run) and the kernel plan report changes.
      expect(result.stdout).toMatch(
        /localhost\s+: ok=4\s+changed=2\s+unreachable=0\s+failed=0\s+skipped=3/,
      );
      expect(result.stdout).toContain('+tcp_port=22');
      expect(readFileSync(config, 'utf8')).toBe(before);
      expect(existsSync(`${config}.kni-rollout.bak`)).toBe(false);
      const links = ipJson<Array<{ addr_info: Array<{ family: string }> }>>(
        netns,
        'address',
        'show',
        'dev',
        'veth0',
      );
      expect(links[0]?.addr_info.filter((address) => address.family === 'inet')).toEqual([]);
    });

    it('stops on a failed plan', () => {
      const config = writeTcp80Config();
      const before = readFileSync(config, 'utf8');

      // The plan step fails because the namespace does not exist.
      const result = checkRun(config, `${netns}-missing`);

      expect(result.code).not.toBe(0);
      expect(result.stdout).toContain(
        "task 'Plan the kernel changes' failed. f-stack.conf was not changed. The rollout stops here",
      );
      expect(result.stdout).toMatch(/localhost\s+: .*failed=1\s+skipped=\d+\s+rescued=1/);
      expect(readFileSync(config, 'utf8')).toBe(before);
      expect(existsSync(`${config}.kni-rollout.bak`)).toBe(false);
    });
  },
);

// The D-Bus part without libsystemd: FSTACK_KNI_LIBSYSTEMD names the library the addon
// opens, so a missing file stands for a host without libsystemd.so.0.
import { afterEach, describe, expect, it } from 'vitest';
import { addon } from '../../src/native/addon.js';
import { SystemdError } from '../../src/service/errors.js';
import { SystemdManager } from '../../src/service/manager.js';

const MISSING_LIBRARY = '/nonexistent/libsystemd.so.0';

describe('without libsystemd', () => {
  const saved = process.env.FSTACK_KNI_LIBSYSTEMD;

  afterEach(() => {
    if (saved === undefined) delete process.env.FSTACK_KNI_LIBSYSTEMD;
    else process.env.FSTACK_KNI_LIBSYSTEMD = saved;
  });

  it('reports the missing library', () => {
    process.env.FSTACK_KNI_LIBSYSTEMD = MISSING_LIBRARY;

    const library = addon().busLibrary();

    expect(addon().parts).toContain('bus');
    expect(library.name).toBe(MISSING_LIBRARY);
    expect(library.available).toBe(false);
    expect(library.error).toMatch(
      /^systemd is not available: \/nonexistent\/libsystemd\.so\.0 could not be loaded \(.*No such file or directory\)$/,
    );
  });

  it('rejects connect with ENOSYSTEMD', async () => {
    process.env.FSTACK_KNI_LIBSYSTEMD = MISSING_LIBRARY;

    const error = await SystemdManager.connect({ bus: 'system' }).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(SystemdError);
    expect((error as SystemdError).code).toBe('ENOSYSTEMD');
    expect((error as SystemdError).message).toMatch(
      /^systemd is not available: \/nonexistent\/libsystemd\.so\.0 could not be loaded \(.+\)$/,
    );
  });

  it('names a missing sd-bus function', async () => {
    // libc loads but has no sd_bus_* symbols, like a libsystemd too old for sd-bus.
    process.env.FSTACK_KNI_LIBSYSTEMD = 'libc.so.6';

    const error = await SystemdManager.connect({ bus: 'user' }).catch((caught: unknown) => caught);

    expect((error as SystemdError).code).toBe('ENOSYSTEMD');
    expect((error as SystemdError).message).toBe(
      'systemd is not available: libc.so.6 has no sd_bus_new (sd-bus of systemd 237 or later is required)',
    );
  });

  it('reverts without the override', () => {
    process.env.FSTACK_KNI_LIBSYSTEMD = MISSING_LIBRARY;
    expect(addon().busLibrary().available).toBe(false);

    delete process.env.FSTACK_KNI_LIBSYSTEMD;
    const library = addon().busLibrary();

    expect(library.name).toBe('libsystemd.so.0');
    expect(library.error).toBeUndefined();
  });
});

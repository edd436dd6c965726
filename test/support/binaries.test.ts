// Tests of test support: finding Debian binaries, and the skip-or-fail policy when one is missing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findBinary, requireBinary } from './index.js';

const MISSING = 'weft-test-no-such-binary';

describe('requireBinary', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('finds a binary that exists', async () => {
    const sh = await requireBinary('sh', { aptPackage: 'dash', purpose: 'a shell' });
    expect(sh).toMatch(/\/sh$/);
    expect(await findBinary('sh')).toBe(sh);
  });

  it('finds binaries in sbin directories even when PATH lacks them', async () => {
    vi.stubEnv('PATH', '/nonexistent');
    expect(await findBinary('sh')).toMatch(/^\/(usr\/)?bin\/sh$/);
  });

  it('skips loudly when a binary is missing and CI is unset', async () => {
    vi.stubEnv('CI', '');
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    const path = await requireBinary(MISSING, { aptPackage: 'weft-test-no-such-package', purpose: 'this test', install: false });
    expect(path).toBeUndefined();
    const notice = writes.join('');
    expect(notice).toContain('SKIPPING');
    expect(notice).toContain(MISSING);
    expect(notice).toContain('weft-test-no-such-package');
    expect(notice).toContain('this test');
  });

  it('fails when a binary is missing and CI=true', async () => {
    vi.stubEnv('CI', 'true');
    await expect(
      requireBinary(MISSING, { aptPackage: 'weft-test-no-such-package', purpose: 'this test', install: false }),
    ).rejects.toThrow(/CI=true.*weft-test-no-such-binary/);
  });
});

// Dashboard: real headless Chromium on the dashboard of a running `weft demo` — services, a service's instances and charts, topology, policies, live removal.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, requireChromium, stopProcess, type HeadlessChromium, type ManagedProcess } from '../support/index.js';
import { adminTokenOf, GREETER_APP, pollUntil, runWeft, startWeft } from '../e2e/weft-cli.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const chromiumPath = await requireChromium('the dashboard tests in headless Chromium');

/** The part of a <canvas> the chart check reads (the tests compile without the DOM library). */
interface CanvasLike {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, width: number, height: number): { readonly data: Uint8ClampedArray } } | null;
}

/** Every wait in the page is bounded by this (ms); the demo's stats need a couple of 2 s polls to show numbers. */
const PAGE_WAIT_MS = 20_000;

describe.skipIf(chromiumPath === undefined)('dashboard in headless Chromium', () => {
  let dir: string;
  let demo: ManagedProcess;
  let extraGreeter: ManagedProcess;
  let browser: HeadlessChromium;
  let page: Page;
  let dashboardUrl: string;
  /** The demo's control plane is --open-read: the page reads without a token; changes need its admin token. */
  let token: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-dashboard-'));
    // The demo stops by itself should this test be killed before its afterAll.
    demo = startWeft('demo', ['demo', '--duration', '300', '--rate', '10', '--data-dir', join(dir, 'demo')], { group: true });
    dashboardUrl = await pollUntil('the demo to print its dashboard URL', 40_000, async () => {
      if (demo.exit()) throw new Error(`demo exited early: ${demo.output()}`);
      return /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(demo.output())?.[1];
    });
    token = await adminTokenOf(join(dir, 'demo'));
    // A fourth greeter, owned by the test, so that one can be stopped and seen to leave.
    extraGreeter = startWeft('greeter-4', [
      'run', '--service', 'greeter', '--id', 'greeter-4', '--control', dashboardUrl.slice(0, -1), '--outbound', '127.0.0.1:0', '--admin', '127.0.0.1:0',
      '--health-path', '/health', '--ttl', '3000', '--', process.execPath, GREETER_APP,
    ], { group: true, env: { INSTANCE: 'greeter-4', WEFT_TOKEN: token } });
    browser = await launchChromium(chromiumPath!);
    page = await browser.context.newPage();
    page.setDefaultTimeout(PAGE_WAIT_MS);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(dashboardUrl);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (extraGreeter) await stopProcess(extraGreeter);
    if (demo) await stopProcess(demo, 'SIGTERM', 20_000);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('lists greeter and frontend with their instances and live numbers', async () => {
    for (const service of ['greeter', 'frontend']) {
      const row = page.locator(`tr[data-service="${service}"]`);
      // Numbers, not the "–" of no data: the frontend's too, now that the demo's traffic enters through its inbound sidecar.
      await expect.poll(() => row.locator('[data-stat="rps"]').textContent(), { timeout: PAGE_WAIT_MS }).toMatch(/^\d+(\.\d)?$/);
      await expect.poll(() => row.locator('[data-stat="success"]').textContent(), { timeout: PAGE_WAIT_MS }).toMatch(/^\d+(\.\d)?%$/);
      await expect.poll(() => row.locator('[data-stat="p99"]').textContent(), { timeout: PAGE_WAIT_MS }).toMatch(/ms$/);
      // Connections open into the service's sidecars: the demo's keep-alive callers hold at least one.
      await expect.poll(() => row.locator('[data-stat="tcp"]').textContent().then(Number), { timeout: PAGE_WAIT_MS }).toBeGreaterThanOrEqual(1);
    }
    await expect.poll(() => page.locator('tr[data-service="greeter"] [data-health]').textContent(), { timeout: PAGE_WAIT_MS }).toBe('4/4');
    expect(await page.locator('tr[data-service="frontend"] [data-health]').textContent()).toBe('1/1');
    expect(Number(await page.locator('tr[data-service="greeter"] td[data-stat="rps"]').textContent())).toBeGreaterThan(1);
  }, 60_000);

  it('opens greeter from its link: instances with health and stats, and charts that drew data', async () => {
    await page.locator('tr[data-service="greeter"] a').click();
    expect(new URL(page.url()).hash).toBe('#/services/greeter');
    await page.locator('h1', { hasText: 'greeter' }).waitFor();
    for (const id of ['greeter-1', 'greeter-2', 'greeter-3', 'greeter-4']) {
      const row = page.locator(`tr[data-instance="${id}"]`);
      await expect.poll(() => row.locator('[data-health]').getAttribute('data-health'), { timeout: PAGE_WAIT_MS }).toBe('passing');
      expect(await row.textContent()).toMatch(/127\.0\.0\.1:\d+/);
      expect(await row.textContent()).toContain('weft.admin=127.0.0.1:');
    }
    await expect.poll(() => page.locator('tr[data-instance="greeter-1"] [data-stat="rps"]').textContent(), { timeout: PAGE_WAIT_MS }).toMatch(/^\d+(\.\d)?$/);

    // Two polls make a line: wait for them, then look for the RPS series' own colour on the canvas, not just for the element.
    await expect.poll(() => page.locator('[data-chart="rps"]').getAttribute('data-points').then(Number), { timeout: PAGE_WAIT_MS }).toBeGreaterThanOrEqual(2);
    const strokePixels = await page.locator('[data-chart="rps"] canvas').evaluate((element) => {
      const canvas = element as unknown as CanvasLike;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      // #2b6cb0, the RPS stroke
      for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - 43) + Math.abs(data[i + 1]! - 108) + Math.abs(data[i + 2]! - 176) < 40 && data[i + 3]! > 200) count++;
      return count;
    });
    expect(strokePixels).toBeGreaterThan(30);
    for (const chart of ['success', 'latency']) {
      expect(Number(await page.locator(`[data-chart="${chart}"]`).getAttribute('data-points'))).toBeGreaterThanOrEqual(2);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  }, 60_000);

  it('shows an instance leave as soon as it deregisters', async () => {
    const row = page.locator('tr[data-instance="greeter-4"]');
    expect(await row.count()).toBe(1);
    await stopProcess(extraGreeter);
    // Well under the 3 s TTL plus removal delay: the page hears the deregistration on the watch stream.
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.locator('tr[data-instance]').count()).toBe(3);
    await expect.poll(() => page.locator('h1 + p [data-health]').textContent(), { timeout: 5_000 }).toBe('3/3');
  }, 30_000);

  it('goes back to the list with the back button', async () => {
    await page.goBack();
    await page.locator('tr[data-service="frontend"]').waitFor();
    expect(new URL(page.url()).hash).toBe('');
  });

  it('draws who calls whom, with the calls\' numbers', async () => {
    await page.locator('[data-nav="topology"]').click();
    await expect.poll(() => page.locator('.card[data-state]').getAttribute('data-state'), { timeout: PAGE_WAIT_MS }).toBe('ok');
    const edge = page.locator('g.edge[data-edge="frontend->greeter"]');
    await edge.waitFor();
    expect(await edge.locator('text').textContent()).toMatch(/^\d+(\.\d)? rps · \d+(\.\d)?%p50 [\d.]+ ms · p99 [\d.]+ ms$/);
    expect(await edge.getAttribute('class')).toBe('edge ok');
    expect(await page.locator('g.edge').count()).toBe(1);
    // Callers to the left of the services they call.
    const x = (name: string) => page.locator(`g.node[data-node="${name}"] rect`).getAttribute('x').then(Number);
    expect(await x('frontend')).toBeLessThan(await x('greeter'));
    // A node links to its service's page, which names its callers from the same data.
    await page.locator('g.node[data-node="greeter"]').click();
    await page.locator('[data-traffic="greeter"] a[data-neighbour="frontend"]').waitFor();
    expect(await page.locator('[data-traffic="greeter"]').textContent()).toMatch(/^called by frontend \(\d+(\.\d)? rps, \d+(\.\d)?%\)$/);
    await page.goBack();
  }, 30_000);

  it('lays callers out left of the services they call, and stops on a cycle', async () => {
    // The page's own layout module, run in the page: chains, a fan-out, a cycle and a self-call.
    // Sent as source text: the test runner would rewrite a dynamic import() inside a function it compiles.
    const layout = (await page.evaluate(`(async () => {
      const { layoutTopology } = await import('/dashboard/topology.js');
      const edges = [
        { source: 'web', destination: 'api' },
        { source: 'api', destination: 'db' },
        { source: 'api', destination: 'cache' },
        { source: 'web', destination: 'db' },
        { source: 'loop-a', destination: 'loop-b' },
        { source: 'loop-b', destination: 'loop-a' },
        { source: 'self', destination: 'self' },
      ];
      const { positions } = layoutTopology(['api', 'cache', 'db', 'loop-a', 'loop-b', 'lonely', 'self', 'web'], edges);
      return Object.fromEntries([...positions].map(([name, { x }]) => [name, x]));
    })()`)) as Record<string, number>;
    expect(layout.web).toBeLessThan(layout.api!);
    expect(layout.api).toBeLessThan(layout.db!);
    expect(layout.db).toBe(layout.cache);
    expect(layout.lonely).toBe(layout.web);
    expect(layout.self).toBe(layout.web);
    expect(Object.keys(layout)).toHaveLength(8);
    for (const x of Object.values(layout)) expect(Number.isFinite(x)).toBe(true);
  });

  it('shows the CA and the certificate each sidecar holds', async () => {
    await page.locator('[data-nav="certificates"]').click();
    await expect.poll(() => page.locator('[data-ca-phase]').getAttribute('data-ca-phase'), { timeout: PAGE_WAIT_MS }).toBe('steady');
    expect(await page.locator('tr[data-authority]').count()).toBe(1);
    // Every sidecar of the demo (greeters and the frontend) holds a fresh certificate from the CA.
    await expect.poll(() => page.locator('tr[data-certificate]').count(), { timeout: PAGE_WAIT_MS }).toBeGreaterThanOrEqual(4);
    const states = await page.locator('tr[data-certificate] td[data-expiry]').evaluateAll((cells) => cells.map((cell) => cell.getAttribute('data-expiry')));
    expect(new Set(states)).toEqual(new Set(['ok']));
    await page.goto(`${dashboardUrl}#/services/frontend`);
    await page.locator('h2', { hasText: 'Certificates' }).waitFor();
    await expect.poll(() => page.locator('tr[data-certificate]').count(), { timeout: PAGE_WAIT_MS }).toBe(1);
  });

  it('shows a policy once `weft apply` sets it', async () => {
    await page.locator('[data-nav="policies"]').click();
    // The demo's one policy: frontend, its edge service, takes plaintext from outside the mesh (mtls: permissive).
    await page.locator('tr[data-policy="frontend"]').waitFor({ timeout: 5_000 });
    expect(await page.locator('tr[data-policy="greeter"]').count()).toBe(0);
    const file = join(dir, 'greeter-policy.yaml');
    await writeFile(file, 'kind: ServicePolicy\nservice: greeter\nloadBalancer: { algorithm: least-connections }\ntimeout: { requestMs: 1500 }\n');
    const applied = await runWeft(['apply', '-f', file, '--control', dashboardUrl.slice(0, -1)], { WEFT_TOKEN: token });
    expect(applied).toMatchObject({ code: 0, stdout: 'policy/greeter configured\n' });
    const row = page.locator('tr[data-policy="greeter"]');
    await row.waitFor({ timeout: 5_000 });
    expect(await row.textContent()).toContain('least-connections');
    expect(await row.textContent()).toContain('1500 ms');
    expect(pageErrors).toEqual([]);
  }, 30_000);
});

// /metrics: the Prometheus text format, fed by real requests through the server, and the registry's own
// behaviour (cumulative buckets, label escaping, the HSM member hook).
import { CreateKeyCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_S, Metrics } from '../../src/server/metrics.js';
import { startServer } from './_harness.js';

/** The samples of an exposition, by series (name and labels as written). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-z_]+(?:\{.*\})?) (\S+)$/.exec(line);
    expect(m, line).not.toBeNull();
    out.set(m![1]!, Number(m![2]));
  }
  return out;
}

describe('Metrics', () => {
  it('counts by operation and status, errors by name, and renders cumulative histogram buckets', () => {
    let inFlight = 3;
    const m = new Metrics(() => inFlight);
    m.observe('Encrypt', 200, undefined, 0.0007);
    m.observe('Encrypt', 200, undefined, 0.02);
    m.observe('Encrypt', 400, 'NotFoundException', 7);
    m.observe('Encrypt', 500, 'KMSInternalException', 60);
    const s = samples(m.render());
    expect(s.get('keyward_requests_total{operation="Encrypt",status="200"}')).toBe(2);
    expect(s.get('keyward_requests_total{operation="Encrypt",status="400"}')).toBe(1);
    expect(s.get('keyward_request_errors_total{operation="Encrypt",error="NotFoundException"}')).toBe(1);
    expect(s.get('keyward_request_duration_seconds_bucket{operation="Encrypt",le="0.0005"}')).toBe(0);
    expect(s.get('keyward_request_duration_seconds_bucket{operation="Encrypt",le="0.001"}')).toBe(1);
    expect(s.get('keyward_request_duration_seconds_bucket{operation="Encrypt",le="0.025"}')).toBe(2);
    expect(s.get('keyward_request_duration_seconds_bucket{operation="Encrypt",le="10"}')).toBe(3);
    expect(s.get('keyward_request_duration_seconds_bucket{operation="Encrypt",le="+Inf"}')).toBe(4);
    expect(s.get('keyward_request_duration_seconds_count{operation="Encrypt"}')).toBe(4);
    expect(s.get('keyward_request_duration_seconds_sum{operation="Encrypt"}')).toBeCloseTo(67.0207, 6);
    expect(s.get('keyward_requests_in_flight')).toBe(3);
    inFlight = 0;
    expect(samples(m.render()).get('keyward_requests_in_flight')).toBe(0);
    expect(LATENCY_BUCKETS_S.every((b, i) => i === 0 || b > LATENCY_BUCKETS_S[i - 1]!)).toBe(true);
  });

  it('reports HSM members through the hook, escapes label values, and forgets removed members', () => {
    const m = new Metrics();
    m.setHsmMemberHealth('hsm-1', true);
    m.setHsmMemberHealth('slot "2"\\x\n', false);
    let s = samples(m.render());
    expect(s.get('keyward_hsm_member_up{member="hsm-1"}')).toBe(1);
    expect(s.get('keyward_hsm_member_up{member="slot \\"2\\"\\\\x\\n"}')).toBe(0);
    m.setHsmMemberHealth('hsm-1', false);
    m.removeHsmMember('slot "2"\\x\n');
    s = samples(m.render());
    expect(s.get('keyward_hsm_member_up{member="hsm-1"}')).toBe(0);
    expect([...s.keys()].filter((k) => k.startsWith('keyward_hsm_member_up'))).toHaveLength(1);
  });
});

describe('GET /metrics', () => {
  it('serves the counts of real requests without authentication, and can be turned off', async () => {
    const h = await startServer();
    const c = h.client();
    const { KeyMetadata } = await c.send(new CreateKeyCommand({}));
    for (let i = 0; i < 3; i++) await c.send(new GenerateDataKeyCommand({ KeyId: KeyMetadata!.KeyId, KeySpec: 'AES_256' }));
    expect((await h.call('TrentService.Decrypt', JSON.stringify({ CiphertextBlob: 'AAAA' }))).status).toBe(400);
    const r = await h.send('GET', '/metrics', {}, '');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const s = samples(r.body);
    expect(s.get('keyward_requests_total{operation="GenerateDataKey",status="200"}')).toBe(3);
    expect(s.get('keyward_requests_total{operation="CreateKey",status="200"}')).toBe(1);
    expect(s.get('keyward_request_errors_total{operation="Decrypt",error="InvalidCiphertextException"}')).toBe(1);
    expect(s.get('keyward_request_duration_seconds_count{operation="GenerateDataKey"}')).toBe(3);
    // The /metrics request itself is the one in flight.
    expect(s.get('keyward_requests_in_flight')).toBe(1);
    h.server.metrics.setHsmMemberHealth('softhsm-0', true);
    expect(samples((await h.send('GET', '/metrics', {}, '')).body).get('keyward_hsm_member_up{member="softhsm-0"}')).toBe(1);
    expect((await h.send('POST', '/metrics', {}, '')).status).toBe(405);

    const off = await startServer({ serveMetrics: false });
    expect((await off.send('GET', '/metrics', {}, '')).status).toBe(404);
  });
});

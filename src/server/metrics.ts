// Server metrics in the Prometheus text exposition format (version 0.0.4): requests by operation and
// status, errors by operation and exception name, a latency histogram per operation, requests in flight,
// and the health of HSM cluster members, which the HSM cluster reports through setHsmMemberHealth.
// Label values come from fixed sets (operation names the server knows, HTTP statuses, exception names,
// member ids the operator configured), so no request can grow the number of series.

/** Upper bounds of the latency histogram, in seconds (the SigV4 KMS hot path sits in the first few). */
export const LATENCY_BUCKETS_S: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/** Backslash, double quote and newline escaped, as the exposition format requires in label values. */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
}

export class Metrics {
  private readonly requests = new Map<string, Map<number, number>>();
  private readonly errors = new Map<string, Map<string, number>>();
  private readonly latency = new Map<string, Histogram>();
  private readonly hsm = new Map<string, boolean>();

  /**
   * @param inFlight reads the number of requests being handled when the metrics are rendered
   */
  constructor(private readonly inFlight: () => number = () => 0) {}

  /** Records one finished request: its operation, HTTP status, exception name (failures) and duration. */
  observe(operation: string, status: number, error: string | undefined, seconds: number): void {
    let byStatus = this.requests.get(operation);
    if (!byStatus) this.requests.set(operation, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    if (error !== undefined) {
      let byError = this.errors.get(operation);
      if (!byError) this.errors.set(operation, (byError = new Map()));
      byError.set(error, (byError.get(error) ?? 0) + 1);
    }
    let h = this.latency.get(operation);
    if (!h) this.latency.set(operation, (h = { buckets: LATENCY_BUCKETS_S.map(() => 0), sum: 0, count: 0 }));
    // Buckets are kept non-cumulative here and summed when rendered: one increment per observation.
    const i = LATENCY_BUCKETS_S.findIndex((b) => seconds <= b);
    if (i >= 0) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** The hook an HSM cluster feeds: member `id` is up (true) or down (false). */
  setHsmMemberHealth(id: string, up: boolean): void {
    this.hsm.set(id, up);
  }

  /** Forgets a member that left the cluster. */
  removeHsmMember(id: string): void {
    this.hsm.delete(id);
  }

  /** Every metric in the text exposition format. */
  render(): string {
    const out: string[] = [];
    out.push('# HELP keyward_requests_total Requests handled, by operation and HTTP status.', '# TYPE keyward_requests_total counter');
    for (const [op, byStatus] of this.requests) {
      for (const [status, n] of byStatus) out.push(`keyward_requests_total{operation="${esc(op)}",status="${status}"} ${n}`);
    }
    out.push('# HELP keyward_request_errors_total Failed requests, by operation and exception name.', '# TYPE keyward_request_errors_total counter');
    for (const [op, byError] of this.errors) {
      for (const [error, n] of byError) out.push(`keyward_request_errors_total{operation="${esc(op)}",error="${esc(error)}"} ${n}`);
    }
    out.push('# HELP keyward_request_duration_seconds Time from request start to response end, by operation.', '# TYPE keyward_request_duration_seconds histogram');
    for (const [op, h] of this.latency) {
      const l = esc(op);
      let cumulative = 0;
      LATENCY_BUCKETS_S.forEach((b, i) => {
        cumulative += h.buckets[i]!;
        out.push(`keyward_request_duration_seconds_bucket{operation="${l}",le="${num(b)}"} ${cumulative}`);
      });
      out.push(`keyward_request_duration_seconds_bucket{operation="${l}",le="+Inf"} ${h.count}`);
      out.push(`keyward_request_duration_seconds_sum{operation="${l}"} ${num(h.sum)}`);
      out.push(`keyward_request_duration_seconds_count{operation="${l}"} ${h.count}`);
    }
    out.push('# HELP keyward_requests_in_flight Requests being handled now.', '# TYPE keyward_requests_in_flight gauge');
    out.push(`keyward_requests_in_flight ${this.inFlight()}`);
    out.push('# HELP keyward_hsm_member_up Whether an HSM cluster member is healthy (1) or not (0).', '# TYPE keyward_hsm_member_up gauge');
    for (const [id, up] of this.hsm) out.push(`keyward_hsm_member_up{member="${esc(id)}"} ${up ? 1 : 0}`);
    return `${out.join('\n')}\n`;
  }
}

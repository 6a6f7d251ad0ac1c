import { describeError } from '../../errors.js';
import { type Reporter, nullReporter } from '../../report/events.js';
import type { LeftoversReport } from '../leftovers.js';
import { type OwnerState, ownerState, procStat, type StatReader, whyKept } from '../owner.js';
import type { ReleaseReport } from '../provider.js';
import { isBuildId, type RecordSettings, readRecord, recordedBuilds } from '../state.js';
import { CloudApi } from './api.js';
import { callScope } from './calls.js';
import { releaseCloudBuild } from './release.js';
import type { RetryPolicy } from './retry.js';
import type { CloudCredentials } from './settings.js';
import { listTagged } from './tagged.js';
import { type CloudTiming, cloudTiming } from './timing.js';

/** Options of {@link releaseCloudLeftovers}. */
export interface CloudLeftoversOptions {
  readonly credentials?: CloudCredentials;
  /** Where to sweep by tag (a CloudSettings will do); without it only recorded builds are released. */
  readonly settings?: RecordSettings;
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
  /** For tests: how owner processes are looked up. */
  readonly readStat?: StatReader;
  readonly pollMs?: number;
  readonly timeouts?: Partial<Omit<CloudTiming, 'pollMs'>>;
  readonly retry?: RetryPolicy;
}

/**
 * Finishes cloud builds whose process is gone (SIGKILLed, crashed, rebooted): every cloud build
 * recorded under `stateDir` whose owner is dead is released in the region its record names, and,
 * when `settings` name a region, every resource there tagged `sealer.io/build` whose owner tag is
 * dead or missing (a build whose record was lost). Live builds and other machines' builds are
 * skipped with the reason; so are recorded builds when no credentials are given.
 */
export async function releaseCloudLeftovers(stateDir: string, opts: CloudLeftoversOptions = {}): Promise<LeftoversReport> {
  const reporter = opts.reporter ?? nullReporter;
  const read = opts.readStat ?? procStat;
  const timing = cloudTiming(opts);
  const skipped: { buildId: string; reason: string }[] = [];
  const released: ReleaseReport[] = [];
  const seen = new Set<string>();
  const apis = new Map<string, CloudApi>();
  const apiFor = (where: RecordSettings, credentials: CloudCredentials): CloudApi => {
    const key = `${where.protocol ?? 'https'}://${where.endpoint ?? ''}/${where.region}`;
    let api = apis.get(key);
    if (!api) {
      api = new CloudApi(where, credentials, opts.retry ? { retry: opts.retry } : {});
      apis.set(key, api);
    }
    return api;
  };
  const release = async (buildId: string, where: RecordSettings, credentials: CloudCredentials): Promise<void> => {
    opts.signal?.throwIfAborted();
    reporter.emit({ type: 'log', level: 'info', text: `releasing the cloud leftovers of build ${buildId} in ${where.region} (its process is gone)` });
    // The owner tag is not known here and not needed: a teardown creates nothing.
    const scope = callScope(buildId, where.region, '');
    released.push(await releaseCloudBuild(apiFor(where, credentials), scope, stateDir, timing, reporter, opts.signal));
  };

  for (const buildId of await recordedBuilds(stateDir)) {
    let rec: Awaited<ReturnType<typeof readRecord>>;
    try {
      rec = await readRecord(stateDir, buildId);
    } catch (err) {
      skipped.push({ buildId, reason: `unreadable record: ${describeError(err)}` });
      continue;
    }
    if (rec === undefined || rec.provider !== 'cloud') continue;
    seen.add(buildId);
    const state = ownerState(rec.owner, read);
    if (state !== 'dead') skipped.push({ buildId, reason: whyKept(state, rec.owner.pid, rec.owner.host) });
    else if (!opts.credentials) skipped.push({ buildId, reason: 'no Alibaba Cloud credentials' });
    else if (!rec.settings?.region) skipped.push({ buildId, reason: 'its record names no region' });
    else await release(buildId, rec.settings, opts.credentials);
  }

  if (opts.credentials && opts.settings?.region) {
    const where = opts.settings;
    let tagged: Awaited<ReturnType<typeof listTagged>> = [];
    try {
      tagged = await listTagged(apiFor(where, opts.credentials), where.region, undefined, opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      skipped.push({ buildId: '*', reason: `resources tagged sealer.io/build in ${where.region} not listed: ${describeError(err)}` });
    }
    for (const r of tagged) {
      if (seen.has(r.buildId)) continue;
      seen.add(r.buildId);
      if (!isBuildId(r.buildId)) {
        skipped.push({ buildId: r.buildId, reason: `${r.kind} ${r.id} has an invalid build tag` });
        continue;
      }
      // No record: judge by the owner tag (a missing one cannot belong to a live sealer).
      const state: OwnerState = r.owner ? ownerState(r.owner, read) : 'dead';
      if (state !== 'dead') skipped.push({ buildId: r.buildId, reason: whyKept(state, r.owner?.pid ?? 0, r.owner?.host ?? '') });
      else await release(r.buildId, where, opts.credentials);
    }
  }
  return { released, skipped };
}

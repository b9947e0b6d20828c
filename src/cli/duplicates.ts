import { duplicateScanAccess } from '../access/door.js';
import { scanDuplicates } from '../identity/duplicate-scan.js';
import type { Database } from '../store/driver.js';
import { Repository } from '../store/repository.js';
import { ProgressBar } from './progress.js';
import type { TextOutput } from './session.js';

/**
 * `densaulyq duplicates scan`: the batch duplicate finder over every active Patient, as the
 * platform (a maintenance job, not a person: `duplicateScanAccess`), filling the work list `Patient/$duplicates`
 * serves. Prints counts and timings only: no names, no identifiers.
 */
export async function duplicatesScan(db: Database, stderr: TextOutput = process.stderr): Promise<void> {
  const repo = new Repository(db, duplicateScanAccess());
  const total = await repo.countCurrent('Patient');
  const reading = new ProgressBar('Reading patients', total, stderr);
  const report = await scanDuplicates(repo, {
    onProgress: ({ phase, done }) => {
      if (phase === 'read') reading.update(done);
      else if (phase === 'match') reading.finish(`Read ${total.toLocaleString('en-US')} patients; ${done.toLocaleString('en-US')} candidate pairs found.`);
    },
  });
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  stderr.write(
    `Scanned ${report.patients.toLocaleString('en-US')} active patients: ${report.blocking.candidatePairs.toLocaleString('en-US')} pairs compared ` +
      `(blocking, never all ${report.blocking.allPairs.toLocaleString('en-US')}); work list: ${report.autoLink.toLocaleString('en-US')} pairs above auto-link, ` +
      `${report.review.toLocaleString('en-US')} for review, ${report.dropped.toLocaleString('en-US')} stale pairs dropped. ` +
      `Read ${seconds(report.timings.read)}, match ${seconds(report.timings.match)}, save ${seconds(report.timings.save)}.\n`,
  );
}

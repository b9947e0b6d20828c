import type { AccessPolicy } from './access-policy.js';
import type { SqlClient } from './driver.js';

/**
 * The state of asynchronous bulk jobs ($export), kept in the database so that any API process
 * can answer status and downloads, and a job whose process died can be picked up again.
 * These tables hold job bookkeeping, not resources: resources are read through the Repository.
 * A caller reaches only the jobs it owns (the door's `jobOwner`), through `Repository.exportJobs`.
 */

export type BulkJobStatus = 'in-progress' | 'completed' | 'failed';

export interface BulkJob {
  id: string;
  kind: string;
  status: BulkJobStatus;
  /** The kick-off request URL, echoed as `request` in the manifest. */
  request: string;
  /** The job's normalized parameters (JSON text). */
  parameters: string;
  /** Who started the job (`client|subject`): only they may poll, download or cancel it. */
  owner: string | null;
  transactionTime: string;
  createdAt: string;
  updatedAt: string;
  /** Progress and the resume checkpoint (JSON text). */
  progress: string | null;
  error: string | null;
  /** Seconds since the last heartbeat of the process running the job. */
  idleSeconds: number;
}

export interface BulkOutput {
  seq: number;
  resourceType: string;
  count: number;
}

const INSTANT = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const JOB_COLUMNS = `id, kind, status, request, parameters, owner, progress, error,
  ${INSTANT('transaction_time')} AS transaction_time, ${INSTANT('created_at')} AS created_at, ${INSTANT('updated_at')} AS updated_at,
  extract(epoch FROM (now() - updated_at))::float8 AS idle_seconds`;

interface JobRow {
  id: string;
  kind: string;
  status: BulkJobStatus;
  request: string;
  parameters: string;
  owner: string | null;
  progress: string | null;
  error: string | null;
  transaction_time: string;
  created_at: string;
  updated_at: string;
  idle_seconds: number | string;
}

function toJob(row: JobRow): BulkJob {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    request: row.request,
    parameters: row.parameters,
    owner: row.owner,
    progress: row.progress,
    error: row.error,
    transactionTime: row.transaction_time,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    idleSeconds: Number(row.idle_seconds),
  };
}

export interface NewBulkJob {
  id: string;
  kind: string;
  request: string;
  parameters: string;
  transactionTime: string;
  progress: string;
}

/** A job's outputs, when the job is the caller's: `$n` is the caller. */
const OWN_JOB = (n: number) => `EXISTS (SELECT 1 FROM bulk_job j WHERE j.id = job_id AND j.owner = $${n})`;

/** The export jobs of one caller: another owner's jobs and files are, to it, not there. */
export class ExportJobs {
  private readonly owner: string;

  constructor(
    private readonly client: SqlClient,
    access: AccessPolicy,
  ) {
    this.owner = access.jobOwner;
  }

  async create(job: NewBulkJob): Promise<void> {
    await this.client.query(
      `INSERT INTO bulk_job (id, kind, status, request, parameters, transaction_time, progress, owner) VALUES ($1, $2, 'in-progress', $3, $4, $5, $6, $7)`,
      [job.id, job.kind, job.request, job.parameters, job.transactionTime, job.progress, this.owner],
    );
  }

  async read(id: string): Promise<BulkJob | undefined> {
    const rows = await this.client.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM bulk_job WHERE id = $1 AND owner = $2`, [id, this.owner]);
    return rows[0] && toJob(rows[0]);
  }

  /**
   * Records progress of a running job, as the runner holding the lease `runner`; the heartbeat
   * too. False when the job is gone (cancelled), finished, or was taken over by another runner:
   * the caller must stop.
   */
  async updateProgress(id: string, runner: string, progress: string): Promise<boolean> {
    const rows = await this.client.query(
      `UPDATE bulk_job SET progress = $3, updated_at = now()
       WHERE id = $1 AND owner = $4 AND status = 'in-progress' AND progress::jsonb ->> 'runner' = $2 RETURNING id`,
      [id, runner, progress, this.owner],
    );
    return rows.length > 0;
  }

  /**
   * Takes over an in-progress job whose runner has been silent for `staleSeconds`, under a new
   * lease; returns the job as it was, or undefined when it is not stale (or not there).
   */
  async claimStale(id: string, runner: string, staleSeconds: number): Promise<BulkJob | undefined> {
    const rows = await this.client.query<JobRow>(
      `UPDATE bulk_job SET progress = jsonb_set(coalesce(progress, '{}')::jsonb, '{runner}', to_jsonb($2::text))::text, updated_at = now()
       WHERE id = $1 AND owner = $4 AND status = 'in-progress' AND updated_at < now() - make_interval(secs => $3::float8)
       RETURNING ${JOB_COLUMNS}`,
      [id, runner, staleSeconds, this.owner],
    );
    return rows[0] && toJob(rows[0]);
  }

  /** Ends a job as `completed` or `failed`, if `runner` still holds it; `progress` undefined keeps the last. */
  async finish(id: string, runner: string, status: Exclude<BulkJobStatus, 'in-progress'>, progress?: string, error?: string): Promise<boolean> {
    const rows = await this.client.query(
      `UPDATE bulk_job SET status = $3, progress = coalesce($4, progress), error = $5, updated_at = now()
       WHERE id = $1 AND owner = $6 AND status = 'in-progress' AND progress::jsonb ->> 'runner' = $2 RETURNING id`,
      [id, runner, status, progress ?? null, error ?? null, this.owner],
    );
    return rows.length > 0;
  }

  async appendOutput(jobId: string, seq: number, resourceType: string, count: number, content: string): Promise<void> {
    await this.client.query(
      `INSERT INTO bulk_output (job_id, seq, resource_type, count, content) SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM bulk_job WHERE id = $1 AND owner = $6)`,
      [jobId, seq, resourceType, count, content, this.owner],
    );
  }

  /** Removes a job's outputs from `fromSeq` on: the part of a job a resumed runner writes again. */
  async deleteOutputsFrom(jobId: string, fromSeq: number): Promise<void> {
    await this.client.query(`DELETE FROM bulk_output WHERE job_id = $1 AND seq >= $2 AND ${OWN_JOB(3)}`, [jobId, fromSeq, this.owner]);
  }

  async listOutputs(jobId: string): Promise<BulkOutput[]> {
    const rows = await this.client.query<{ seq: number; resource_type: string; count: number }>(
      `SELECT seq, resource_type, count FROM bulk_output WHERE job_id = $1 AND ${OWN_JOB(2)} ORDER BY seq`,
      [jobId, this.owner],
    );
    return rows.map((r) => ({ seq: Number(r.seq), resourceType: r.resource_type, count: Number(r.count) }));
  }

  /** The NDJSON text of one output file, or undefined when the job or file is not there. */
  async readOutputContent(jobId: string, seq: number): Promise<string | undefined> {
    const rows = await this.client.query<{ content: string }>(`SELECT content FROM bulk_output WHERE job_id = $1 AND seq = $2 AND ${OWN_JOB(3)}`, [
      jobId,
      seq,
      this.owner,
    ]);
    return rows[0]?.content;
  }

  /** Deletes a job and (by cascade) its files; false when there was no such job. */
  async delete(id: string): Promise<boolean> {
    const rows = await this.client.query(`DELETE FROM bulk_job WHERE id = $1 AND owner = $2 RETURNING id`, [id, this.owner]);
    return rows.length > 0;
  }
}

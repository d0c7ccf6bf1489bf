-- When the job's message was last put on the stream, so workers can find
-- PENDING jobs whose message was lost and publish them again.
ALTER TABLE export_jobs ADD COLUMN published_at timestamptz NOT NULL DEFAULT now();

CREATE INDEX export_jobs_pending_idx ON export_jobs (published_at) WHERE state = 'PENDING';

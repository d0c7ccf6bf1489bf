-- When the job's message was last put on the stream, or the job was last
-- claimed or retried, so workers can find unfinished jobs whose message was
-- lost and publish them again.
ALTER TABLE export_jobs ADD COLUMN published_at timestamptz NOT NULL DEFAULT now();

CREATE INDEX export_jobs_unfinished_idx ON export_jobs (published_at)
    WHERE state IN ('PENDING', 'STARTED', 'RETRY');

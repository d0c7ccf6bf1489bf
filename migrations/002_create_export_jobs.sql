CREATE TABLE export_jobs (
    id           uuid        PRIMARY KEY,
    job_type     text        NOT NULL DEFAULT 'export_csv',
    state        text        NOT NULL DEFAULT 'PENDING'
                             CHECK (state IN ('PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE')),
    filters      jsonb       NOT NULL DEFAULT '{}',
    attempts     integer     NOT NULL DEFAULT 0,
    row_count    bigint,
    byte_count   bigint,
    error        text,
    request_id   text,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);

CREATE INDEX export_jobs_finished_at_idx ON export_jobs (finished_at);

CREATE TABLE export_chunks (
    job_id  uuid    NOT NULL REFERENCES export_jobs (id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    data    text    NOT NULL,
    PRIMARY KEY (job_id, seq)
);

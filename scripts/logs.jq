# Turns the output of `tail -v` over the stack's log files into one JSON
# object per line with the fields of the service's own logs first:
# timestamp (UTC, ms), level, logger, message, then process (the stack
# process that wrote it) and the line's other fields. scripts/run.sh logs
# runs it as: tail -v ... | jq -n -R -c -f logs.jq
#
# Written for jq 1.6 (Debian 12). It understands the JSON of todo-web and
# todo-worker, Caddy (zap: ts in seconds, msg), Prometheus 2.42
# (--log.format=json: ts as text, msg), PostgreSQL's jsonlog and text
# lines, and the text lines of Redis. Any other line becomes the message of
# an object that takes the timestamp of the previous line of the same
# process.

def iso_ms($seconds):
  ($seconds | floor | todate | .[0:19]) + "."
  + ((($seconds * 1000 | floor) % 1000) | tostring | ("00" + .) | .[-3:]) + "Z";

def level_name:
  ascii_upcase
  | if . == "WARN" then "WARNING"
    elif . == "LOG" or . == "NOTICE" or . == "INFO" then "INFO"
    elif . == "HINT" or . == "DETAIL" or . == "CONTEXT" or . == "STATEMENT" then "INFO"
    elif . == "FATAL" or . == "PANIC" or . == "DPANIC" then "CRITICAL"
    elif startswith("DEBUG") then "DEBUG"
    else . end;

def first_fields($process):
  {timestamp, level, logger, message, process: $process} + .;

# Redis (with TZ=UTC): "1234:M 04 Dec 2024 22:03:00.123 * Ready to accept connections"
def from_redis_text:
  capture("^(?<pid>[0-9]+):(?<role>[A-Z]) (?<date>[0-9]+ [A-Za-z]+ [0-9]+ [0-9:]+)\\.(?<ms>[0-9]+) (?<mark>.) (?<message>.*)$")
  | {timestamp: ((.date | strptime("%d %b %Y %H:%M:%S") | mktime | todate | .[0:19]) + "." + .ms + "Z"),
     level: ({".": "DEBUG", "-": "INFO", "*": "INFO", "#": "WARNING"}[.mark] // "INFO"),
     logger: "redis",
     message: .message,
     pid: (.pid | tonumber)};

# PostgreSQL's text lines (pg_ctl's log, the logging process's own file):
# "2024-12-04 22:03:00.123 UTC [1234] LOG:  database system is ready"
def from_postgres_text:
  capture("^(?<date>[0-9-]+) (?<time>[0-9:.]+) UTC \\[(?<pid>[0-9]+)\\] (?<severity>[A-Z0-9]+):  (?<message>.*)$")
  | {timestamp: (.date + "T" + .time + "Z"), level: (.severity | level_name), logger: "postgres",
     message: .message, pid: (.pid | tonumber)};

def from_json_object:
  if (.ts | type) == "number" then
    # Caddy
    {timestamp: iso_ms(.ts), level: (.level | level_name), logger: ("caddy." + (.logger // "main")), message: .msg}
    + del(.ts, .level, .logger, .msg)
  elif (.ts | type) == "string" and has("caller") then
    # Prometheus
    # Some lines have no msg, only fields: they become the message.
    {timestamp: .ts, level: (.level | level_name), logger: ("prometheus." + (.component // "main")),
     message: (.msg // (del(.ts, .level, .component, .caller) | to_entries | map("\(.key)=\(.value)") | join(" ")))}
    + del(.ts, .level, .component, .msg)
  elif has("error_severity") then
    # PostgreSQL jsonlog with log_timezone = 'UTC': "2024-12-04 22:03:00.123 UTC"
    {timestamp: (.timestamp | sub(" UTC$"; "Z") | sub(" "; "T")), level: (.error_severity | level_name),
     logger: "postgres", message: .message}
    + del(.timestamp, .error_severity, .message)
  else
    .
  end;

def parse_line($process; $fallback_time):
  (try fromjson catch null) as $object
  | if ($object | type) == "object" then
      $object | from_json_object
    else
      (try from_redis_text catch null)
      // (try from_postgres_text catch null)
      // {timestamp: $fallback_time, level: "INFO", logger: $process, message: .}
    end
  | first_fields($process);

# tail's header line "==> path <==" names the file of the lines after it.
def process_of_path:
  if test("/postgres/") then "postgres"
  elif test("/redis/") then "redis"
  else split("/") | last | sub("\\.log$"; "")
  end;

foreach inputs as $raw ({process: null, last_time: {}, entry: null};
  if ($raw | test("^==> .* <==$")) then
    .process = ($raw[4:-4] | process_of_path) | .entry = null
  elif $raw == "" or .process == null then
    .entry = null
  else
    .process as $process
    | (.last_time[$process] // iso_ms(now)) as $fallback_time
    | ($raw | parse_line($process; $fallback_time)) as $entry
    | .last_time[$process] = $entry.timestamp
    | .entry = $entry
  end;
  .entry | select(. != null))

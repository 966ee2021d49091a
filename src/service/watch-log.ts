// Structured log of the watch reconciler: one line per event and action, with an ISO 8601
// timestamp. JSON lines for log collectors, or `TIME LEVEL EVENT [INTERFACE] key=value ...`
// for people. Under systemd both go to the journal through stdout.

export type LogLevel = 'info' | 'warn' | 'error';

/** One log record; `event` is a short kebab-case name such as `link` or `apply`. */
export interface LogRecord {
  level: LogLevel;
  event: string;
  /** Interface the record is about, when there is one. */
  interface?: string;
  [field: string]: unknown;
}

/** Receives the records of a watcher. */
export type WatchLogger = (record: LogRecord) => void;

/** Options of streamLogger. */
export interface StreamLoggerOptions {
  /** JSON lines (true) or readable lines (false). */
  json: boolean;
  /** Destination of the lines; process.stdout unless set. */
  stream?: NodeJS.WritableStream;
  /** Clock, for tests; Date.now unless set. */
  now?: () => number;
}

/** Returns a logger that writes each record as one line. */
export function streamLogger(options: StreamLoggerOptions): WatchLogger {
  const stream = options.stream ?? process.stdout;
  const now = options.now ?? Date.now;
  return (record) => {
    const time = new Date(now()).toISOString();
    stream.write(
      options.json
        ? `${JSON.stringify({ time, ...record }, jsonValue)}\n`
        : `${readableLine(time, record)}\n`,
    );
  };
}

/** `2025-01-31T12:00:00.000Z info apply veth0 changes=3 ms=2.1` */
export function readableLine(time: string, record: LogRecord): string {
  const { level, event, interface: iface, ...fields } = record;
  const parts = [time, level, event];
  if (iface !== undefined) parts.push(iface);
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    parts.push(`${key}=${readableValue(value)}`);
  }
  return parts.join(' ');
}

function readableValue(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(1);
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value, jsonValue);
}

// Keeps durations short in JSON: 3 decimals are microseconds.
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isInteger(value)) return Math.round(value * 1000) / 1000;
  if (value instanceof Error) return value.message;
  return value;
}

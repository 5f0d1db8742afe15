/**
 * Human logs on stderr, quiet by default. One line per event at debug level, prefixed the
 * way Miscord's own logs are: [ChatService], [VoiceService] on the client side; the
 * reference server uses [WS_CHAT], [VOICE_WS], [ConnectionManager].
 */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };
export const LOG_LEVELS = Object.keys(ORDER) as LogLevel[];

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  error(prefix: string, msg: string): void;
  warn(prefix: string, msg: string): void;
  info(prefix: string, msg: string): void;
  debug(prefix: string, msg: string): void;
}

export function createLogger(level: LogLevel = 'warn', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const on = (l: LogLevel) => ORDER[l] <= ORDER[level] && l !== 'silent';
  const out = (l: LogLevel, prefix: string, msg: string) => {
    if (on(l)) write(`${new Date().toISOString()} ${l.toUpperCase().padEnd(5)} ${prefix} ${msg}\n`);
  };
  return {
    level,
    enabled: on,
    error: (p, m) => out('error', p, m),
    warn: (p, m) => out('warn', p, m),
    info: (p, m) => out('info', p, m),
    debug: (p, m) => out('debug', p, m),
  };
}

export const silentLogger: Logger = createLogger('silent');

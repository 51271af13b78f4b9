/** The /metrics listener (Prometheus text format), on `metrics.listen` (default 127.0.0.1:9580). */
import http from 'node:http';
import type { Logger } from 'pino';
import { CgwdError } from '../errors.js';
import type { CgwdMetrics } from './metrics.js';

export class MetricsListenError extends CgwdError {
  constructor(listen: string, cause: NodeJS.ErrnoException) {
    const why =
      cause.code === 'EADDRINUSE'
        ? 'the port is in use (another cgwd instance? give each its own metrics.listen)'
        : cause.code === 'EADDRNOTAVAIL'
          ? 'this host has no such address'
          : cause.code === 'EACCES'
            ? 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)'
            : cause.message;
    super('METRICS_LISTEN', `cannot serve metrics on ${listen}: ${why}`, { cause });
  }
}

export class MetricsServer {
  readonly #server: http.Server;
  readonly address: { address: string; port: number };

  private constructor(server: http.Server, address: { address: string; port: number }) {
    this.#server = server;
    this.address = address;
  }

  /** `listen` is "address:port" as settings validated it ("[v6]:port" for IPv6). */
  static async start(listen: string, metrics: CgwdMetrics, logger: Logger): Promise<MetricsServer> {
    const colon = listen.lastIndexOf(':');
    const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const port = Number(listen.slice(colon + 1));
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
        res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(req.url === '/' ? 'cgwd: metrics at /metrics\n' : 'not found\n');
        return;
      }
      metrics.scrape().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(body);
        },
        (error: unknown) => {
          logger.error({ err: error instanceof Error ? error.message : String(error) }, 'metrics scrape failed');
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('scrape failed\n');
        },
      );
    });
    server.headersTimeout = 5_000;
    server.requestTimeout = 10_000;
    server.maxConnections = 32;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new MetricsListenError(listen, error)));
      server.listen(port, host, () => resolve());
    });
    const bound = server.address();
    const address = typeof bound === 'object' && bound ? { address: bound.address, port: bound.port } : { address: host, port };
    logger.info({ listen: `${address.address}:${address.port}` }, 'metrics listening');
    return new MetricsServer(server, address);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

// An HTTP proxy on loopback that holds every request for a fixed delay before passing it on: object storage's latency
// in front of a local s3rver, for perf/s3-cache.sh.
//   node perf/latency-proxy.js LISTEN_PORT TARGET_PORT DELAY_MS
'use strict';
const http = require('http');
const [listen, target, delay] = process.argv.slice(2).map(Number);
if (!listen || !target || !(delay >= 0)) {
  console.error('usage: node perf/latency-proxy.js LISTEN_PORT TARGET_PORT DELAY_MS');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
let requests = 0;
http.createServer((req, res) => {
  requests++;
  req.pause();
  setTimeout(() => {
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent }, r => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
    req.resume();
  }, delay);
}).listen(listen, '127.0.0.1', () => console.error(`latency proxy: 127.0.0.1:${listen} -> 127.0.0.1:${target}, +${delay} ms a request`));
process.on('SIGTERM', () => { console.error(`latency proxy: ${requests} requests`); process.exit(0); });

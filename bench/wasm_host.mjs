// Runs the filter's .wasm under Node's V8 with a simulated proxy-wasm host and
// measures what the module itself costs per request: wall time inside the
// module's exports, and the host calls it makes. Envoy's own work (proxying,
// buffering, the host side of each call) is kept out of these numbers as far
// as a JS host allows (a header map the module sets is stored as bytes and
// decoded only if read back); bench/run.py measures it by difference with
// bare Envoy.
//
//   node --no-liftoff bench/wasm_host.mjs CONFIG.json REQUEST.headers \
//        REQUEST.body RESPONSE.json FILTER.wasm [FILTER2.wasm ...]
//
// API_PATH=/v1/amazon-bedrock/responses drives the Responses API instead of chat
// completions (REQUEST.body is then a Responses request).
//
// API_PATH=/v1/amazon-bedrock/embeddings drives embeddings: REQUEST.body is an
// embeddings request, RESPONSE the answer of one InvokeModel call, and every
// call the module makes itself (proxy_http_call) is answered with it, in the
// order made, as Envoy delivers callout answers (proxy_on_http_call_response).
// The module's time per upstream call is reported beside the request's.
//
// With STREAM=1, RESPONSE is a ConverseStream answer (event-stream frames),
// the request asks for `stream: true`, and each frame reaches the module in
// its own response-body callback, as a slow stream does: the module's time
// per event (response-body callbacks only) is reported beside the request's.
//
// FLOOR=<floor_filter.wasm> adds bench/floor's module in its `mechanics` mode
// (the same host calls with none of the work; on a stream, each piece read
// and written back) to the modules measured: the host's share, which the
// other modules' times include.
//
// Several modules are measured interleaved, in batches (BATCH requests,
// ROUNDS rounds), so a noisy machine slows them alike; the per-request time
// of a module is the median of its batch means (and the fastest batch).
// Envoy's V8 compiles every wasm function with TurboFan (Liftoff off), hence
// --no-liftoff. Prints one `WASM_HOST {json}` line per module.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [configPath, headersPath, bodyPath, responsePath, ...wasmPaths] = process.argv.slice(2);
const BATCH = Number(process.env.BATCH || 500);
const ROUNDS = Number(process.env.ROUNDS || 40);
const enc = new TextEncoder();
const dec = new TextDecoder();

const pluginConfig = readFileSync(configPath);
const requestHeaders = readFileSync(headersPath, 'utf8').split('\n').filter((l) => l.includes(': '))
  .map((l) => { const i = l.indexOf(': '); return [l.slice(0, i).toLowerCase(), l.slice(i + 2)]; });
requestHeaders.unshift([':method', 'POST'], [':path', process.env.API_PATH || '/v1/amazon-bedrock/chat/completions'],
  [':authority', '127.0.0.1:8080'], [':scheme', 'http']);
const STREAM = process.env.STREAM === '1';
const EMBED = (process.env.API_PATH || '').endsWith('/embeddings');
const requestBody = STREAM
  ? Buffer.from(JSON.stringify({ ...JSON.parse(readFileSync(bodyPath, 'utf8')), stream: true }))
  : readFileSync(bodyPath);
const responseBody = readFileSync(responsePath);
const responseHeaders = STREAM
  ? [[':status', '200'], ['content-type', 'application/vnd.amazon.eventstream'],
    ['x-amzn-requestid', 'b0c5a2f2-6d2b-4e8e-9a51-3f1f3c1d2e4f']]
  : [[':status', '200'], ['content-type', 'application/json'],
    ['content-length', String(responseBody.length)], ['x-amzn-requestid', 'b0c5a2f2-6d2b-4e8e-9a51-3f1f3c1d2e4f']];
// The answer's event-stream frames (each starts with its total length, big-endian).
const frames = [];
if (STREAM) {
  for (let o = 0; o < responseBody.length;) {
    const n = responseBody.readUInt32BE(o);
    frames.push(responseBody.subarray(o, o + n));
    o += n;
  }
}

// An InvokeModel call's answer headers (embeddings): Cohere and Nova give the token count here.
const calloutHeaders = [[':status', '200'], ['content-type', 'application/json'],
  ['content-length', String(responseBody.length)], ['x-amzn-requestid', 'b0c5a2f2-6d2b-4e8e-9a51-3f1f3c1d2e4f'],
  ['x-amzn-bedrock-input-token-count', '7']];

// Map and buffer types of the proxy-wasm ABI.
const MAP = { 0: 'requestHeaders', 2: 'responseHeaders', 6: 'calloutHeaders' };
const BUF = { 0: 'requestBody', 1: 'responseBody', 4: 'calloutBody', 7: 'pluginConfiguration' };

let state; // the current request's host-side view
let calls = {};
let mem; // the memory and exports of the module being driven
let exp;

function count(name) { calls[name] = (calls[name] || 0) + 1; }
// A view of the module's memory, made again only when the memory grew (the
// host's own bookkeeping should cost as little as a native host's).
let memView = null;
function view() {
  if (!memView || memView.buffer !== mem.buffer) memView = new DataView(mem.buffer);
  return memView;
}
function bytes(ptr, len) { return new Uint8Array(mem.buffer, ptr, len); }
function str(ptr, len) { return dec.decode(bytes(ptr, len)); }
function put(data, retPtr, retLen) {
  const p = exp.proxy_on_memory_allocate(data.length);
  bytes(p, data.length).set(data);
  const v = view();
  v.setUint32(retPtr, p, true);
  v.setUint32(retLen, data.length, true);
}
function serializeMap(pairs) {
  const kv = pairs.map(([k, v]) => [enc.encode(k), enc.encode(v)]);
  let size = 4 + kv.length * 8;
  for (const [k, v] of kv) size += k.length + v.length + 2;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, kv.length, true);
  let o = 4;
  for (const [k, val] of kv) { v.setUint32(o, k.length, true); v.setUint32(o + 4, val.length, true); o += 8; }
  for (const [k, val] of kv) { out.set(k, o); o += k.length + 1; out.set(val, o); o += val.length + 1; }
  return out;
}
function parseMap(buf) {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const n = v.getUint32(0, true);
  const sizes = [];
  for (let i = 0; i < n; i++) sizes.push([v.getUint32(4 + i * 8, true), v.getUint32(8 + i * 8, true)]);
  let o = 4 + n * 8;
  const pairs = [];
  for (const [kl, vl] of sizes) {
    const k = dec.decode(buf.subarray(o, o + kl)); o += kl + 1;
    const val = dec.decode(buf.subarray(o, o + vl)); o += vl + 1;
    pairs.push([k, val]);
  }
  return pairs;
}

// The pairs of header map `type`, decoded from the bytes the module last set.
// Decoding is the host's work, not the module's: a set keeps only the bytes,
// so a module that sets a map and never reads it back pays no JS decoding.
function pairs(type) {
  const key = MAP[type];
  if (!state[key]) state[key] = parseMap(state.wire[key]);
  return state[key];
}

const OK = 0;
const NOT_FOUND = 1;
const env = {
  proxy_log: (level, p, l) => { count('proxy_log'); if (level >= 3) console.error('wasm log:', str(p, l)); return OK; },
  proxy_get_buffer_bytes: (type, start, max, retPtr, retLen) => {
    count('proxy_get_buffer_bytes');
    const b = state[BUF[type]];
    if (!b) return NOT_FOUND;
    put(b.subarray(start >>> 0, Math.min(b.length, (start >>> 0) + (max >>> 0))), retPtr, retLen);
    return OK;
  },
  proxy_set_buffer_bytes: (type, start, size, p, l) => {
    count('proxy_set_buffer_bytes');
    state[BUF[type]] = bytes(p, l).slice();
    return OK;
  },
  proxy_get_header_map_pairs: (type, retPtr, retLen) => {
    count('proxy_get_header_map_pairs');
    const key = MAP[type];
    if (!state.wire[key]) state.wire[key] = serializeMap(state[key]);
    put(state.wire[key], retPtr, retLen);
    return OK;
  },
  proxy_set_header_map_pairs: (type, p, l) => {
    // Kept as bytes; decoded only if a later call needs the pairs (see pairs()).
    count('proxy_set_header_map_pairs');
    state[MAP[type]] = null;
    state.wire[MAP[type]] = bytes(p, l).slice();
    return OK;
  },
  proxy_get_header_map_value: (type, kp, kl, retPtr, retLen) => {
    count('proxy_get_header_map_value');
    const k = str(kp, kl);
    const hit = pairs(type).find(([n]) => n === k);
    if (!hit) return NOT_FOUND;
    put(enc.encode(hit[1]), retPtr, retLen);
    return OK;
  },
  proxy_replace_header_map_value: (type, kp, kl, vp, vl) => {
    count('proxy_replace_header_map_value');
    const k = str(kp, kl);
    const m = pairs(type).filter(([n]) => n !== k);
    m.push([k, str(vp, vl)]);
    state[MAP[type]] = m;
    state.wire[MAP[type]] = null;
    return OK;
  },
  proxy_add_header_map_value: (type, kp, kl, vp, vl) => {
    count('proxy_add_header_map_value');
    const m = pairs(type);
    state.wire[MAP[type]] = null;
    m.push([str(kp, kl), str(vp, vl)]);
    return OK;
  },
  proxy_remove_header_map_value: (type, kp, kl) => {
    count('proxy_remove_header_map_value');
    const k = str(kp, kl);
    state[MAP[type]] = pairs(type).filter(([n]) => n !== k);
    state.wire[MAP[type]] = null;
    return OK;
  },
  proxy_get_current_time_nanoseconds: (retPtr) => {
    count('proxy_get_current_time_nanoseconds');
    view().setBigUint64(retPtr, BigInt(Date.now()) * 1000000n, true);
    return OK;
  },
  proxy_set_property: (p, l, vp, vl) => { count('proxy_set_property'); return OK; },
  proxy_get_property: () => { count('proxy_get_property'); return NOT_FOUND; },
  proxy_define_metric: (type, p, l, retId) => {
    count('proxy_define_metric');
    view().setUint32(retId, 1, true);
    return OK;
  },
  proxy_increment_metric: () => { count('proxy_increment_metric'); return OK; },
  proxy_record_metric: () => { count('proxy_record_metric'); return OK; },
  proxy_send_local_response: (status, dp, dl, bp, bl) => {
    count('proxy_send_local_response');
    state.localReply = status;
    state.localBody = bytes(bp, bl).slice();
    return OK;
  },
  proxy_http_call: (up, ul, hp, hl, bp, bl, tp, tl, timeout, retToken) => {
    count('proxy_http_call');
    const token = state.nextToken++;
    state.dispatched.push(token);
    view().setUint32(retToken, token, true);
    return OK;
  },
  proxy_get_shared_data: () => { count('proxy_get_shared_data'); return NOT_FOUND; },
  proxy_set_shared_data: () => { count('proxy_set_shared_data'); return OK; },
  proxy_set_effective_context: () => OK,
  proxy_get_status: () => NOT_FOUND,
};
const wasi = {
  clock_time_get: (id, precision, retPtr) => {
    view().setBigUint64(retPtr, BigInt(Date.now()) * 1000000n, true);
    return 0;
  },
  random_get: (p, l) => { bytes(p, l).fill(4); return 0; },
  environ_sizes_get: (c, s) => { const v = new DataView(mem.buffer); v.setUint32(c, 0, true); v.setUint32(s, 0, true); return 0; },
  environ_get: () => 0,
  fd_write: () => 0,
  proc_exit: (code) => { throw new Error(`proc_exit(${code})`); },
};

const requestWire = serializeMap(requestHeaders);
const responseWire = serializeMap(responseHeaders);
const calloutWire = serializeMap(calloutHeaders);
const ROOT = 1;

/** Instantiates and configures one filter module. */
function load(path, config = pluginConfig, floor = false) {
  const module = new WebAssembly.Module(readFileSync(path));
  const imports = { env: {}, wasi_snapshot_preview1: {} };
  for (const imp of WebAssembly.Module.imports(module)) {
    const table = imp.module === 'env' ? env : wasi;
    imports[imp.module][imp.name] = table[imp.name] || (() => { throw new Error(`unexpected host call ${imp.name}`); });
  }
  const instance = new WebAssembly.Instance(module, imports);
  const vm = { path, exp: instance.exports, mem: instance.exports.memory, nextId: 2, batches: [], calls: {},
    eventBatches: [], eventTime: 0 };
  use(vm);
  vm.floor = floor;
  state = { pluginConfiguration: config, wire: {} };
  exp._initialize();
  exp.proxy_on_context_create(ROOT, 0);
  if (!exp.proxy_on_vm_start(ROOT, 0)) throw new Error(`${path}: vm start refused`);
  if (!exp.proxy_on_configure(ROOT, config.length)) throw new Error(`${path}: configure refused`);
  return vm;
}

function use(vm) { exp = vm.exp; mem = vm.mem; }

// One request as Envoy drives it for a non-streaming chat completion (or,
// with STREAM, a streamed one whose frames arrive one per callback; their
// time is added to vm.eventTime and what the client gets to state.sse).
function oneRequest(vm) {
  const id = vm.nextId++;
  state = { requestHeaders: requestHeaders.slice(), responseHeaders: responseHeaders.slice(), requestBody, responseBody,
    wire: { requestHeaders: requestWire, responseHeaders: responseWire, calloutHeaders: calloutWire },
    dispatched: [], nextToken: 1, upstreamCalls: 0, calloutHeaders, calloutBody: responseBody };
  exp.proxy_on_context_create(id, ROOT);
  exp.proxy_on_request_headers(id, state.requestHeaders.length, 0);
  exp.proxy_on_request_body(id, requestBody.length, 1);
  if (EMBED) {
    // Each call answered in the order made; an answer may make the next call.
    while (state.dispatched.length) {
      const token = state.dispatched.shift();
      state.upstreamCalls++;
      exp.proxy_on_http_call_response(ROOT, token, calloutHeaders.length, responseBody.length, 0);
    }
  } else {
    exp.proxy_on_response_headers(id, state.responseHeaders.length, 0);
  }
  if (EMBED) {
    state.responseBody = state.localBody || Buffer.alloc(0);
  } else if (STREAM) {
    const out = [];
    const t0 = performance.now();
    for (const f of frames) {
      state.responseBody = f;
      exp.proxy_on_response_body(id, f.length, 0);
      out.push(state.responseBody);
    }
    state.responseBody = Buffer.alloc(0);
    exp.proxy_on_response_body(id, 0, 1);
    vm.eventTime += performance.now() - t0;
    out.push(state.responseBody);
    state.sse = Buffer.concat(out.map((b) => Buffer.from(b)));
  } else {
    exp.proxy_on_response_body(id, state.responseBody.length, 1);
  }
  exp.proxy_on_log(id);
  exp.proxy_on_done(id);
  exp.proxy_on_delete(id);
  return state;
}

const vms = wasmPaths.map((p) => load(p));
if (process.env.FLOOR) vms.push(load(process.env.FLOOR, Buffer.from('mechanics'), true));
for (const vm of vms) {
  use(vm);
  const first = oneRequest(vm);
  const answer = dec.decode(STREAM ? first.sse : first.responseBody);
  const responses = (process.env.API_PATH || '').endsWith('/responses');
  const wanted = EMBED ? '"object":"list"' : responses ? (STREAM ? '"response.completed"' : '"object":"response"')
    : (STREAM ? '"chat.completion.chunk"' : '"chat.completion"');
  const ended = responses ? answer.includes('"response.completed"') : answer.endsWith('data: [DONE]\n\n');
  const refused = EMBED ? first.localReply !== 200 : first.localReply;
  if (!vm.floor && (refused || !answer.includes(wanted) || (STREAM && !ended))) {
    throw new Error(`${vm.path} did not answer a ${wanted}: ${first.localReply} ${answer.slice(0, 300)}`);
  }
  if (EMBED) {
    const inputs = [].concat(JSON.parse(requestBody).input).length;
    const data = JSON.parse(answer).data;
    if (data.length !== inputs || data.some((d, i) => d.index !== i)) {
      throw new Error(`${vm.path}: ${data.length} embeddings for ${inputs} inputs, or out of order`);
    }
    vm.upstreamCalls = first.upstreamCalls;
  }
  state = first;
  vm.upstreamPath = pairs(0).find(([k]) => k === ':path')?.[1];
  for (let i = 0; i < 3000; i++) oneRequest(vm); // tier up and settle
}
for (let r = 0; r < ROUNDS; r++) {
  for (const vm of vms) {
    use(vm);
    calls = vm.calls;
    vm.eventTime = 0;
    const t0 = performance.now();
    for (let i = 0; i < BATCH; i++) oneRequest(vm);
    vm.batches.push(((performance.now() - t0) * 1000) / BATCH);
    if (STREAM) vm.eventBatches.push((vm.eventTime * 1000) / (BATCH * frames.length));
  }
}
const round1 = (x) => Math.round(x * 10) / 10;
for (const vm of vms) {
  const b = vm.batches.slice().sort((x, y) => x - y);
  const n = ROUNDS * BATCH;
  const perRequest = Object.fromEntries(Object.entries(vm.calls).map(([k, v]) => [k, v / n]));
  console.log('WASM_HOST ' + JSON.stringify({
    wasm: vm.path, requests: n, median_us: round1(b[Math.floor(b.length / 2)]), min_us: round1(b[0]),
    host_calls: Object.values(perRequest).reduce((x, y) => x + y, 0), calls: perRequest,
    memory_bytes: vm.mem.buffer.byteLength, upstream_path: vm.upstreamPath,
    ...(EMBED ? { upstream_calls: vm.upstreamCalls,
      per_call_median_us: Math.round((b[Math.floor(b.length / 2)] / vm.upstreamCalls) * 100) / 100,
      per_call_min_us: Math.round((b[0] / vm.upstreamCalls) * 100) / 100 } : {}),
    ...(STREAM ? (() => {
      const e = vm.eventBatches.slice().sort((x, y) => x - y);
      return { events: frames.length, per_event_median_us: Math.round(e[Math.floor(e.length / 2)] * 100) / 100,
        per_event_min_us: Math.round(e[0] * 100) / 100 };
    })() : {}),
  }));
}

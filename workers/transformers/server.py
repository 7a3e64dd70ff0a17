"""TokenForge's Hugging Face Transformers worker: the worker protocol (shared/PROTOCOL.md, the OpenAI
API as vLLM serves it) in front of a PyTorch model, with the standard library's HTTP server.

    python3 workers/transformers/server.py --model synthetic:tiny --host 127.0.0.1 --port 8000

Concurrency: HTTP requests are served on threads; generation runs on ONE thread that takes
requests from a FIFO queue and generates them one at a time (no batching). One request runs and
at most --max-waiting wait (or --max-concurrency in all, when given); more are refused with 429
and Retry-After before their body is read or tokenized. Prompts over --max-prompt-bytes get 413
before tokenizing; a chat request without max_tokens gets --default-max-tokens (cut to what is
left of the context), a completion 16.
"""

import argparse
import json
import math
import os
import queue
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 4 * 1024 * 1024
HOLD_TOKENS = 5  # prompt tokens kept as context when detokenising incrementally (as vLLM does)

# Bucket bounds from src/telemetry/catalogue.ts (BUCKETS).
BUCKETS = {
    "ttft": [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40,
             80],
    "itl": [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3,
            0.4, 0.5, 0.75, 1, 2.5],
    "e2e": [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240],
    "tokens": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000],
}


class ApiError(Exception):
    TYPES = {400: "invalid_request_error", 404: "not_found_error", 413: "invalid_request_error",
             429: "rate_limit_error", 503: "service_unavailable_error"}

    def __init__(self, status, message, param=None, code=None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self):
        return {"error": {"message": self.message, "type": self.TYPES.get(self.status, "server_error"),
                          "param": self.param, "code": self.code}}


# ---------------------------------------------------------------- metrics (Prometheus text)

class Histogram:
    def __init__(self, bounds):
        self.bounds, self.counts, self.sum, self.count = bounds, [0] * len(bounds), 0.0, 0

    def observe(self, v):
        for i, b in enumerate(self.bounds):
            if v <= b:
                self.counts[i] += 1
        self.sum += v
        self.count += 1


class Metrics:
    SERIES = [  # name, type, help, histogram buckets
        ("tokenforge:request_success_total", "counter", "Generation requests that finished, by finish reason.", None),
        ("tokenforge:prompt_tokens_total", "counter", "Prompt tokens processed.", None),
        ("tokenforge:generation_tokens_total", "counter", "Tokens generated.", None),
        ("tokenforge:time_to_first_token_seconds", "histogram", "Seconds from arrival to first token.", "ttft"),
        ("tokenforge:inter_token_latency_seconds", "histogram", "Seconds between consecutive tokens.", "itl"),
        ("tokenforge:e2e_request_latency_seconds", "histogram", "Seconds from arrival to last token.", "e2e"),
        ("tokenforge:request_queue_time_seconds", "histogram", "Seconds waiting before generation.", "ttft"),
        ("tokenforge:request_prompt_tokens", "histogram", "Prompt tokens per finished request.", "tokens"),
        ("tokenforge:request_generation_tokens", "histogram", "Tokens generated per request.", "tokens"),
        ("tokenforge:num_requests_running", "gauge", "Requests generating now.", None),
        ("tokenforge:num_requests_waiting", "gauge", "Requests queued for generation.", None),
        ("tokenforge:requests_refused_total", "counter", "Generation requests refused before generating, by reason.",
         None),
    ]

    def __init__(self, model_name):
        self.lock = threading.Lock()
        self.model = model_name
        self.values = {}  # (name, extra label items) → number or Histogram
        self.running = 0
        self.waiting = 0

    @staticmethod
    def _escape(v):
        return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    def inc(self, name, by=1, **labels):
        with self.lock:
            key = (name, tuple(sorted(labels.items())))
            self.values[key] = self.values.get(key, 0) + by

    def observe(self, name, value):
        kind = next(s[3] for s in self.SERIES if s[0] == name)
        with self.lock:
            key = (name, ())
            if key not in self.values:
                self.values[key] = Histogram(BUCKETS[kind])
            self.values[key].observe(value)

    def render(self):
        lines = []
        with self.lock:
            for name, typ, help_, _ in self.SERIES:
                lines.append(f"# HELP {name} {help_}")
                lines.append(f"# TYPE {name} {typ}")
                base = f'model_name="{self._escape(self.model)}"'
                if typ == "gauge":
                    v = self.running if name.endswith("running") else self.waiting
                    lines.append(f"{name}{{{base}}} {v}")
                    continue
                entries = [(k, v) for k, v in self.values.items() if k[0] == name]
                if not entries and typ == "counter" and name not in (
                        "tokenforge:request_success_total", "tokenforge:requests_refused_total"):
                    lines.append(f"{name}{{{base}}} 0")
                for (_, extra), v in sorted(entries, key=lambda e: e[0][1]):
                    labels = base + "".join(f',{k}="{self._escape(x)}"' for k, x in extra)
                    if isinstance(v, Histogram):
                        for b, c in zip(v.bounds, v.counts):
                            lines.append(f'{name}_bucket{{{labels},le="{float(b)}"}} {c}')
                        lines.append(f'{name}_bucket{{{labels},le="+Inf"}} {v.count}')
                        lines.append(f"{name}_sum{{{labels}}} {v.sum}")
                        lines.append(f"{name}_count{{{labels}}} {v.count}")
                    else:
                        lines.append(f"{name}{{{labels}}} {v}")
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- request validation

def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def message_text(content, param):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, p in enumerate(content):
            if not isinstance(p, dict) or p.get("type") != "text" or not isinstance(p.get("text"), str):
                raise ApiError(400, "only text content parts are supported", f"{param}[{i}]")
            parts.append(p["text"])
        return "".join(parts)
    if content is None:
        return ""
    raise ApiError(400, "content must be a string or a list of text parts", param)


def parse_messages(messages):
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty array", "messages")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ApiError(400, "each message needs a string role", f"messages[{i}].role")
        out.append({"role": m["role"], "content": message_text(m.get("content"), f"messages[{i}].content")})
    return out


class Job:
    def __init__(self, endpoint, prompt_ids, body, model_len, default_max_tokens=1024):
        self.endpoint = endpoint
        self.prompt_ids = prompt_ids
        self.arrived = time.monotonic()
        self.events = queue.Queue()  # ("text", str, n) | ("finish", reason, usage) | ("error", msg)
        self.cancelled = threading.Event()

        max_tokens = body.get("max_tokens")
        param = "max_tokens"
        if max_tokens is None and endpoint == "chat" and body.get("max_completion_tokens") is not None:
            max_tokens, param = body["max_completion_tokens"], "max_completion_tokens"
        room = model_len - len(prompt_ids)
        if room <= 0:
            raise ApiError(400, f"the prompt has {len(prompt_ids)} tokens; the context holds {model_len}",
                           "messages" if endpoint == "chat" else "prompt", "context_length_exceeded")
        if max_tokens is None:
            # A default never reaches past the context: it is cut to what is left there.
            max_tokens = min(16 if endpoint == "completions" else default_max_tokens, room)
        if not _is_int(max_tokens) or max_tokens < 1:
            raise ApiError(400, f"{param} must be an integer >= 1", param)
        if max_tokens > room:
            raise ApiError(400, f"{param} ({max_tokens}) + prompt ({len(prompt_ids)} tokens) exceeds the "
                           f"context length {model_len}", param, "context_length_exceeded")
        self.max_tokens = max_tokens

        t = body.get("temperature", 1.0)
        if t is None:
            t = 1.0
        if not _is_num(t) or t < 0 or t > 2:
            raise ApiError(400, "temperature must be a number from 0 to 2", "temperature")
        self.temperature = float(t)
        p = body.get("top_p", 1.0)
        if p is None:
            p = 1.0
        if not _is_num(p) or p <= 0 or p > 1:
            raise ApiError(400, "top_p must be a number in (0, 1]", "top_p")
        self.top_p = float(p)
        seed = body.get("seed")
        if seed is not None and not _is_int(seed):
            raise ApiError(400, "seed must be an integer", "seed")
        self.seed = seed
        stop = body.get("stop")
        if stop is None:
            stop = []
        elif isinstance(stop, str):
            stop = [stop]
        if not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) and s for s in stop):
            raise ApiError(400, "stop must be a non-empty string or an array of up to 4", "stop")
        self.stop = stop
        ignore_eos = body.get("ignore_eos", False)
        if not isinstance(ignore_eos, bool):
            raise ApiError(400, "ignore_eos must be a boolean", "ignore_eos")
        self.ignore_eos = ignore_eos
        n = body.get("n", 1)
        if n != 1:
            raise ApiError(400, "only n = 1 is supported", "n")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise ApiError(400, "stream must be a boolean", "stream")
        self.stream = stream
        so = body.get("stream_options")
        if so is not None and not isinstance(so, dict):
            raise ApiError(400, "stream_options must be an object", "stream_options")
        self.include_usage = bool(so and so.get("include_usage"))


# ---------------------------------------------------------------- the generation thread

class Generator:
    """Generates queued jobs one at a time, in arrival order."""

    def __init__(self, model, metrics):
        self.model, self.metrics = model, metrics
        self.jobs = queue.Queue()
        threading.Thread(target=self._loop, name="generation", daemon=True).start()

    def submit(self, job):
        with self.metrics.lock:
            self.metrics.waiting += 1
        self.jobs.put(job)

    def _loop(self):
        while True:
            job = self.jobs.get()
            with self.metrics.lock:
                self.metrics.waiting -= 1
                self.metrics.running += 1
            try:
                self._run(job)
            except Exception as e:  # noqa: BLE001 - a failed request must not stop the thread
                traceback.print_exc()
                job.events.put(("error", f"generation failed: {e}"))
            finally:
                with self.metrics.lock:
                    self.metrics.running -= 1

    def _run(self, job):
        m, metrics = self.model, self.metrics
        if job.cancelled.is_set():
            return
        metrics.observe("tokenforge:request_queue_time_seconds", time.monotonic() - job.arrived)
        state = m.start(job.prompt_ids, job.seed)
        ban = m.eos_ids if job.ignore_eos else []
        eos = set(m.eos_ids)
        # Incremental detokenisation over a window (vLLM's prefix/read offsets).
        ids = list(job.prompt_ids[-HOLD_TOKENS:])
        prefix, read = 0, len(ids)
        text, sent = "", 0  # all text decoded so far; how much of it went out
        longest_stop = max((len(s) for s in job.stop), default=0)
        generated, reason, last, hit_stop = 0, "length", None, False

        def emit(upto, n):
            nonlocal sent, last
            now = time.monotonic()
            if last is None:
                metrics.observe("tokenforge:time_to_first_token_seconds", now - job.arrived)
            else:
                metrics.observe("tokenforge:inter_token_latency_seconds", now - last)
            last = now
            job.events.put(("text", text[sent:upto], n))
            sent = upto

        while generated < job.max_tokens:
            if job.cancelled.is_set():
                reason = "abort"
                break
            token = m.step(state, job.temperature, job.top_p, ban)
            generated += 1
            if token in eos and not job.ignore_eos:
                reason = "stop"
                break
            ids.append(token)
            before = m.decode(ids[prefix:read])
            after = m.decode(ids[prefix:])
            if len(after) > len(before) and not after.endswith("\ufffd"):
                text += after[len(before):]
                prefix, read = read, len(ids)
            if job.stop:
                hit = min((i for i in (text.find(s, max(0, sent - longest_stop)) for s in job.stop) if i >= 0),
                          default=-1)
                if hit >= 0:
                    text = text[:hit]
                    reason, hit_stop = "stop", True
                    break
                # Hold back a tail that could still grow into a stop string.
                safe = len(text)
                for s in job.stop:
                    for k in range(min(len(s) - 1, len(text)), 0, -1):
                        if text.endswith(s[:k]):
                            safe = min(safe, len(text) - k)
                            break
            else:
                safe = len(text)
            emit(max(safe, sent), 1)
        if not hit_stop:  # flush what the window still holds (an incomplete character)
            text += m.decode(ids[prefix:])[len(m.decode(ids[prefix:read])):]
        if len(text) > sent:
            emit(len(text), 0)
        usage = {"prompt_tokens": len(job.prompt_ids), "completion_tokens": generated,
                 "total_tokens": len(job.prompt_ids) + generated}
        metrics.observe("tokenforge:e2e_request_latency_seconds", time.monotonic() - job.arrived)
        metrics.inc("tokenforge:request_success_total", finished_reason=reason)
        metrics.inc("tokenforge:prompt_tokens_total", usage["prompt_tokens"])
        metrics.inc("tokenforge:generation_tokens_total", generated)
        metrics.observe("tokenforge:request_prompt_tokens", usage["prompt_tokens"])
        metrics.observe("tokenforge:request_generation_tokens", generated)
        job.events.put(("finish", reason, usage))


# ---------------------------------------------------------------- HTTP

class State:
    def __init__(self, args):
        self.args = args
        self.model_name = args.served_model_name or args.model
        self.status = "loading"
        self.error = None
        self.model = None
        self.generator = None
        self.metrics = Metrics(self.model_name)
        self.started = time.time()
        self.since = time.time()
        self.admit_lock = threading.Lock()
        self.admitted = 0

    def ready_model(self):
        if self.status == "loading":
            raise ApiError(503, "the model is loading", None, "model_loading")
        if self.status != "ready":
            raise ApiError(503, f"the model failed to load: {self.error}", None, "model_failed")
        return self.model


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tokenforge-transformers"
    state: State = None  # set by main

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.state.args.log_requests:
            super().log_message(fmt, *args)

    # ---- writing ----
    def _send(self, status, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, e):
        headers = {"Retry-After": "1"} if e.status in (429, 503) else None
        self._send(e.status, e.body(), headers=headers)

    def _chunk(self, data):
        """One SSE event as one HTTP chunk, flushed at once."""
        payload = b"data: " + (data if isinstance(data, bytes) else json.dumps(data).encode()) + b"\n\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()

    def _read_json(self):
        self._unread_body = False
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "bad Content-Length", "body") from None
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise ApiError(400, "send the body with a Content-Length", "body")
        if length > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, f"the body is over {MAX_BODY} bytes", "body")
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "the body is not valid JSON", "body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object", "body")
        return body

    # ---- routing ----
    def do_GET(self):
        path = self.path.split("?")[0]
        try:
            if path == "/health":
                self._health()
            elif path == "/v1/models":
                self.state.ready_model()
                self._send(200, {"object": "list", "data": [{
                    "id": self.state.model_name, "object": "model", "created": int(self.state.started),
                    "owned_by": "tokenforge", "max_model_len": self.state.model.max_model_len}]})
            elif path == "/metrics":
                self._send(200, self.state.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
            else:
                raise ApiError(404, f"no route GET {path}", None, "not_found")
        except ApiError as e:
            self._error(e)

    def _discard_unread_body(self):
        """After a refusal sent before the body was read: read it off and drop it, so the connection
        stays usable (closing with it unread could reset it and lose the answer); too large, close."""
        if not getattr(self, "_unread_body", False):
            return
        self._unread_body = False
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if 0 <= length <= MAX_BODY and self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            self.rfile.read(length)
        else:
            self.close_connection = True

    def do_POST(self):
        path = self.path.split("?")[0]
        try:
            if path not in ("/v1/completions", "/v1/chat/completions", "/tokenize"):
                self.close_connection = True  # the body is left unread
                raise ApiError(404, f"no route POST {path}", None, "not_found")
            if path == "/tokenize":
                body = self._read_json()
                self._tokenize(self.state.ready_model(), body)
                return
            self._unread_body = True  # until _read_json reads it
            model = self.state.ready_model()
            self._admit()
            try:
                body = self._read_json()
                self._generate(model, "chat" if "chat" in path else "completions", body)
            finally:
                with self.state.admit_lock:
                    self.state.admitted -= 1
        except ApiError as e:
            self._error(e)
            self._discard_unread_body()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _health(self):
        s = self.state
        if s.status == "loading":
            self._send(503, {"status": "loading", "since": s.since}, headers={"Retry-After": "1"})
        elif s.status == "failed":
            self._send(503, {"status": "failed", "error": s.error})
        else:
            m = s.model
            self._send(200, {"status": "ready", "engine": m.engine, "torch": m.torch_version,
                             "device": str(m.device), "device_name": m.device_name, "dtype": m.dtype_name,
                             "model": s.model_name, "context_length": m.max_model_len,
                             "threads": m.threads, "parallel": 1, "batching": "none (FIFO queue)",
                             "running": s.metrics.running, "waiting": s.metrics.waiting,
                             "max_concurrency": s.args.max_concurrency,
                             "limits": {"max_num_seqs": 1, "max_waiting": s.args.max_concurrency - 1,
                                        "max_queue_ms": None, "max_prompt_bytes": s.args.max_prompt_bytes,
                                        "default_max_tokens": {"chat": s.args.default_max_tokens,
                                                               "completions": 16}},
                             "memory": m.memory(),
                             "load_seconds": round(m.load_seconds, 3)})

    def _check_model(self, body):
        name = body.get("model")
        if name is not None and name != self.state.model_name:
            raise ApiError(404, f"the model `{name}` does not exist; this worker serves "
                           f"`{self.state.model_name}`", "model", "model_not_found")

    def _tokenize(self, model, body):
        if "content" in body and "prompt" not in body and "messages" not in body:  # llama.cpp's shape
            if not isinstance(body["content"], str):
                raise ApiError(400, "content must be a string", "content")
            self._check_prompt_bytes([body["content"]], "content")
            self._send(200, {"tokens": model.encode(body["content"])})
            return
        self._check_model(body)
        if "messages" in body:
            agp = body.get("add_generation_prompt", True)
            if not isinstance(agp, bool):
                raise ApiError(400, "add_generation_prompt must be a boolean", "add_generation_prompt")
            messages = parse_messages(body["messages"])
            self._check_prompt_bytes([m["content"] for m in messages], "messages")
            tokens = model.encode_chat(messages, agp)
        else:
            if not isinstance(body.get("prompt"), str):
                raise ApiError(400, "prompt must be a string", "prompt")
            ast = body.get("add_special_tokens", True)
            if not isinstance(ast, bool):
                raise ApiError(400, "add_special_tokens must be a boolean", "add_special_tokens")
            self._check_prompt_bytes([body["prompt"]], "prompt")
            tokens = model.encode(body["prompt"], ast)
        self._send(200, {"count": len(tokens), "max_model_len": model.max_model_len, "tokens": tokens})

    def _prompt_ids(self, model, endpoint, body):
        if endpoint == "chat":
            messages = parse_messages(body.get("messages"))
            self._check_prompt_bytes([m["content"] for m in messages], "messages")
            return model.encode_chat(messages)
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if isinstance(prompt, str):
            self._check_prompt_bytes([prompt], "prompt")
            return model.encode(prompt)
        if isinstance(prompt, list) and prompt and all(_is_int(t) for t in prompt):
            if any(t < 0 or t >= model.vocab_size for t in prompt):
                raise ApiError(400, f"token ids must be in [0, {model.vocab_size})", "prompt")
            return list(prompt)
        raise ApiError(400, "prompt must be a string, a one-element array of strings, or token ids",
                       "prompt")

    def _admit(self):
        """Admits the request or refuses it with 429 before its body is read (then left unread)."""
        s = self.state
        with s.admit_lock:
            if s.admitted < s.args.max_concurrency:
                s.admitted += 1
                return
        s.metrics.inc("tokenforge:requests_refused_total", reason="queue_full")
        # The body stays unread and unparsed; do_POST discards it after the answer.
        raise ApiError(429, f"over capacity: one request running and {s.args.max_concurrency - 1} waiting "
                       "(--max-waiting); retry later", None, "over_capacity")

    def _check_prompt_bytes(self, texts, param):
        """413 past --max-prompt-bytes, on the raw UTF-8 size, before anything is tokenized."""
        limit = self.state.args.max_prompt_bytes
        size = sum(len(t.encode("utf-8")) for t in texts)
        if size > limit:
            raise ApiError(413, f"{param} is {size} bytes; this worker takes prompts of at most {limit} bytes "
                           "(--max-prompt-bytes)", param, "payload_too_large")

    def _generate(self, model, endpoint, body):
        self._check_model(body)
        try:
            prompt_ids = self._prompt_ids(model, endpoint, body)
        except ApiError as e:
            if e.status == 413:
                self.state.metrics.inc("tokenforge:requests_refused_total", reason="prompt_too_large")
            raise
        job = Job(endpoint, prompt_ids, body, model.max_model_len, self.state.args.default_max_tokens)
        s = self.state
        try:
            s.generator.submit(job)
            rid = ("chatcmpl-" if endpoint == "chat" else "cmpl-") + uuid.uuid4().hex
            created = int(time.time())
            obj = "chat.completion" if endpoint == "chat" else "text_completion"
            if job.stream:
                self._stream(job, rid, created, obj + (".chunk" if endpoint == "chat" else ""))
            else:
                self._whole(job, rid, created, obj)
        finally:
            job.cancelled.set()  # stops the generation if the client left early

    def _choice(self, endpoint, text, reason, stream, role=False):
        if endpoint == "completions":
            return {"index": 0, "text": text, "logprobs": None, "finish_reason": reason}
        if not stream:
            return {"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                    "finish_reason": reason}
        delta = {"role": "assistant", "content": ""} if role else ({"content": text} if text else {})
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}

    def _whole(self, job, rid, created, obj):
        parts = []
        while True:
            ev = job.events.get()
            if ev[0] == "text":
                parts.append(ev[1])
            elif ev[0] == "error":
                self._send(500, {"error": {"message": ev[1], "type": "server_error", "param": None,
                                           "code": "engine_error"}})
                return
            else:
                _, reason, usage = ev
                self._send(200, {"id": rid, "object": obj, "created": created, "model": self.state.model_name,
                                 "choices": [self._choice(job.endpoint, "".join(parts), reason, False)],
                                 "usage": usage})
                return

    def _stream(self, job, rid, created, obj):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(choices, usage=None):
            c = {"id": rid, "object": obj, "created": created, "model": self.state.model_name,
                 "choices": choices}
            if usage is not None:
                c["usage"] = usage
            self._chunk(c)

        try:
            if job.endpoint == "chat":
                chunk([self._choice("chat", "", None, True, role=True)])
            while True:
                ev = job.events.get()
                if ev[0] == "text":
                    if ev[1]:
                        chunk([self._choice(job.endpoint, ev[1], None, True)])
                elif ev[0] == "error":
                    self._chunk({"error": {"message": ev[1], "type": "server_error", "param": None,
                                           "code": "engine_error"}})
                    break
                else:
                    _, reason, usage = ev
                    chunk([self._choice(job.endpoint, "", reason, True)])
                    if job.include_usage:
                        chunk([], usage)
                    break
            self._chunk(b"[DONE]")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="TokenForge's Hugging Face Transformers worker")
    p.add_argument("--model", required=True,
                   help="a Hugging Face id, a local directory, or synthetic:<preset>[?seed=N&ctx=N]")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--dtype", choices=["auto", "float16", "bfloat16", "float32"], default="auto")
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda or cuda:N")
    p.add_argument("--max-waiting", type=int, default=2,
                   help="requests queued behind the one generating; more get 429 (default 2)")
    p.add_argument("--max-concurrency", type=int, default=None,
                   help="requests admitted at once (running + queued); more get 429 (default: 1 + --max-waiting)")
    p.add_argument("--max-prompt-bytes", type=int, default=1024 * 1024,
                   help="prompts larger than this (UTF-8 bytes) get 413 before tokenizing (default 1 MiB)")
    p.add_argument("--default-max-tokens", type=int, default=1024,
                   help="max_tokens of a chat request that names none, cut to what is left of the context")
    p.add_argument("--tokenizer", default=None, help="tokenizer id or path (synthetic models: else bytes)")
    p.add_argument("--served-model-name", default=None, help="the name clients use (default: --model)")
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--log-requests", action="store_true")
    args = p.parse_args(argv)
    if args.max_waiting < 0:
        p.error("--max-waiting must be >= 0")
    if args.max_concurrency is None:
        args.max_concurrency = 1 + args.max_waiting
    if args.max_concurrency < 1:
        p.error("--max-concurrency must be >= 1")
    if args.max_prompt_bytes < 1:
        p.error("--max-prompt-bytes must be >= 1")
    if args.default_max_tokens < 1:
        p.error("--default-max-tokens must be >= 1")
    return args


def serve(args, load):
    """Listens at once (503 while loading), then loads the model with `load(args)`."""
    state = State(args)
    Handler.state = state
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True

    def loader():
        try:
            state.model = load(args)
            state.generator = Generator(state.model, state.metrics)
            state.status = "ready"
            print(f"ready: {args.model} on {state.model.device} ({state.model.dtype_name}), "
                  f"{state.model.engine}, loaded in {state.model.load_seconds:.1f}s", flush=True)
        except Exception as e:  # noqa: BLE001 - reported on /health
            traceback.print_exc()
            state.error = f"{type(e).__name__}: {e}"
            state.status = "failed"

    threading.Thread(target=loader, name="loader", daemon=True).start()
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv=None):
    args = parse_args(argv)
    import model  # noqa: E402 - imports torch; kept out of the HTTP layer

    serve(args, model.load)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()

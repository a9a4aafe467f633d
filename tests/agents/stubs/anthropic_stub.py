#!/usr/bin/env python3
"""Local stand-in for the Anthropic Messages API, used to drive Claude Code in tests.

Usage:
  anthropic_stub.py --port-file FILE --log FILE [--expect-key KEY]
                    [--file NAME] [--content TEXT]

Binds 127.0.0.1 on an ephemeral port and writes the port number to --port-file
(atomically, once listening).  Every request is appended to --log as one JSON
line: method, path (without the query string), query, headers (lower-case
names), body (parsed JSON or null), stream, model, status and usage (the token counts this response reported; 0/0
for anything that is not a model turn).

Scripted conversation for POST /v1/messages:
  * the request offers a file-writing tool and the latest user prompt has no
    tool_result after it -> a tool_use of that tool writing --file with
    --content (an absolute path under the working directory the CLI reports);
  * the latest prompt was already answered by a tool_result -> a final text;
  * anything else (title/summary/classifier requests)  -> a short text answer.
Usage numbers are deterministic (--no-usage leaves them out of every answer): the n-th model reply (1-based) reports
input_tokens = 1000 + 10*n and output_tokens = 40 + n.  In streamed replies
message_start carries input_tokens (and output_tokens 1, as the real API
does); message_delta carries the final cumulative output_tokens.
POST /v1/messages/count_tokens gets {"input_tokens": ...}, the unauthenticated
connectivity probe /api/hello gets 200 {}; other paths get a 404 error body.
With --expect-key, requests whose x-api-key (or "Authorization: Bearer") is not
exactly KEY get 401 with an Anthropic-format error body.
"""
import argparse
import json
import os
import re
import signal
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FINAL_TEXT = "Done: the file has been written."
AUX_TEXT = "Stub reply"
CWD_RE = re.compile(r"(?:Working directory|Primary working directory|cwd):\s*(\S+)")


def error_body(kind, message):
    return {"type": "error", "error": {"type": kind, "message": message}}


def text_of(value):
    """Flatten a system prompt / message content into plain text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(text_of(v) for v in value)
    if isinstance(value, dict):
        return text_of(value.get("text", "")) + text_of(value.get("content", ""))
    return ""


def turn_has_tool_result(messages):
    """True once the latest user prompt has been answered by a tool_result.

    Walks back over user messages: a tool_result means the tool already ran for
    the current prompt; a plain text block (other than a <system-reminder>)
    is the prompt itself, so the tool has not run yet.  A resumed conversation
    therefore starts a fresh tool round for its new prompt.
    """
    for msg in reversed(messages or []):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in reversed(blocks or []):
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                return True
            text = block.get("text", "") if block.get("type") == "text" else ""
            if text.strip() and not text.lstrip().startswith("<system-reminder>"):
                return False
    return False


def find_write_tool(tools):
    """Return (name, path_property) of the tool that creates a file from content."""
    for tool in tools or []:
        props = (tool.get("input_schema") or {}).get("properties") or {}
        if "content" not in props:
            continue
        for key in ("file_path", "path", "filename"):
            if key in props:
                return tool.get("name"), key
    return None, None


class Stub:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.turns = 0

    def next_usage(self):
        with self.lock:
            self.turns += 1
            n = self.turns
        return n, {"input_tokens": 1000 + 10 * n, "output_tokens": 40 + n}

    def log(self, entry):
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self.lock, open(self.args.log, "a", encoding="utf-8") as f:
            f.write(line)

    def target_path(self, body):
        if os.path.isabs(self.args.file):
            return self.args.file
        texts = [text_of(body.get("system"))]
        texts += [text_of(m.get("content")) for m in body.get("messages") or []]
        for text in texts:
            match = CWD_RE.search(text)
            if match:
                return os.path.join(match.group(1), self.args.file)
        return self.args.file

    def reply(self, body):
        """The assistant message answering a Messages request, and its usage."""
        n, usage = self.next_usage()
        # ids must be unique across stub runs: a resumed conversation keeps the
        # earlier ids, and the CLI treats a repeated message id as the same message.
        uid = "%s%04d" % (uuid.uuid4().hex[:16], n)
        if turn_has_tool_result(body.get("messages")):
            blocks, stop = [{"type": "text", "text": FINAL_TEXT}], "end_turn"
        else:
            name, path_key = find_write_tool(body.get("tools"))
            if name:
                tool_input = {path_key: self.target_path(body), "content": self.args.content}
                blocks = [{"type": "tool_use", "id": "toolu_" + uid, "name": name,
                           "input": tool_input}]
                stop = "tool_use"
            else:
                blocks, stop = [{"type": "text", "text": AUX_TEXT}], "end_turn"
        message = {"id": "msg_" + uid, "type": "message", "role": "assistant",
                   "model": str(body.get("model", "")), "content": blocks,
                   "stop_reason": stop, "stop_sequence": None,
                   "usage": dict(usage, cache_creation_input_tokens=0,
                                 cache_read_input_tokens=0)}
        if self.args.no_usage:
            del message["usage"]
            usage = {"input_tokens": 0, "output_tokens": 0}
        return message, usage


def sse(event, data):
    return "event: %s\ndata: %s\n\n" % (event, json.dumps(data))


def stream_body(message, usage):
    start = dict(message, content=[], stop_reason=None)
    if "usage" in message:
        start["usage"] = {"input_tokens": usage["input_tokens"], "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    out = [sse("message_start", {"type": "message_start", "message": start}),
           sse("ping", {"type": "ping"})]
    for i, block in enumerate(message["content"]):
        if block["type"] == "text":
            first, delta = {"type": "text", "text": ""}, {
                "type": "text_delta", "text": block["text"]}
        else:
            first = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        out.append(sse("content_block_start",
                       {"type": "content_block_start", "index": i, "content_block": first}))
        out.append(sse("content_block_delta",
                       {"type": "content_block_delta", "index": i, "delta": delta}))
        out.append(sse("content_block_stop", {"type": "content_block_stop", "index": i}))
    delta = {"type": "message_delta",
             "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None}}
    if "usage" in message:
        delta["usage"] = {"output_tokens": usage["output_tokens"]}
    out.append(sse("message_delta", delta))
    out.append(sse("message_stop", {"type": "message_stop"}))
    return "".join(out).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stub = None  # set in main()

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def send(self, status, payload, content_type=None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_stub")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers, then CRLF
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size + 2)[:size])  # data + CRLF
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        raw = self.read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        body_obj = body if isinstance(body, dict) else {}
        path, _, query = self.path.partition("?")
        stream = bool(body_obj.get("stream"))
        entry = {"method": self.command, "path": path, "query": query,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body, "stream": stream, "model": str(body_obj.get("model", "")),
                 "usage": {"input_tokens": 0, "output_tokens": 0}}
        status, payload, ctype = self.route(path, body_obj, stream, entry)
        entry["status"] = status
        self.stub.log(entry)
        self.send(status, payload, ctype)

    def route(self, path, body, stream, entry):
        if path == "/api/hello":  # unauthenticated connectivity probe
            return 200, {}, None
        expected = self.stub.args.expect_key
        if expected is not None:
            auth = self.headers.get("Authorization", "")
            key = self.headers.get("x-api-key") or (
                auth[7:] if auth.lower().startswith("bearer ") else None)
            if key != expected:
                return 401, error_body("authentication_error", "invalid x-api-key"), None
        if self.command == "POST" and path == "/v1/messages/count_tokens":
            return 200, {"input_tokens": 1000}, None
        if self.command != "POST" or path != "/v1/messages":
            return 404, error_body("not_found_error", "no route for %s %s"
                                   % (self.command, path)), None
        message, usage = self.stub.reply(body)
        entry["usage"] = usage
        if stream:
            return 200, stream_body(message, usage), "text/event-stream"
        return 200, message, None

    def do_POST(self):
        self.handle_any()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_POST


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--expect-key")
    parser.add_argument("--file", default="AGENT_NOTE.md")
    parser.add_argument("--content", default="written by the agent\n")
    parser.add_argument("--no-usage", action="store_true",
                        help="answer without any usage (a provider whose spend cannot be read)")
    args = parser.parse_args()

    Handler.stub = Stub(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()

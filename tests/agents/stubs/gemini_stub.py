#!/usr/bin/env python3
"""Minimal stand-in for the Gemini API (generativelanguage.googleapis.com).

Serves a scripted two-step conversation to the Gemini CLI: the first model
turn asks the CLI's own file-writing tool to create a file, the turn after the
tool result is a final text answer.  Auxiliary model calls (routing
classifier, next-speaker check, summaries, ...) get a small valid reply.
Every request is appended to the --log file as one JSON line, including the
token usage the response reported, so tests can compare it with what a
gateway recorded.
"""
import argparse
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# /v1beta/models/gemini-2.5-pro:streamGenerateContent (any v1* version).
MODEL_PATH = re.compile(r"^/v1[a-z0-9]*/(?:models|tunedModels)/([^/:]+):([A-Za-z]+)$")
LIST_PATH = re.compile(r"^/v1[a-z0-9]*/models(?:/([^/:]+))?$")
WRITE_TOOL_NAMES = ("write_file",)


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.count = 0

    def next_usage(self):
        with self.lock:
            self.count += 1
            n = self.count
        return {"input_tokens": 1000 + 10 * n, "output_tokens": 40 + n}

    def log(self, entry):
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self.lock:
            with open(self.args.log, "a", encoding="utf-8") as f:
                f.write(line)


def usage_metadata(usage):
    return {
        "promptTokenCount": usage["input_tokens"],
        "candidatesTokenCount": usage["output_tokens"],
        "totalTokenCount": usage["input_tokens"] + usage["output_tokens"],
    }


def find_write_tool(body):
    """Return (name, path_param, content_param) of the file-writing tool."""
    for tool in body.get("tools") or []:
        for decl in tool.get("functionDeclarations") or []:
            schema = decl.get("parametersJsonSchema") or decl.get("parameters") or {}
            props = schema.get("properties") or {}
            if decl.get("name") in WRITE_TOOL_NAMES or ("file_path" in props and "content" in props):
                path_param = "file_path" if "file_path" in props else "path"
                return decl.get("name"), path_param, "content"
    return None


def has_function_response(body):
    for content in body.get("contents") or []:
        for part in content.get("parts") or []:
            if "functionResponse" in part:
                return True
    return False


def sample_from_schema(schema):
    """Smallest value matching a JSON schema (first enum value wins)."""
    if not isinstance(schema, dict):
        return "ok"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: sample_from_schema(v) for k, v in props.items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return "ok"


def model_parts(body, args):
    """Decide what the scripted model says for this request."""
    tool = find_write_tool(body)
    if tool and not has_function_response(body):
        name, path_param, content_param = tool
        call = {"name": name, "args": {path_param: args.file, content_param: args.content}}
        return [{"functionCall": call}], "tool_call"
    if tool:
        return [{"text": "I created %s as requested." % args.file}], "final"
    gen = body.get("generationConfig") or {}
    schema = gen.get("responseJsonSchema") or gen.get("responseSchema")
    if schema or gen.get("responseMimeType") == "application/json":
        return [{"text": json.dumps(sample_from_schema(schema))}], "json"
    return [{"text": "ok"}], "text"


def response_object(parts, usage, model, finish=True):
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = "STOP"
    out = {"candidates": [candidate], "modelVersion": model, "responseId": "stub-response"}
    if usage is not None:
        out["usageMetadata"] = usage_metadata(usage)
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gemini-stub/1"

    def log_message(self, *_):
        pass

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, status, state, message):
        self.send_json(status, {"error": {"code": status, "message": message, "status": state}})

    def handle_any(self):
        state = self.server.state
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        entry = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "stream": False,
            "model": "",
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        try:
            self.dispatch(state, url.path, query, body, entry)
        finally:
            state.log(entry)

    def dispatch(self, state, path, query, body, entry):
        m = MODEL_PATH.match(path)
        if m:
            entry["model"] = m.group(1)
        expect = state.args.expect_key
        if expect is not None:
            key = self.headers.get("x-goog-api-key") or (query.get("key") or [None])[0]
            if not key:
                return self.send_error_json(401, "UNAUTHENTICATED", "Missing API key.")
            if key != expect:
                return self.send_error_json(403, "PERMISSION_DENIED", "API key not valid. Please pass a valid API key.")
        if m and self.command == "POST":
            model, method = m.group(1), m.group(2)
            body = body if isinstance(body, dict) else {}
            if method in ("generateContent", "streamGenerateContent"):
                usage = state.next_usage()
                entry["usage"] = usage
                parts, _ = model_parts(body, state.args)
                if method == "generateContent":
                    return self.send_json(200, response_object(parts, usage, model))
                entry["stream"] = True
                return self.send_stream(parts, usage, model)
            if method == "countTokens":
                return self.send_json(200, {"totalTokens": 100})
            if method == "embedContent":
                return self.send_json(200, {"embedding": {"values": [0.0] * 8}})
            if method == "batchEmbedContents":
                n = len(body.get("requests") or [])
                return self.send_json(200, {"embeddings": [{"values": [0.0] * 8}] * n})
        m = LIST_PATH.match(path)
        if m and self.command == "GET":
            model = m.group(1)
            if model:
                entry["model"] = model
                return self.send_json(200, {"name": "models/" + model, "inputTokenLimit": 1048576})
            return self.send_json(200, {"models": [{"name": "models/gemini-2.5-pro"}]})
        self.send_error_json(404, "NOT_FOUND", "No such endpoint: %s %s" % (self.command, path))

    def send_stream(self, parts, usage, model):
        # Text is split over two chunks; usage goes on the last chunk only.
        if len(parts) == 1 and "text" in parts[0] and len(parts[0]["text"]) > 1:
            text = parts[0]["text"]
            half = len(text) // 2
            chunks = [response_object([{"text": text[:half]}], None, model, finish=False),
                      response_object([{"text": text[half:]}], usage, model)]
        else:
            chunks = [response_object(parts, usage, model)]
        data = b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--expect-key")
    p.add_argument("--file", default="AGENT_NOTE.md")
    p.add_argument("--content", default="written by the agent\n")
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

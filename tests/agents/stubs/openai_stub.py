#!/usr/bin/env python3
"""Scripted stand-in for the OpenAI Responses API, used to drive the Codex CLI.

Usage:
  python3 openai_stub.py --port-file FILE --log FILE [--expect-key KEY]
                         [--file NAME] [--content TEXT]

Conversation on POST /v1/responses:
  * no tool output in "input" yet -> one tool call that creates --file with
    --content, using the first of these the request offers:
      - apply_patch (freeform custom tool, or a function taking {"input": patch});
      - "exec" (code mode, where apply_patch is reachable only from JavaScript):
        exec input `text(await tools.apply_patch("<patch>"))`;
      - exec_command (shell): printf '%s' CONTENT > FILE;
    otherwise a freeform apply_patch call. Files written through apply_patch
    always end with a newline.
  * tool output present -> a final assistant message.
Tools are looked up in "tools" and in the namespaces of an "additional_tools"
input item (the "responses lite" request shape).
Streaming requests ("stream": true) get Server-Sent Events in the Responses
streaming format, others a plain JSON response object. The n-th model call
reports usage input_tokens 1000 + 10*n, output_tokens 40 + n.
GET /v1/models answers with an empty list. Websocket upgrades are refused with
426 so the client falls back to HTTP. Any other request gets 404.
One JSON line per request is appended to --log.
"""

import argparse
import json
import os
import shlex
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNTER = {"model_calls": 0}


def error_body(message, err_type, code):
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


def patch_text(name, content):
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    body = "".join("+" + line + "\n" for line in lines)
    return "*** Begin Patch\n*** Add File: %s\n%s*** End Patch\n" % (name, body)


def has_tool_output(body):
    items = body.get("input") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return False
    return any(isinstance(i, dict) and i.get("type") in
               ("function_call_output", "custom_tool_call_output") for i in items)


def offered_tools(body):
    """Tools directly callable by the model, namespaces flattened."""
    tools = list(body.get("tools") or [])
    for item in body.get("input") or []:
        if isinstance(item, dict) and item.get("type") == "additional_tools":
            tools.extend(item.get("tools") or [])
    flat = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "namespace":
            flat.extend(t for t in tool.get("tools") or [] if isinstance(t, dict))
        elif isinstance(tool, dict):
            flat.append(tool)
    return flat


def find_tool(body, name):
    for tool in offered_tools(body):
        if tool.get("name") == name:
            return tool
    return None


def tool_call(n, kind, name, payload):
    """A function_call (JSON "arguments") or custom_tool_call (free-text "input")."""
    item = {"type": kind, "id": "%s_%d" % ("fc" if kind == "function_call" else "ctc", n),
            "call_id": "call_%d" % n, "name": name, "status": "completed"}
    item["arguments" if kind == "function_call" else "input"] = payload
    return item


def output_items(body, n):
    """Returns the output items of the n-th model call."""
    if has_tool_output(body):
        text = "Created %s." % ARGS.file
        return [{"type": "message", "id": "msg_%d" % n, "status": "completed",
                 "role": "assistant",
                 "content": [{"type": "output_text", "text": text, "annotations": []}]}]
    patch = patch_text(ARGS.file, ARGS.content)
    tool = find_tool(body, "apply_patch")
    if tool is not None and tool.get("type") == "function":
        return [tool_call(n, "function_call", "apply_patch", json.dumps({"input": patch}))]
    if tool is None and find_tool(body, "exec") is not None:
        # Code mode: the other tools are reachable only from the JavaScript "exec" tool.
        code = "text(await tools.apply_patch(%s));\n" % json.dumps(patch)
        return [tool_call(n, "custom_tool_call", "exec", code)]
    if tool is None and find_tool(body, "exec_command") is not None:
        cmd = "printf '%%s' %s > %s" % (shlex.quote(ARGS.content), shlex.quote(ARGS.file))
        return [tool_call(n, "function_call", "exec_command", json.dumps({"cmd": cmd}))]
    return [tool_call(n, "custom_tool_call", "apply_patch", patch)]


def response_object(n, model, status, output, usage):
    obj = {"id": "resp_%d" % n, "object": "response", "created_at": int(time.time()),
           "status": status, "model": model, "output": output, "error": None,
           "incomplete_details": None, "usage": None}
    if usage is not None:
        obj["usage"] = {"input_tokens": usage["input_tokens"],
                        "input_tokens_details": {"cached_tokens": 0},
                        "output_tokens": usage["output_tokens"],
                        "output_tokens_details": {"reasoning_tokens": 0},
                        "total_tokens": usage["input_tokens"] + usage["output_tokens"]}
    return obj


def stream_events(n, model, items, usage):
    """Yields (event type, payload) in Responses streaming order."""
    yield "response.created", {"response": response_object(n, model, "in_progress", [], None)}
    yield "response.in_progress", {"response": response_object(n, model, "in_progress", [], None)}
    for idx, item in enumerate(items):
        kind = item["type"]
        if kind == "message":
            text = item["content"][0]["text"]
            empty = dict(item, status="in_progress", content=[])
            part = {"type": "output_text", "text": "", "annotations": []}
            ids = {"item_id": item["id"], "output_index": idx, "content_index": 0}
            yield "response.output_item.added", {"output_index": idx, "item": empty}
            yield "response.content_part.added", dict(ids, part=part)
            yield "response.output_text.delta", dict(ids, delta=text)
            yield "response.output_text.done", dict(ids, text=text)
            yield "response.content_part.done", dict(ids, part=dict(part, text=text))
        elif kind == "function_call":
            ids = {"item_id": item["id"], "output_index": idx}
            yield "response.output_item.added", {
                "output_index": idx, "item": dict(item, status="in_progress", arguments="")}
            yield "response.function_call_arguments.delta", dict(ids, delta=item["arguments"])
            yield "response.function_call_arguments.done", dict(ids, arguments=item["arguments"])
        else:
            ids = {"item_id": item["id"], "output_index": idx}
            yield "response.output_item.added", {
                "output_index": idx, "item": dict(item, status="in_progress", input="")}
            yield "response.custom_tool_call_input.delta", dict(ids, delta=item["input"])
            yield "response.custom_tool_call_input.done", dict(ids, input=item["input"])
        yield "response.output_item.done", {"output_index": idx, "item": item}
    yield "response.completed", {"response": response_object(n, model, "completed", items, usage)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, body, stream, model, usage):
        entry = {"method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body, "stream": stream, "model": model, "usage": usage}
        with LOCK, open(ARGS.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def do_POST(self):
        body = self.read_body()
        zero = {"input_tokens": 0, "output_tokens": 0}
        path = self.path.split("?", 1)[0]
        auth = self.headers.get("Authorization", "")
        if ARGS.expect_key is not None and auth != "Bearer " + ARGS.expect_key:
            self.record(body, False, "", zero)
            self.send_json(401, error_body("Incorrect API key provided.",
                                           "invalid_request_error", "invalid_api_key"))
            return
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.record(body, False, "", zero)
            self.send_json(426, error_body("Websockets are not supported.",
                                           "invalid_request_error", "upgrade_required"))
            return
        if self.command == "GET" and path == "/v1/models":
            self.record(body, False, "", zero)
            self.send_json(200, {"object": "list", "data": [], "models": []})
            return
        if self.command != "POST" or path != "/v1/responses" or not isinstance(body, dict):
            self.record(body, False, "", zero)
            self.send_json(404, error_body("Unknown path %s" % path,
                                           "invalid_request_error", "not_found"))
            return
        with LOCK:
            COUNTER["model_calls"] += 1
            n = COUNTER["model_calls"]
        model = str(body.get("model", ""))
        stream = bool(body.get("stream"))
        usage = {"input_tokens": 1000 + 10 * n, "output_tokens": 40 + n}
        items = output_items(body, n)
        self.record(body, stream, model, usage)
        if not stream:
            self.send_json(200, response_object(n, model, "completed", items, usage))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for seq, (kind, payload) in enumerate(stream_events(n, model, items, usage)):
            payload = dict({"type": kind, "sequence_number": seq}, **payload)
            self.wfile.write(("event: %s\ndata: %s\n\n" % (kind, json.dumps(payload))).encode())
            self.wfile.flush()
        self.close_connection = True

    do_GET = do_DELETE = do_POST


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--expect-key")
    parser.add_argument("--file", default="AGENT_NOTE.md")
    parser.add_argument("--content", default="written by the agent\n")
    ARGS = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(str(server.server_address[1]))
    os.replace(tmp, ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()

#pragma once

#include "adapters/http/api_dispatcher.hpp"
#include "adapters/http/json_codec.hpp"

namespace aetherium::http::handlers {

// Projects, tasks, audit trail, nodes (handlers_core.cpp).
void create_project(handler_context& c);
void get_project(handler_context& c);
void create_task(handler_context& c);
void get_task(handler_context& c);
void list_tasks(handler_context& c);
void cancel_task(handler_context& c);
void task_events(handler_context& c);
void events_after(handler_context& c);
void list_nodes(handler_context& c);
void drain_node(handler_context& c);
void undrain_node(handler_context& c);
void remove_node(handler_context& c);

// Task logs, plain and as Server-Sent Events (handlers_logs.cpp).
void task_logs(handler_context& c);

// Operations, webhooks, API keys (handlers_ops.cpp).
void healthz(handler_context& c);
void readyz(handler_context& c);
void metrics(handler_context& c);
void github_webhook(handler_context& c);
void create_api_key(handler_context& c);
void list_api_keys(handler_context& c);
void revoke_api_key(handler_context& c);

// Webhook subscriptions (handlers_subscriptions.cpp).
void create_subscription(handler_context& c);
void list_subscriptions(handler_context& c);
void get_subscription(handler_context& c);
void delete_subscription(handler_context& c);
void subscription_dead_letters(handler_context& c);

/// Answers `err` with its status (and Retry-After for quota refusals).
void fail(handler_context& c, const error& err);

} // namespace aetherium::http::handlers

#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "events/api/api_types.hpp"
#include "events/result.hpp"

namespace aetherium::api {

/// Input limits of the API. docs/openapi.yaml states the same numbers and patterns;
/// lengths count Unicode code points, as JSON Schema does.
namespace limits {
inline constexpr std::size_t name_chars = 100;          ///< Project names.
inline constexpr std::size_t repo_chars = 2048;
inline constexpr std::size_t ref_chars = 255;
inline constexpr std::size_t prompt_chars = 64 * 1024;
inline constexpr std::size_t command_chars = 4096;
inline constexpr std::size_t id_chars = 128;
inline constexpr std::size_t idempotency_key_chars = 255;
inline constexpr std::size_t secrets = 32;
inline constexpr std::size_t secret_name_chars = 64;
inline constexpr std::size_t hosts = 64;
inline constexpr std::size_t host_chars = 253;
inline constexpr std::size_t page_size = 500;          ///< Tasks per page.
inline constexpr std::size_t events_page_size = 1000;  ///< Events per page.
inline constexpr std::uint64_t memory_bytes = 64ull << 30;
inline constexpr std::uint32_t pids = 65536;
inline constexpr std::uint32_t cpu_millis = 256000;
inline constexpr std::uint64_t disk_bytes = 1ull << 40;
inline constexpr std::uint32_t max_seconds = 7 * 24 * 3600;
inline constexpr std::uint64_t max_cost_cents = 100'000'000;
inline constexpr std::uint64_t max_log_bytes = 1ull << 30;
inline constexpr std::uint64_t max_changed_bytes = 1ull << 30;
} // namespace limits

/// Number of code points of a UTF-8 string (continuation bytes are not counted).
std::size_t utf8_chars(std::string_view text) noexcept;

/// [A-Za-z0-9][A-Za-z0-9._-]{0,127}: project, task, node and key ids.
bool valid_id(std::string_view id) noexcept;

/// [A-Za-z0-9][A-Za-z0-9._-]{0,99}.
bool valid_project_name(std::string_view name) noexcept;

/// Printable ASCII without spaces, 1..2048 characters.
bool valid_repo(std::string_view repo) noexcept;

/// [A-Za-z0-9._/-]{1,255}.
bool valid_ref(std::string_view ref) noexcept;

/// [A-Za-z0-9_-][A-Za-z0-9._-]{0,63}, as the sandbox runtime takes secret names.
bool valid_secret_name(std::string_view name) noexcept;

/// A host name ("api.example.com") or a domain with its subdomains (".example.com"),
/// letters, digits and '-' between dots, at most 253 characters.
bool valid_host(std::string_view host) noexcept;

/// Printable ASCII without spaces, 1..255 characters.
bool valid_idempotency_key(std::string_view key) noexcept;

/// "" (the server's default), "crun", "runc", "runsc" or "microvm".
bool valid_runtime(std::string_view runtime) noexcept;

/// Whether this server may use repository `repo` for `tenant` (its repository policy: local
/// roots, remote hosts, transports). Errors: invalid_argument or forbidden, field "repo".
/// May touch the file system (to resolve a local path); must not fetch anything.
using repository_check = std::function<result<void>(const std::string& repo, const tenant_id& tenant)>;

/// Checks every field against the limits above. Errors: invalid_argument naming the field.
result<void> validate(const create_project_request& request);

/// The position a task-list cursor stands for: "" is the start (INT64_MAX), otherwise 1 to
/// 18 digits. Errors: invalid_argument (field "cursor") for anything else.
result<std::int64_t> parse_task_cursor(std::string_view cursor);

/// Checks every field against the limits above and the agent type against the known
/// agent templates. Errors: invalid_argument naming the field ("limits.pids", …).
result<void> validate(const create_task_request& request);

} // namespace aetherium::api

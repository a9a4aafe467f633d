#pragma once

#include <string>
#include <vector>

#include "events/result.hpp"
#include "events/sandbox_runtime.hpp"

namespace aetherium::sandbox {

/// What every sandbox adapter checks in a spec before it provisions anything: absolute,
/// existing root filesystem and workspace directories, a non-root user, secret names,
/// allowed hosts, the gateway socket path and the workspace size.
/// Errors: invalid_argument naming the field.
result<void> validate_sandbox_spec(const sandbox_spec& spec);

/// What every adapter checks in an exec request: a non-empty argv without NUL, an
/// absolute cwd, environment names of [A-Za-z_][A-Za-z0-9_]*. Errors: invalid_argument.
result<void> validate_request(const exec_request& request);

/// True for an absolute path naming an existing directory.
bool is_absolute_dir(const std::string& path);

/// `name` if it is an absolute executable path, else its first match in PATH and the usual
/// system directories; empty when there is none.
std::string find_in_path(const std::string& name);

/// One of our helper programs: `configured`, else $`env_name`, else `name` next to the
/// running executable, else in /usr/libexec/aetherium. Empty when none is executable.
std::string find_helper_binary(const std::string& configured, const char* env_name, const std::string& name);

/// A command's environment as KEY=VALUE entries: a minimal PATH and HOME, the proxy
/// variables when `proxy_url` is set, the request's own variables, and, when
/// `gateway_url` is set, AETHERIUM_MODEL_GATEWAY with its host added to both NO_PROXY
/// spellings.
std::vector<std::string> sandbox_environment(const exec_request& request, const std::string& proxy_url,
                                             const std::string& gateway_url);

} // namespace aetherium::sandbox

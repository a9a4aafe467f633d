#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

/// What the host and a sandbox's init (aetherium-sandbox-init --serve-fd) say to each other.
///
/// Control socket (SOCK_SEQPACKET): one message per command, one byte of data and four
/// descriptors (SCM_RIGHTS): stdin, stdout, stderr, session.
/// Session (SOCK_STREAM): the host writes one request, a native-endian u32 length and the
/// encoded command; the init answers with one reply, two native-endian i32 {kind, value}.
/// End of file on the session without a reply means the init died (the sandbox was killed).
namespace aetherium::sandbox::init_protocol {

inline constexpr std::uint32_t max_request_bytes = 16u << 20;
inline constexpr std::int32_t reply_exited = 0;       ///< value: wait status
inline constexpr std::int32_t reply_spawn_failed = 1; ///< value: errno of fork
/// Sent by the forked child itself when execve fails (value: its errno), before it exits
/// 127 (126 for EACCES); the init's reply_exited that follows is not read. A command that
/// exits 127 on its own sends no such reply, so the host can tell the two apart.
inline constexpr std::int32_t reply_exec_failed = 2;

struct command {
  std::string cwd;
  std::vector<std::string> argv;
  std::vector<std::string> env; ///< KEY=VALUE
};

/// u32 argc, u32 envc, then cwd, argv and env as NUL-terminated strings.
inline std::string encode_command(const command& c) {
  std::string out(8, '\0');
  auto argc = static_cast<std::uint32_t>(c.argv.size());
  auto envc = static_cast<std::uint32_t>(c.env.size());
  std::memcpy(&out[0], &argc, 4);
  std::memcpy(&out[4], &envc, 4);
  out.append(c.cwd).push_back('\0');
  for (const auto& a : c.argv) out.append(a).push_back('\0');
  for (const auto& e : c.env) out.append(e).push_back('\0');
  return out;
}

/// False when `body` is not a well-formed command with a non-empty argv.
inline bool decode_command(const std::string& body, command& out) {
  if (body.size() < 8) return false;
  std::uint32_t argc, envc;
  std::memcpy(&argc, body.data(), 4);
  std::memcpy(&envc, body.data() + 4, 4);
  std::size_t at = 8;
  auto next = [&](std::string& s) {
    std::size_t end = body.find('\0', at);
    if (end == std::string::npos) return false;
    s.assign(body, at, end - at);
    at = end + 1;
    return true;
  };
  if (argc == 0 || argc > body.size() || envc > body.size() || !next(out.cwd)) return false;
  out.argv.resize(argc);
  out.env.resize(envc);
  for (auto& a : out.argv)
    if (!next(a)) return false;
  for (auto& e : out.env)
    if (!next(e)) return false;
  return at == body.size() && !out.argv[0].empty();
}

} // namespace aetherium::sandbox::init_protocol

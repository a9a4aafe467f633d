#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

/// What the host and a microVM's guest agent (aetherium-guest-agent, pid 1 of the guest)
/// say to each other over one virtio-serial port.
///
/// Every message is a frame: u32 length (of what follows), u8 type, u32 id, then the body.
/// Integers are little-endian. A body is a sequence of fields: u32/i32/u64 as fixed-size
/// integers, strings as u32 length + bytes. The host speaks first (hello) and the guest
/// answers with its own version; a mismatch ends the session. Every request carries an id
/// chosen by the host; every frame the guest sends about it carries the same id.
/// Frames larger than max_frame_bytes end the session.
namespace aetherium::sandbox::microvm::protocol {

inline constexpr std::uint32_t version = 1;
inline constexpr std::uint32_t max_frame_bytes = 80u << 20;
/// Name of the virtio-serial port (/sys/class/virtio-ports/*/name in the guest).
inline constexpr const char* port_name = "aetherium.agent";

enum class type : std::uint8_t {
  // host -> guest
  hello = 1,        ///< u32 version. Reply: hello {u32 version}.
  setup = 2,        ///< u64 realtime ns, string seed, u32 uid, u32 gid, u64 tmp bytes,
                    ///< u64 memory bytes, u32 pids, u32 secret count, {string name, string value}...,
                    ///< u32 tunnels (bit 0: listen on 127.0.0.1:tunnel_proxy_port, bit 1: on
                    ///< 127.0.0.1:tunnel_gateway_port; each accepted connection is a stream).
                    ///< Mounts the workspace disk and secrets. Reply: ok or error.
  exec = 3,         ///< string cwd, u32 argc, strings, u32 envc, strings ("K=V"), u32 has_stdin.
                    ///< Frames: output..., then exited.
  stdin_data = 4,   ///< string bytes for the exec with this id.
  stdin_close = 5,  ///< Closes that exec's stdin.
  signal = 6,       ///< i32 signal: sent to every process of the sandbox. Reply: ok.
  put_file = 7,     ///< string path, u32 mode, string bytes. Reply: ok or error.
  get_file = 8,     ///< string path, u64 max bytes. Reply: data {string bytes} or error.
  stats = 9,        ///< Reply: stats_reply.
  tree = 10,        ///< Reply: tree_unchanged when nothing was written to the workspace
                    ///< disk since setup or the last tree; else entry... then tree_end
                    ///< {u32 count}; or error.
  // either way, for connections tunnelled from the guest's loopback to the host; ids from
  // 2^31 up, chosen by the guest
  stream_open = 11,  ///< guest -> host: u32 port (tunnel_proxy_port or tunnel_gateway_port).
  stream_data = 12,  ///< string bytes.
  stream_close = 13, ///< No more bytes from the sender (a half close).
  // guest -> host
  ok = 20,
  error = 21,       ///< u32 code (error_code), string detail.
  output = 22,      ///< u32 stream (1 out, 2 err), string bytes.
  exited = 23,      ///< i32 exit code, i32 signal, u32 not_executed, u32 oom_killed.
  data = 24,        ///< string bytes.
  stats_reply = 25, ///< u64 memory bytes, u64 cpu ns, u32 pids, u64 oom kills.
  entry = 26,       ///< u32 kind (entry_kind), string path (relative), u32 mode, string bytes
                    ///< (file contents or link target; empty for directories).
  tree_end = 27,    ///< u32 entries.
  tree_unchanged = 28, ///< The disk holds what the host last got (no bytes written since).
};

inline constexpr std::uint16_t tunnel_proxy_port = 3128;
inline constexpr std::uint16_t tunnel_gateway_port = 3129;
inline constexpr std::uint32_t first_stream_id = 0x80000000u;

enum class error_code : std::uint32_t { invalid_argument = 1, not_found = 2, io = 3, too_large = 4 };
enum class entry_kind : std::uint32_t { directory = 1, file = 2, symlink = 3 };

struct frame {
  type kind = type::ok;
  std::uint32_t id = 0;
  std::string body;
};

/// Appends fields to a body.
class writer {
public:
  writer& u32(std::uint32_t v) { return raw(&v, 4); }
  writer& i32(std::int32_t v) { return raw(&v, 4); }
  writer& u64(std::uint64_t v) { return raw(&v, 8); }
  writer& str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
    return *this;
  }
  std::string take() { return std::move(out_); }

private:
  writer& raw(const void* p, std::size_t n) { // x86-64 and aarch64 hosts are little-endian
    out_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string out_;
};

/// Reads fields of a body; every read fails (and stays failed) past the end.
class reader {
public:
  explicit reader(std::string_view body) : in_(body) {}
  bool u32(std::uint32_t& v) { return raw(&v, 4); }
  bool i32(std::int32_t& v) { return raw(&v, 4); }
  bool u64(std::uint64_t& v) { return raw(&v, 8); }
  bool str(std::string& s) {
    std::uint32_t n = 0;
    if (!u32(n) || n > in_.size() - at_)
      return ok_ = false;
    s.assign(in_.data() + at_, n);
    at_ += n;
    return true;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && at_ == in_.size(); }

private:
  bool raw(void* p, std::size_t n) {
    if (!ok_ || in_.size() - at_ < n)
      return ok_ = false;
    std::memcpy(p, in_.data() + at_, n);
    at_ += n;
    return true;
  }
  std::string_view in_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

/// The frame's bytes on the wire.
inline std::string encode(type kind, std::uint32_t id, std::string_view body) {
  std::string out;
  out.reserve(9 + body.size());
  auto len = static_cast<std::uint32_t>(5 + body.size());
  out.append(reinterpret_cast<const char*>(&len), 4);
  out.push_back(static_cast<char>(kind));
  out.append(reinterpret_cast<const char*>(&id), 4);
  out.append(body.data(), body.size());
  return out;
}

/// Takes one whole frame off the front of `buffer`. Returns 1 with `out` set, 0 when more
/// bytes are needed, -1 when the buffer starts with a malformed or oversized frame.
inline int decode(std::string& buffer, frame& out) {
  if (buffer.size() < 4)
    return 0;
  std::uint32_t len = 0;
  std::memcpy(&len, buffer.data(), 4);
  if (len < 5 || len > max_frame_bytes)
    return -1;
  if (buffer.size() < 4 + static_cast<std::size_t>(len))
    return 0;
  out.kind = static_cast<type>(static_cast<unsigned char>(buffer[4]));
  std::memcpy(&out.id, buffer.data() + 5, 4);
  out.body.assign(buffer, 9, len - 5);
  buffer.erase(0, 4 + static_cast<std::size_t>(len));
  return 1;
}

} // namespace aetherium::sandbox::microvm::protocol

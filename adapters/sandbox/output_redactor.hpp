#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "events/sandbox_runtime.hpp"

namespace aetherium::sandbox {

/// Replaces secret values in a stream of output chunks with "[REDACTED]", also when a
/// value is split across chunks. Holds back only a tail that is the start of some secret
/// (at most longest secret - 1 bytes per stream) until more output or flush() decides it.
/// Not thread-safe: one instance per exec.
class output_redactor {
public:
  static constexpr std::string_view marker = "[REDACTED]";

  /// `secrets`: the values to hide; empty values are ignored.
  output_redactor(std::vector<std::string> secrets, output_callback sink);

  /// Feeds one chunk; forwards whatever is known to be safe.
  void write(output_stream which, std::string_view chunk);
  /// Forwards everything still held back (call once output has ended).
  void flush();

private:
  void emit(output_stream which, bool final);

  std::vector<std::string> secrets_; ///< Longest first, so overlapping values hide fully.
  std::size_t longest_ = 0;
  output_callback sink_;
  std::string pending_[2];
};

} // namespace aetherium::sandbox

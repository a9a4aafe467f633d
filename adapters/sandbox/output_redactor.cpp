#include "adapters/sandbox/output_redactor.hpp"

#include <algorithm>

namespace aetherium::sandbox {

output_redactor::output_redactor(std::vector<std::string> secrets, output_callback sink)
    : sink_(std::move(sink)) {
  for (auto& s : secrets)
    if (!s.empty()) secrets_.push_back(std::move(s));
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  secrets_.erase(std::unique(secrets_.begin(), secrets_.end()), secrets_.end());
  longest_ = secrets_.empty() ? 0 : secrets_.front().size();
}

void output_redactor::write(output_stream which, std::string_view chunk) {
  if (!sink_) return;
  if (secrets_.empty()) {
    if (!chunk.empty()) sink_(which, chunk);
    return;
  }
  pending_[static_cast<int>(which)].append(chunk);
  emit(which, false);
}

void output_redactor::flush() {
  if (!sink_ || secrets_.empty()) return;
  emit(output_stream::out, true);
  emit(output_stream::err, true);
}

void output_redactor::emit(output_stream which, bool final) {
  std::string& buf = pending_[static_cast<int>(which)];
  // Hold back from the first position whose tail could still grow into a secret; any
  // secret starting before it is then either fully visible or absent.
  std::size_t safe = buf.size();
  if (!final) {
    std::size_t from = buf.size() >= longest_ ? buf.size() - longest_ + 1 : 0;
    for (std::size_t i = from; i < buf.size() && safe == buf.size(); ++i) {
      std::string_view tail(buf.data() + i, buf.size() - i);
      for (const auto& s : secrets_)
        if (s.size() > tail.size() && s.compare(0, tail.size(), tail) == 0) safe = i;
    }
  }
  std::string out;
  std::size_t i = 0;
  while (i < safe) {
    auto hit = std::find_if(secrets_.begin(), secrets_.end(), [&](const std::string& s) {
      return buf.compare(i, s.size(), s) == 0;
    });
    if (hit != secrets_.end()) {
      out.append(marker);
      i += hit->size();
    } else {
      out.push_back(buf[i++]);
    }
  }
  buf.erase(0, std::min(i, buf.size()));
  if (!out.empty()) sink_(which, out);
}

} // namespace aetherium::sandbox

#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "events/api/api_types.hpp"

namespace aetherium::http {

/// Task views rendered as JSON, reused while the task is unchanged. GET /v1/tasks/{id} is
/// the most frequent request, and a view changes only when its task's stream does, which
/// moves its version (and update time and status, also compared). Bounded: emptied when
/// it holds `capacity` views. Thread-safe.
class task_json_cache {
public:
  explicit task_json_cache(std::size_t capacity = 4096) : capacity_(capacity) {}

  /// The JSON text of `t`, rendered now or earlier for the same version.
  std::shared_ptr<const std::string> text(const api::task_view& t);

private:
  struct entry {
    std::int64_t version;
    std::int64_t updated_at_us;
    api::task_status status;
    std::shared_ptr<const std::string> text;
  };
  std::size_t capacity_;
  std::mutex mtx_;
  std::unordered_map<std::string, entry> entries_;
};

} // namespace aetherium::http

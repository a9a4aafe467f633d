#include "events/event_store.hpp"

#include <future>

namespace aetherium {

std::string stream_category(const stream_id& stream) {
  auto& s = stream.str();
  return s.substr(0, s.find('-'));
}

result<append_result> event_store::append(append_request request) {
  std::promise<result<append_result>> promise;
  auto future = promise.get_future();
  append_async(std::move(request),
               [&promise](result<append_result> res) { promise.set_value(std::move(res)); });
  return future.get();
}

} // namespace aetherium

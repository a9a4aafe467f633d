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

result<std::vector<recorded_event>> event_store::read_category(const std::string& category,
                                                              std::int64_t after_position, std::size_t max_count) {
  if (category.empty())
    return make_error(errc::invalid_argument, "no category", "category");
  std::vector<recorded_event> out;
  while (out.size() < max_count) {
    auto page = read_all(after_position, 1000);
    if (!page)
      return page.err();
    for (auto& e : *page)
      if (out.size() < max_count && stream_category(e.stream) == category)
        out.push_back(std::move(e));
    if (page->size() < 1000)
      break;
    after_position = page->back().position;
  }
  return out;
}

result<std::unique_ptr<subscription>> follow_category(event_store& store, const std::string& category,
                                                      event_store::event_handler handler) {
  auto head = store.head_position();
  if (!head)
    return head.err();
  for (std::int64_t at = 0;;) {
    auto page = store.read_category(category, at, 1000);
    if (!page)
      return page.err();
    for (auto& e : *page) {
      if (e.position > *head)
        break; // the subscription delivers it
      handler(e);
      at = e.position;
    }
    if (page->size() < 1000 || at >= *head)
      break;
  }
  return store.subscribe(*head, [category, handler = std::move(handler)](const recorded_event& e) {
    if (stream_category(e.stream) == category)
      handler(e);
  });
}

} // namespace aetherium

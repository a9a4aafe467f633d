// Tenant streams of the log, read and written as `aetherium admin` does.
#include "runtime/tenant_commands.hpp"

#include "adapters/json/json_domain_codec.hpp"
#include "runtime/client_commands.hpp"

namespace aetherium::runtime {

using scheduling::tenant;

result<scheduling::quota> parse_quota(const std::string& text, bool bytes) {
  if (text == "default")
    return scheduling::quota{};
  if (text == "unlimited")
    return scheduling::quota{0};
  bool digits = !text.empty() && text.size() <= 19 && text.find_first_not_of("0123456789") == std::string::npos;
  if (digits)
    return scheduling::quota{std::stoull(text)};
  if (bytes) {
    auto size = parse_size(text);
    if (size)
      return scheduling::quota{*size};
  }
  return make_error(errc::invalid_argument, "'" + text + "' is not " + (bytes ? "a size (512m, 2g, ...)" : "a number")
                                              + ", 'unlimited' or 'default'");
}

result<tenant_record> load_tenant(event_store& store, const tenant_id& id) {
  auto events = store.read_stream(tenant::stream_of(id.str()));
  if (!events)
    return events.err();
  auto codec = make_json_tenant_codec();
  tenant_record out;
  for (auto& e : *events) {
    auto decoded = codec->decode(e);
    if (!decoded)
      return decoded.err();
    out.state = tenant::evolve(std::move(out.state), *decoded);
    out.version = e.stream_version;
  }
  return out;
}

result<tenant_record> write_tenant(event_store& store, id_generator& ids, const tenant_id& id,
                                   const scheduling::tenant_command& command, const std::string& writer) {
  auto current = load_tenant(store, id);
  if (!current)
    return current.err();
  auto decided = tenant::decide(current->state, command);
  if (!decided)
    return decided.err();
  auto codec = make_json_tenant_codec();
  event_metadata md;
  md.tenant = id.str();
  md.principal = writer;
  append_request req{tenant::stream_of(id.str()), expected_version::exactly(current->version), {}};
  for (auto& e : *decided)
    req.events.push_back(codec->encode(e, ids.next_uuid(), md));
  if (req.events.empty())
    return current;
  auto appended = store.append(std::move(req));
  if (!appended)
    return appended.err();
  for (auto& e : *decided)
    current->state = tenant::evolve(std::move(current->state), e);
  current->version = appended->stream_version;
  return current;
}

result<tenant_record> ensure_tenant(event_store& store, id_generator& ids, clock& time, const tenant_id& id,
                                    const std::string& writer) {
  auto current = load_tenant(store, id);
  if (!current || current->state.exists)
    return current;
  auto made = write_tenant(store, ids, id, scheduling::create_tenant{id, id.str(), {}, time.now_us()}, writer);
  if (!made && made.err().code == errc::conflict)
    return load_tenant(store, id); // created by someone else meanwhile
  return made;
}

} // namespace aetherium::runtime

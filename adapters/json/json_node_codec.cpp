// The JSON codecs of node and join token events (declared in json_domain_codec.hpp).
#include "adapters/json/json_domain_codec.hpp"
#include "events/overloaded.hpp"

#include <nlohmann/json.hpp>

#include "adapters/json/stored_events.hpp"

namespace aetherium {

using nlohmann::json;
using namespace scheduling;
using namespace json_fields;

namespace {

std::int64_t at(const json& j) { return j.at("at_us").get<std::int64_t>(); }

json registration_json(const node_registration& r) {
  return {{"id", r.id.str()},
          {"capacity",
           {{"cpu_millis", r.capacity.cpu_millis}, {"memory_bytes", r.capacity.memory_bytes},
            {"sandbox_slots", r.capacity.sandbox_slots}}},
          {"runtimes", r.runtimes},
          {"address", r.address},
          {"credential_sha256", r.credential_sha256}};
}

node_registration registration_of(const json& j) {
  node_registration r;
  r.id = node_id{j.at("id").get<std::string>()};
  auto& c = j.at("capacity");
  r.capacity = {c.at("cpu_millis").get<std::uint32_t>(), c.at("memory_bytes").get<std::uint64_t>(),
                c.at("sandbox_slots").get<std::uint32_t>()};
  r.runtimes = j.at("runtimes").get<std::vector<std::string>>();
  r.address = j.at("address").get<std::string>();
  r.credential_sha256 = j.at("credential_sha256").get<std::string>();
  return r;
}

json node_payload(const node_event& e) {
  return std::visit(
    overloaded{
      [](const node_registered& x) -> json { return {{"node", registration_json(x.node)}, {"at_us", x.at_us}}; },
      [](const node_marked_down& x) -> json { return {{"reason", x.reason}, {"at_us", x.at_us}}; },
      [](const node_removed& x) -> json { return {{"reason", x.reason}, {"at_us", x.at_us}}; },
      [](const node_drained& x) -> json { return {{"held", x.held}, {"at_us", x.at_us}}; },
      [](const node_join_refused& x) -> json {
        return {{"reason", x.reason}, {"address", x.address}, {"at_us", x.at_us}};
      },
      [](const auto& x) -> json { return {{"at_us", x.at_us}}; },
    },
    e);
}

result<node_event> node_event_of(const std::string& type, const json& j) {
  if (type == node_registered::type_name)
    return node_event{node_registered{registration_of(j.at("node")), at(j)}};
  if (type == node_heartbeat_received::type_name)
    return node_event{node_heartbeat_received{at(j)}};
  if (type == node_marked_down::type_name)
    return node_event{node_marked_down{j.at("reason").get<std::string>(), at(j)}};
  if (type == node_drained::type_name)
    return node_event{node_drained{at(j), j.at("held").get<bool>()}};
  if (type == node_removed::type_name)
    return node_event{node_removed{j.at("reason").get<std::string>(), at(j)}};
  if (type == node_undrained::type_name)
    return node_event{node_undrained{at(j)}};
  if (type == node_join_refused::type_name)
    return node_event{node_join_refused{j.at("reason").get<std::string>(), j.at("address").get<std::string>(), at(j)}};
  return make_error(errc::corrupt, "unknown event type " + type);
}

class json_node_codec : public domain::node_codec {
public:
  new_event encode(const node_event& e, const std::string& id, const event_metadata& md) const override {
    auto version = std::visit([](const auto& x) { return std::decay_t<decltype(x)>::schema_version; }, e);
    return stored(type_name(e), version, node_payload(e), id, md, json::error_handler_t::replace);
  }
  result<node_event> decode(const recorded_event& r) const override {
    return decode_with<node_event>(r, node_schema_version(r.type), node_event_of);
  }
};

class json_node_token_codec : public domain::node_token_codec {
public:
  new_event encode(const node_token_event& e, const std::string& id, const event_metadata& md) const override {
    if (auto* x = std::get_if<node_token_issued>(&e)) {
      json p = {{"token_id", x->token_id.str()}, {"secret_sha256", x->secret_sha256}, {"note", x->note},
                {"expires_at_us", x->expires_at_us}, {"at_us", x->at_us}};
      return stored(node_token_issued::type_name, node_token_issued::schema_version, p, id, md,
                    json::error_handler_t::replace);
    }
    json p = {{"at_us", std::get<node_token_revoked>(e).at_us}};
    return stored(node_token_revoked::type_name, node_token_revoked::schema_version, p, id, md);
  }
  result<node_token_event> decode(const recorded_event& r) const override {
    return decode_with<node_token_event>(
      r, node_token_schema_version(r.type), [](const std::string& type, const json& j) -> result<node_token_event> {
        if (type == node_token_issued::type_name)
          return node_token_event{node_token_issued{node_token_id{j.at("token_id").get<std::string>()},
                                                    j.at("secret_sha256").get<std::string>(),
                                                    j.at("note").get<std::string>(),
                                                    j.at("expires_at_us").get<std::int64_t>(), at(j)}};
        return node_token_event{node_token_revoked{at(j)}};
      });
  }
};

} // namespace

std::shared_ptr<const domain::node_codec> make_json_node_codec() {
  return std::make_shared<json_node_codec>();
}

std::shared_ptr<const domain::node_token_codec> make_json_node_token_codec() {
  return std::make_shared<json_node_token_codec>();
}

} // namespace aetherium

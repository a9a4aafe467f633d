#include "adapters/json/event_log_node_registry.hpp"

#include <openssl/rand.h>

#include <array>
#include <utility>

#include "adapters/json/json_domain_codec.hpp"
#include "adapters/json/node_registry_index.hpp"
#include "events/api/validation.hpp"
#include "events/sha256.hpp"

namespace aetherium {

namespace {

using namespace scheduling;

constexpr const char* node_category = "node";
constexpr const char* token_category = "nodetoken";
/// Appends tried per command before a stream that keeps changing is reported as conflict.
constexpr int max_append_attempts = 5;
/// Fresh ids tried per issued token (a taken id is a 64-bit coincidence).
constexpr int max_issue_attempts = 3;
constexpr std::size_t catch_up_page = 1000;
constexpr std::int64_t max_ttl_seconds = 100LL * 366 * 24 * 3600;

/// A stream folded up to its last event.
template <class Aggregate>
struct loaded {
  typename Aggregate::state state;
  std::int64_t version = 0;
  std::int64_t last_at_us = 0;
  std::int64_t first_position = 0; ///< Of the events this instance appended last; 0 if none.
};

template <class Aggregate>
result<loaded<Aggregate>> load(event_store& store, const stream_id& stream,
                               const domain::event_codec<typename Aggregate::event>& codec) {
  auto rows = store.read_stream(stream);
  if (!rows)
    return rows.err();
  loaded<Aggregate> out;
  for (auto& r : *rows) {
    auto e = codec.decode(r);
    if (!e)
      return e.err();
    out.state = Aggregate::evolve(std::move(out.state), *e);
    out.version = r.stream_version;
    out.last_at_us = at_of(*e);
  }
  return out;
}

error refuse(std::string why) { return make_error(errc::unauthorized, std::move(why)); }

class event_log_node_registry final : public node_registry {
public:
  event_log_node_registry(std::shared_ptr<event_store> store, std::shared_ptr<clock> clock,
                          std::shared_ptr<id_generator> ids, std::string principal)
    : store_(std::move(store)), clock_(std::move(clock)), ids_(std::move(ids)), principal_(std::move(principal)) {}

  ~event_log_node_registry() override {
    if (feed_)
      feed_->stop();
  }

  /// Folds both categories up to the log's head, then follows the log from there.
  void start() {
    std::int64_t at = 0;
    if (auto head = store_->head_position()) {
      for (const char* category : {node_category, token_category})
        for (std::int64_t after = 0; after < *head;) {
          auto page = store_->read_category(category, after, catch_up_page);
          if (!page || page->empty())
            break;
          for (auto& e : *page)
            if (e.position <= *head)
              apply(e);
          after = page->back().position;
        }
      at = *head;
    }
    feed_ = store_->subscribe(at, [this](const recorded_event& e) { apply(e); });
  }

  // node_registry

  result<issued_node_token> issue_token(std::string note, std::int64_t ttl_seconds) override {
    if (ttl_seconds < 0 || ttl_seconds > max_ttl_seconds)
      return make_error(errc::invalid_argument, "the ttl is 0 (never expires) to 100 years in seconds", "ttl");
    for (int attempt = 0;; ++attempt) {
      std::array<unsigned char, 40> random{};
      if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
        return make_error(errc::unavailable, "no randomness for a new node token");
      auto token = make_node_token(random);
      auto now = clock_->now_us();
      issue_node_token cmd{token.id, sha256_hex(token.secret), note, ttl_seconds ? now + ttl_seconds * 1'000'000 : 0,
                           now};
      auto done = decide_and_append<node_token>(node_token::stream_of(token.id.str()), cmd, *token_codec_);
      if (!done && done.err().code == errc::conflict && attempt + 1 < max_issue_attempts)
        continue;
      if (!done)
        return done.err();
      index_.put_token(done->state, done->version, done->first_position);
      return issued_node_token{token.id.str(), node_token_text(token)};
    }
  }

  result<void> revoke_token(const std::string& token_id) override {
    if (!valid_node_token_id(token_id))
      return make_error(errc::not_found, "no node token " + token_id);
    auto done = decide_and_append<node_token>(node_token::stream_of(token_id), revoke_node_token{clock_->now_us()},
                                              *token_codec_);
    if (!done)
      return done.err();
    index_.put_token(done->state, done->version, done->first_position);
    return {};
  }

  result<std::vector<std::pair<std::string, bool>>> list_tokens() override {
    std::vector<std::pair<std::string, bool>> out;
    for (auto& t : index_.tokens())
      out.emplace_back(t.id.str(), t.revoked);
    return out;
  }

  result<std::vector<node_token_state>> token_states() override { return index_.tokens(); }

  result<std::string> check_token(const std::string& text) override {
    auto parts = parse_node_token(text);
    if (!parts)
      return refuse("malformed node token: " + parts.err().detail);
    auto token = load<node_token>(*store_, node_token::stream_of(parts->id.str()), *token_codec_);
    if (!token)
      return token.err();
    if (auto ok = verify_node_token(token->state, parts->secret, clock_->now_us()); !ok)
      return ok.err();
    return parts->id.str();
  }

  result<void> check_credential(const node_id& id, const std::string& credential) override {
    if (!api::valid_id(id.str()))
      return refuse("not a valid node name");
    auto n = load<node>(*store_, node::stream_of(id.str()), *node_codec_);
    if (!n)
      return n.err();
    auto& s = n->state;
    if (!s.exists)
      return refuse("node " + id.str() + " never registered");
    if (s.status == node_status::removed)
      return refuse("node " + id.str() + " is removed");
    if (s.node.credential_sha256.empty())
      return refuse("node " + id.str() + " registered without a credential");
    if (!constant_time_equal(sha256_hex(credential), s.node.credential_sha256))
      return refuse("node " + id.str() + ": wrong credential");
    return {};
  }

  result<node_state> record(const node_id& id, const node_command& cmd) override {
    if (!api::valid_id(id.str()))
      return make_error(errc::invalid_argument, "a node name must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}", "node");
    if (auto* reg = std::get_if<register_node>(&cmd); reg && reg->node.id != id)
      return make_error(errc::invalid_argument, "the registration names node " + reg->node.id.str(), "id");
    auto done = decide_and_append<node>(node::stream_of(id.str()), cmd, *node_codec_);
    if (!done)
      return done.err();
    index_.put_node(id, done->state, done->version, done->last_at_us);
    return std::move(done->state);
  }

  std::vector<node_record> list() override { return index_.nodes(); }

private:
  /// Loads `stream`, decides `cmd` and appends the events with the version it read; on a
  /// version conflict reads and decides again. Returns the stream after the command.
  template <class Aggregate>
  result<loaded<Aggregate>> decide_and_append(const stream_id& stream, const typename Aggregate::command& cmd,
                                              const domain::event_codec<typename Aggregate::event>& codec) {
    for (int attempt = 0; attempt < max_append_attempts; ++attempt) {
      auto now = load<Aggregate>(*store_, stream, codec);
      if (!now)
        return now.err();
      auto events = Aggregate::decide(now->state, cmd);
      if (!events)
        return events.err();
      if (events->empty())
        return now;
      event_metadata md;
      md.principal = principal_;
      std::vector<new_event> batch;
      for (auto& e : *events)
        batch.push_back(codec.encode(e, ids_->next_uuid(), md));
      auto appended = store_->append({stream, expected_version::exactly(now->version), std::move(batch)});
      if (!appended && appended.err().code == errc::conflict)
        continue; // another writer came first: decide again on what it wrote
      if (!appended)
        return appended.err();
      for (auto& e : *events) {
        now->state = Aggregate::evolve(std::move(now->state), e);
        now->last_at_us = at_of(e);
      }
      now->version = appended->stream_version;
      now->first_position = appended->first_position;
      return now;
    }
    return make_error(errc::conflict, stream.str() + " kept changing while this command was decided; retry");
  }

  /// Folds one event of the log into the index; events of other categories and ones the
  /// codecs cannot read change nothing.
  void apply(const recorded_event& e) {
    auto& stream = e.stream.str();
    auto dash = stream.find('-');
    if (dash == std::string::npos)
      return;
    auto category = stream.substr(0, dash);
    auto id = stream.substr(dash + 1);
    if (category == node_category) {
      if (auto decoded = node_codec_->decode(e))
        index_.apply_node(node_id{id}, e.stream_version, *decoded);
    } else if (category == token_category) {
      if (auto decoded = token_codec_->decode(e))
        index_.apply_token(node_token_id{id}, e.stream_version, e.position, *decoded);
    }
  }

  std::shared_ptr<event_store> store_;
  std::shared_ptr<clock> clock_;
  std::shared_ptr<id_generator> ids_;
  std::string principal_;
  std::shared_ptr<const domain::node_codec> node_codec_ = make_json_node_codec();
  std::shared_ptr<const domain::node_token_codec> token_codec_ = make_json_node_token_codec();
  node_registry_index index_;
  std::unique_ptr<subscription> feed_; ///< Last: stopped before the index goes away.
};

} // namespace

std::shared_ptr<node_registry> make_event_log_node_registry(std::shared_ptr<event_store> store,
                                                            std::shared_ptr<clock> clock,
                                                            std::shared_ptr<id_generator> ids, std::string principal) {
  auto registry = std::make_shared<event_log_node_registry>(std::move(store), std::move(clock), std::move(ids),
                                                            std::move(principal));
  registry->start();
  return registry;
}

} // namespace aetherium
